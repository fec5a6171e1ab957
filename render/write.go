package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
)

// Write renders the notebook into outDir: index.html, index.md (so the folder
// is also a Hugo page bundle) and a copy of every asset the prose links, at
// the same relative path. It refuses, with Check's positioned errors, to
// write a page whose assets are missing. Each file is written to a temporary
// name and renamed, so a reader never sees half a page; a file whose content
// is unchanged is left untouched, so incremental site builds see no change.
func Write(outDir string, nb *notebook.Notebook, opt Options) error {
	_, err := WritePage(outDir, nb, opt)
	return err
}

// Written lists what WritePage put in its folder besides the two pages.
type Written struct {
	Assets []string // files the prose links, slash paths relative to the folder, sorted
	Plots  []string // plot files, in cell order
}

// WritePage is Write, also saying which files it wrote, so a site builder
// need not list the folder afterwards.
func WritePage(outDir string, nb *notebook.Notebook, opt Options) (Written, error) {
	var w Written
	assets, errs := collectAssets(nb)
	if err := errs.Err(); err != nil {
		return w, err
	}
	for _, a := range assets {
		w.Assets = append(w.Assets, a.Rel)
	}
	rep := newReport(nb, opt)
	rep.drawAll()
	var md, page bytes.Buffer
	if err := writeMarkdown(&md, rep); err != nil {
		return w, err
	}
	if err := writeHTML(&page, rep); err != nil {
		return w, err
	}
	// Into a folder that does not exist yet, every file is new: no old
	// version to compare with or to replace atomically.
	_, statErr := os.Stat(outDir)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return w, fmt.Errorf("render %s: %w", nb.Path, err)
	}
	// Assets first, the page last: a page never links a file not yet there.
	for _, a := range assets {
		if err := copyFile(a.Src, filepath.Join(outDir, filepath.FromSlash(a.Rel))); err != nil {
			return w, fmt.Errorf("render %s: asset %s: %w", nb.Path, a.Rel, err)
		}
	}
	type file struct {
		name string
		data []byte
	}
	// Plots before the pages that show them; in cell order, so two renders
	// write the same files in the same order.
	var files []file
	for _, c := range nb.Cells {
		if f := rep.plots[c.Index]; f != nil && f.Err == "" {
			files = append(files, file{f.SVGFile(), f.SVG}, file{f.PNGFile(), f.PNG})
			w.Plots = append(w.Plots, f.SVGFile(), f.PNGFile())
		}
	}
	files = append(files, file{MarkdownFile, md.Bytes()}, file{HTMLFile, page.Bytes()})
	for _, f := range files {
		path := filepath.Join(outDir, f.name)
		if fresh {
			if done, err := atomicfile.CreateNew(path, f.data); done {
				if err != nil {
					return w, fmt.Errorf("render %s: %w", nb.Path, err)
				}
				continue
			}
		}
		if _, err := atomicfile.WriteIfChanged(path, f.data); err != nil {
			return w, fmt.Errorf("render %s: %w", nb.Path, err)
		}
	}
	return w, nil
}

// copyFile copies src to dst through a temporary file and a rename. Rendering
// into the notebook's own folder makes them the same file: nothing to do.
func copyFile(src, dst string) error {
	if si, err := os.Stat(src); err == nil {
		if di, err := os.Stat(dst); err == nil && os.SameFile(si, di) {
			return nil
		}
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFrom(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

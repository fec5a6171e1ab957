package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
)

// Write renders the notebook into outDir: index.html, index.md (so the folder
// is also a Hugo page bundle) and a copy of every asset the prose links, at
// the same relative path. It refuses, with Check's positioned errors, to
// write a page whose assets are missing. Each file is written to a temporary
// name and renamed, so a reader never sees half a page; a file whose content
// is unchanged is left untouched, so incremental site builds see no change.
//
// outDir may hold other files: Write records what it wrote there in
// RenderManifest, replaces only files it recorded (unless
// opt.ForceOverwrite), and removes the files of its last render that this
// one no longer writes (a plot or an asset gone). A file it did not write
// where the page would put one is an *OverwriteError, and nothing is
// written. Output folders that CheckOutDir refuses are refused.
func Write(outDir string, nb *notebook.Notebook, opt Options) error {
	if err := CheckOutDir(outDir, filepath.Dir(nb.Path)); err != nil {
		return err
	}
	p, err := preparePage(nb, opt)
	if err != nil {
		return err
	}
	if slices.Contains(p.written.Assets, RenderManifest) {
		return fmt.Errorf("render %s: the prose links a file named %s, which is render's record of what it wrote: rename the file", nb.Path, RenderManifest)
	}
	names := p.names()
	old := readWritten(outDir)
	if !opt.ForceOverwrite {
		if err := p.checkOverwrite(outDir, old); err != nil {
			return err
		}
	}
	// Recorded before the files are written: a render cut short leaves
	// only files the next one knows as its own.
	all := slices.Concat(old, names)
	slices.Sort(all)
	if err := saveWritten(outDir, slices.Compact(all)); err != nil {
		return fmt.Errorf("render %s: %w", nb.Path, err)
	}
	if err := p.write(outDir, nb.Path); err != nil {
		return err
	}
	for _, name := range old {
		if !slices.Contains(names, name) {
			if err := os.Remove(filepath.Join(outDir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("render %s: remove %s of the last render: %w", nb.Path, name, err)
			}
		}
	}
	if err := saveWritten(outDir, names); err != nil {
		return fmt.Errorf("render %s: %w", nb.Path, err)
	}
	return nil
}

// Written lists what WritePage put in its folder besides the two pages.
type Written struct {
	Assets []string // files the prose links, slash paths relative to the folder, sorted
	Plots  []string // plot files, in cell order
	Data   []string // the CSV of each table and plot, then the results JSON they link, in cell order
	// Stale lists the bench cells whose results the page shows as not
	// current, in cell order: "id: stale (inputs)", "id: never run",
	// "id: failed", "id: environment differs from ..." (see staleness).
	Stale []string
}

// WritePage is Write into a folder the caller owns (a site builder's fresh
// page folder): it checks no folder and keeps no record, and says which
// files it wrote, so the caller need not list the folder afterwards.
func WritePage(outDir string, nb *notebook.Notebook, opt Options) (Written, error) {
	p, err := preparePage(nb, opt)
	if err != nil {
		return Written{}, err
	}
	return p.written, p.write(outDir, nb.Path)
}

// page is a rendered page before it is written: its assets, then its plots
// and the two pages, in the order they are written.
type page struct {
	assets  []asset
	files   []pageFile
	written Written
}

type pageFile struct {
	name string
	data []byte
}

func preparePage(nb *notebook.Notebook, opt Options) (*page, error) {
	assets, errs := collectAssets(nb)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	p := &page{assets: assets}
	for _, a := range assets {
		p.written.Assets = append(p.written.Assets, a.Rel)
	}
	rep := newReport(nb, opt)
	p.written.Stale = rep.staleness()
	rep.drawAll()
	var md, html bytes.Buffer
	if err := writeMarkdown(&md, rep); err != nil {
		return nil, err
	}
	if err := writeHTML(&html, rep); err != nil {
		return nil, err
	}
	// Data and plots before the pages that show them; in cell order, so
	// two renders write the same files in the same order.
	data, err := rep.dataFiles()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", nb.Path, err)
	}
	for _, f := range data {
		p.files = append(p.files, pageFile{f.Name, f.Data})
		p.written.Data = append(p.written.Data, f.Name)
	}
	for _, c := range nb.Cells {
		if f := rep.plots[c.Index]; f != nil && f.Err == "" {
			p.files = append(p.files, pageFile{f.SVGFile(), f.SVG}, pageFile{f.PNGFile(), f.PNG})
			p.written.Plots = append(p.written.Plots, f.SVGFile(), f.PNGFile())
		}
	}
	p.files = append(p.files, pageFile{MarkdownFile, md.Bytes()}, pageFile{HTMLFile, html.Bytes()})
	return p, nil
}

// names lists the files the page writes, slash paths, sorted.
func (p *page) names() []string {
	names := slices.Concat(p.written.Assets, p.written.Plots, p.written.Data, []string{MarkdownFile, HTMLFile})
	slices.Sort(names)
	return slices.Compact(names)
}

func (p *page) write(outDir, nbPath string) error {
	// Into a folder that does not exist yet, every file is new: no old
	// version to compare with or to replace atomically.
	_, statErr := os.Stat(outDir)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("render %s: %w", nbPath, err)
	}
	// Assets first, the page last: a page never links a file not yet there.
	for _, a := range p.assets {
		if err := copyFile(a.Src, filepath.Join(outDir, filepath.FromSlash(a.Rel))); err != nil {
			return fmt.Errorf("render %s: asset %s: %w", nbPath, a.Rel, err)
		}
	}
	for _, f := range p.files {
		path := filepath.Join(outDir, f.name)
		if fresh {
			if done, err := atomicfile.CreateNew(path, f.data); done {
				if err != nil {
					return fmt.Errorf("render %s: %w", nbPath, err)
				}
				continue
			}
		}
		if _, err := atomicfile.WriteIfChanged(path, f.data); err != nil {
			return fmt.Errorf("render %s: %w", nbPath, err)
		}
	}
	return nil
}

// checkOverwrite refuses to write over a file that the last render into
// outDir (old) did not write. An asset that is its own source (rendering
// into the notebook's folder) is no loss.
func (p *page) checkOverwrite(outDir string, old []string) error {
	src := map[string]string{}
	for _, a := range p.assets {
		src[a.Rel] = a.Src
	}
	var foreign []string
	for _, name := range p.names() {
		if slices.Contains(old, name) {
			continue
		}
		dst := filepath.Join(outDir, filepath.FromSlash(name))
		di, err := os.Lstat(dst)
		if err != nil {
			continue
		}
		if s, ok := src[name]; ok {
			if si, err := os.Stat(s); err == nil && os.SameFile(si, di) {
				continue
			}
		}
		foreign = append(foreign, dst)
	}
	if len(foreign) > 0 {
		return &OverwriteError{Paths: foreign}
	}
	return nil
}

// RenderManifest is where Write records, in its output folder, the files it
// wrote there: one slash path a line.
const RenderManifest = ".benchbook-render"

// readWritten returns what the last Write into outDir recorded, leaving out
// any line that names a path outside the folder: the record is a file
// anyone could have edited.
func readWritten(outDir string) []string {
	data, err := os.ReadFile(filepath.Join(outDir, RenderManifest))
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && filepath.IsLocal(filepath.FromSlash(line)) && line != RenderManifest {
			names = append(names, line)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func saveWritten(outDir string, names []string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# written by benchbook render; it replaces or removes only these files\n")
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	_, err := atomicfile.WriteIfChanged(filepath.Join(outDir, RenderManifest), []byte(b.String()))
	return err
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

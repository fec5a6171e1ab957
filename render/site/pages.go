package site

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
	"sync"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
	"github.com/benchbook/benchbook/results"
)

// pageFile is the file that must be there for a page to count as built,
// slash-separated and relative to the output folder.
func (b *builder) pageFile(p Page) string {
	switch b.opt.Format {
	case Hugo:
		return p.Slug + "/" + render.MarkdownFile
	case Jekyll:
		return jekyllPost(p)
	}
	return p.Slug + "/" + render.HTMLFile
}

func (b *builder) pageExists(p Page) bool {
	return fileExists(filepath.Join(b.opt.Out, filepath.FromSlash(b.pageFile(p))))
}

// jekyllPost is where Jekyll wants a post: a draft (exported only with
// Options.Drafts) in _drafts, which `jekyll build --drafts` shows, as
// Jekyll ignores a draft flag in front matter.
func jekyllPost(p Page) string {
	if p.Draft {
		return "_drafts/" + p.Slug + ".md"
	}
	return "_posts/" + p.Date.Format("2006-01-02") + "-" + p.Slug + ".md"
}

// reservedSlug reports slugs whose folder the site itself uses.
func reservedSlug(f Format, slug string) bool {
	return f == HTML && slug == tagsDir
}

// renderPage renders one notebook. A page seen before is rendered into a
// fresh folder that then replaces the old one, so the page's folder holds
// exactly what this render made (no file of an older version lingers) and a
// reader never sees half a page. A new page is rendered in place: there is
// nothing to replace, and a cold build of a thousand pages saves as many
// renames.
func (b *builder) renderPage(j *job) {
	if j.nb == nil {
		j.parse()
		if j.err != nil {
			return
		}
	}
	nb, out := j.nb, b.opt.Out
	dir := filepath.Join(out, nb.Slug)
	inPlace := b.opt.Format != Jekyll
	if _, err := os.Lstat(dir); err == nil || !errors.Is(err, fs.ErrNotExist) {
		inPlace = false
	}
	if !inPlace {
		tmp, err := os.MkdirTemp(out, ".render-"+nb.Slug+"-")
		if err != nil {
			j.err = fmt.Errorf("render %s: %w", j.path, err)
			return
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	ropt := b.opt.Render(nb)
	// The page and its history page both read the cells' histories: read
	// each once.
	ropt.Results = memoHistory(ropt.Results, j.inputs)
	if b.opt.Format == HTML {
		ropt.HistoryPage = render.HistoryFile // writeHistory writes it when a cell has two runs
	}
	ropt.Jekyll = b.opt.Format == Jekyll // Liquid, not Hugo's shortcodes, is what its Markdown must not run
	written, err := render.WritePage(dir, nb, ropt)
	if err != nil {
		if inPlace {
			_ = os.RemoveAll(dir)
		}
		j.err = err
		return
	}
	history, hist, err := b.writeHistory(dir, nb, ropt)
	if err != nil {
		if inPlace {
			_ = os.RemoveAll(dir)
		}
		j.err = err
		return
	}
	j.page.History, j.page.Regressions = hist != nil, nil
	if hist != nil {
		j.page.Regressions = hist.Regressions
	}
	assets := written.Assets
	outputs, err := b.place(dir, inPlace, j.page)
	if err != nil {
		j.err = fmt.Errorf("publish %s: %w", j.path, err)
		return
	}
	// The hash covers the assets the page copied; they are the ones hashed
	// already unless the notebook's links changed.
	ins, hash := j.inputs, j.hash
	if !slices.Equal(assets, assetsOf(ins)) {
		ins = b.withAssets(ins, j.path, assets)
		hash = b.pageHash(ins)
	}
	files := slices.Concat(written.Assets, written.Plots, written.Data, history)
	slices.Sort(files)
	j.entry = &entry{Hash: hash, Page: j.page, Inputs: ins, ResultsDir: j.resultsDir, Outputs: outputs, Files: slices.Compact(files), Checks: j.checks, Stale: written.Stale}
	j.nb, j.data = nil, nil // a thousand parsed notebooks need not stay in memory
}

// writeHistory writes the page's history page into dir when the format is
// HTML and a bench cell has two runs or more. It returns the files it
// wrote, relative to dir, and the history (nil when there is none).
func (b *builder) writeHistory(dir string, nb *notebook.Notebook, ropt render.Options) ([]string, *render.History, error) {
	store, ok := ropt.Results.(render.HistoryReader)
	if b.opt.Format != HTML || !ok {
		return nil, nil, nil
	}
	buf := historyBuffers.Get().(*bytes.Buffer)
	defer historyBuffers.Put(buf)
	h, err := render.RenderHistory(nb, store, render.HistoryOptions{Version: b.opt.Version, Buffer: buf})
	if err != nil || h == nil {
		return nil, nil, err
	}
	defer func() { h.HTML = nil }() // buf's, which the next page reuses
	if err := os.WriteFile(filepath.Join(dir, render.HistoryFile), h.HTML, 0o644); err != nil {
		return nil, nil, fmt.Errorf("history page: %w", err)
	}
	return []string{render.HistoryFile}, h, nil
}

// historyBuffers hold history pages while they are written.
var historyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// place moves a rendered page from dir to where the format wants it (dir
// is there already when inPlace) and returns what the page owns in the
// output folder.
func (b *builder) place(dir string, inPlace bool, p Page) ([]string, error) {
	out := b.opt.Out
	switch b.opt.Format {
	case Hugo:
		// A page bundle with both index.md and index.html would be two
		// content files for Hugo; the Markdown is the one it should build.
		if err := os.Remove(filepath.Join(dir, render.HTMLFile)); err != nil {
			return nil, err
		}
	case Jekyll:
		md, err := os.ReadFile(filepath.Join(dir, render.MarkdownFile))
		if err != nil {
			return nil, err
		}
		post := jekyllPost(p)
		if _, err := atomicfile.WriteIfChanged(filepath.Join(out, filepath.FromSlash(post)), jekyllMarkdown(md, p.Slug)); err != nil {
			return nil, err
		}
		for _, f := range []string{render.MarkdownFile, render.HTMLFile} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil {
				return nil, err
			}
		}
		if empty, err := emptyDir(dir); err != nil || empty {
			return []string{post}, err
		}
		return []string{post, p.Slug}, swapDir(dir, filepath.Join(out, p.Slug))
	}
	if inPlace {
		return []string{p.Slug}, nil
	}
	return []string{p.Slug}, swapDir(dir, filepath.Join(out, p.Slug))
}

// jekyllMarkdown adds a permalink of /SLUG/ to render's front matter. The
// post's plots and assets are published in SLUG/, so the relative links of
// the Markdown resolve there whatever the site's permalink style and
// baseurl.
func jekyllMarkdown(md []byte, slug string) []byte {
	const fence = "---\n"
	if !bytes.HasPrefix(md, []byte(fence)) {
		return md
	}
	end := bytes.Index(md[len(fence):], []byte("\n"+fence))
	if end < 0 {
		return md
	}
	end += len(fence) + 1
	var b bytes.Buffer
	b.Write(md[:end])
	fmt.Fprintf(&b, "permalink: /%s/\n", slug)
	b.Write(md[end:])
	return b.Bytes()
}

// swapDir replaces dst by src: the old folder is moved aside, the new one
// renamed into place, the old one removed.
func swapDir(src, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		aside, err := os.MkdirTemp(filepath.Dir(dst), ".old-"+filepath.Base(dst)+"-")
		if err != nil {
			return err
		}
		old = filepath.Join(aside, "page")
		if err := os.Rename(dst, old); err != nil {
			return errors.Join(err, os.Remove(aside))
		}
		defer os.RemoveAll(aside)
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			err = errors.Join(err, os.Rename(old, dst))
		}
		return err
	}
	return os.Chmod(dst, 0o755) // MkdirTemp makes 0700 folders
}

func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// historyMemo remembers what a page's render read of its results: the
// report and the history page both load each cell's CELL.json and read its
// history's summaries, and the summaries add CELL.json as the newest run
// when the history lacks it. Each file is read once.
type historyMemo struct {
	render.Results
	store render.HistoryReader
	// sums are the hashes of the histories among the page's inputs, by
	// cell: a history's summaries file that matches one is read without
	// reading the history again (results.Store.SummariesOf).
	sums map[string]string
	mu   sync.Mutex
	load map[string]loaded
	read map[[2]string]historyRead // by kind ("history", "summaries") and cell
}

type loaded struct {
	f   *results.File
	err error
}

type historyRead struct {
	entries []results.Entry
	err     error
}

// summariesOf is results.Store's: Summaries with CELL.json given, and
// the history's hash when the page's inputs have it.
type summariesOf interface {
	SummariesOf(cell, historySum string, load func(string) (*results.File, error)) ([]results.Entry, error)
}

// memoHistory wraps res so that each cell's results and history are read
// once; res without histories is returned as it is. ins are the page's
// inputs, hashed.
func memoHistory(res render.Results, ins []input) render.Results {
	hr, ok := res.(render.HistoryReader)
	if !ok {
		return res
	}
	sums := map[string]string{}
	for _, in := range ins {
		name, ok := strings.CutPrefix(in.Name, "results/")
		if cell, hist := strings.CutSuffix(name, results.HistorySuffix); ok && hist && in.Sum != "" {
			sums[cell] = in.Sum
		}
	}
	return &historyMemo{Results: res, store: hr, sums: sums, load: map[string]loaded{}, read: map[[2]string]historyRead{}}
}

func (m *historyMemo) Load(cell string) (*results.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadLocked(cell)
}

func (m *historyMemo) loadLocked(cell string) (*results.File, error) {
	if l, ok := m.load[cell]; ok {
		return l.f, l.err
	}
	f, err := m.Results.Load(cell)
	m.load[cell] = loaded{f, err}
	return f, err
}

func (m *historyMemo) History(cell string) ([]results.Entry, error) {
	return m.memo("history", cell, m.store.History)
}

func (m *historyMemo) Summaries(cell string) ([]results.Entry, error) {
	read := m.store.Summaries
	if sf, ok := m.store.(summariesOf); ok {
		// Called with m.mu held, by memo.
		read = func(cell string) ([]results.Entry, error) { return sf.SummariesOf(cell, m.sums[cell], m.loadLocked) }
	}
	return m.memo("summaries", cell, read)
}

func (m *historyMemo) memo(kind, cell string, read func(string) ([]results.Entry, error)) ([]results.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]string{kind, cell}
	if r, ok := m.read[key]; ok {
		return r.entries, r.err
	}
	entries, err := read(cell)
	m.read[key] = historyRead{entries, err}
	return entries, err
}

// Package site turns a folder of notebooks into a static site: one page per
// notebook (render's standalone page, its plots and index.md beside it), an
// index of the reports newest first, a page per tag, an Atom feed and a
// sitemap. It can also export the pages for Hugo (page bundles) or Jekyll
// (_posts), and serve a live preview.
//
// Builds are incremental. A manifest in the output folder records, per page,
// the hash of everything the page was made from: the notebook's bytes, the
// JSON files of its results folder, the assets the page copied, a
// fingerprint of render's templates and stylesheet, and benchbook's version.
// A rebuild renders only the pages whose hash changed, removes the pages of
// notebooks that are gone, and regenerates the index, tag pages, feed and
// sitemap only when what they show changed. Pages render in parallel; what
// the site lists is sorted, so the output does not depend on the number of
// workers.
//
// Like render, the site builder never executes anything: it reads notebooks
// and stored results and writes files.
package site

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
	"github.com/benchbook/benchbook/results"
)

// Format is what a build writes.
type Format string

const (
	// HTML is a complete static site.
	HTML Format = "html"
	// Hugo writes one page bundle per notebook (SLUG/index.md with its
	// plots and assets), for a Hugo site's content folder.
	Hugo Format = "hugo"
	// Jekyll writes _posts/YYYY-MM-DD-SLUG.md per notebook (_drafts/SLUG.md
	// for a draft), with its plots and assets in SLUG/ and a permalink of
	// /SLUG/ so relative links hold.
	Jekyll Format = "jekyll"
)

// Formats lists the formats, for flag help.
var Formats = []Format{HTML, Hugo, Jekyll}

// Options controls a build. Out is required; the zero value of every other
// field does the common thing.
type Options struct {
	Out    string // output folder
	Format Format // default HTML

	// BaseURL is where the site will be published, e.g.
	// https://example.org/bench/. It makes the feed and the sitemap
	// absolute; pages always link relatively, so the site also works from
	// file:// and from any sub-path.
	BaseURL string
	Title   string // site title, default "Benchmark reports"

	Drafts bool // include notebooks with draft = true
	Jobs   int  // parallel renders; 0 means one per core
	Force  bool // render every page, whatever the manifest says

	// ForceOverwrite lets the build replace and remove paths in Out that
	// its manifest does not say benchbook wrote (a folder where a page
	// goes, a hand-written index.html). Without it such a path stops the
	// build before it writes anything.
	ForceOverwrite bool

	// Version is benchbook's version: part of every page's hash, so a new
	// benchbook re-renders everything.
	Version string

	// Render gives the render options of a notebook. Nil means its results
	// store and Version.
	Render func(nb *notebook.Notebook) render.Options

	// Progress, when set, is called after each page is considered, with the
	// count so far and the total. Calls do not overlap.
	Progress func(done, total int)
}

// DefaultTitle is the site title when Options.Title is empty.
const DefaultTitle = "Benchmark reports"

func (o *Options) defaults() error {
	if o.Out == "" {
		return errors.New("no output folder")
	}
	if o.Format == "" {
		o.Format = HTML
	}
	switch o.Format {
	case HTML, Hugo, Jekyll:
	default:
		return fmt.Errorf("unknown format %q (use html, hugo or jekyll)", o.Format)
	}
	if o.Title == "" {
		o.Title = DefaultTitle
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.BaseURL != "" && !strings.HasSuffix(o.BaseURL, "/") {
		o.BaseURL += "/"
	}
	if o.Render == nil {
		version := o.Version
		o.Render = func(nb *notebook.Notebook) render.Options {
			return render.Options{Results: results.ForNotebook(nb.Path), Version: version}
		}
	}
	return nil
}

// Report is what a build did.
type Report struct {
	Built     int // pages rendered
	Unchanged int // pages left as they were
	Removed   int // pages deleted (notebook gone, now a draft, or renamed)
	Failed    []Failure
	SiteFiles int // index, tag pages, feed and sitemap files written
	Duration  time.Duration
	Pages     []Page // the published pages, newest first

	// Checked lists the notebooks (paths) of published pages that have
	// check cells, whose claims the caller may want to judge.
	Checked []string

	// Stale lists the published pages that show results which are not
	// current, by notebook path, with their cells ("tp: stale (inputs)"),
	// as the page says it; whether results still describe this machine
	// is for `benchbook status`, which probes it.
	Stale []StalePage

	// Changed lists what changed in the output folder, as slash paths
	// relative to it: "SLUG/" for a page built or removed, and each site
	// file written or removed. The preview server reloads the pages open
	// on them.
	Changed []string
}

// StalePage is a published page showing results that are not current.
type StalePage struct {
	Notebook string
	Cells    []string // "id: why", in cell order
}

// StaleLine is the line a build prints after its summary when pages show
// results that are not current, naming up to a few of them, or "".
func (r *Report) StaleLine() string {
	if len(r.Stale) == 0 {
		return ""
	}
	const shown = 3
	var parts []string
	for i, p := range r.Stale {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(r.Stale)-shown))
			break
		}
		parts = append(parts, p.Notebook+" ("+strings.Join(p.Cells, "; ")+")")
	}
	pages := "1 page shows"
	if len(r.Stale) > 1 {
		pages = fmt.Sprintf("%d pages show", len(r.Stale))
	}
	return fmt.Sprintf("%s results that are not current: %s; benchbook status NOTEBOOK says more", pages, strings.Join(parts, ", "))
}

// Failure is a notebook that could not be published.
type Failure struct {
	Notebook string
	Err      error // a notebook.ErrorList when the notebook is invalid
}

// Summary is the one line a build prints: "built 3, unchanged 997, removed
// 0 in 0.41s", with ", failed N" when some notebooks failed.
func (r *Report) Summary() string {
	failed := ""
	if len(r.Failed) > 0 {
		failed = fmt.Sprintf(", failed %d", len(r.Failed))
	}
	return fmt.Sprintf("built %d, unchanged %d, removed %d%s in %.2fs", r.Built, r.Unchanged, r.Removed, failed, r.Duration.Seconds())
}

// ErrFailed is wrapped by Build's error when some notebooks could not be
// published; the rest of the site is built all the same.
var ErrFailed = errors.New("some notebooks failed")

// Page is one published notebook, as the index, the feed and the manifest
// see it.
type Page struct {
	Source  string    `json:"source"` // notebook path relative to the notebooks folder, slash-separated
	Slug    string    `json:"slug"`
	Title   string    `json:"title"`
	Date    time.Time `json:"date,omitzero"`
	Authors []string  `json:"authors,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
	Summary string    `json:"summary,omitempty"`
	Draft   bool      `json:"draft,omitempty"`
	// History says the page has a history page (SLUG/history/), and
	// Regressions are its change points that made a figure worse, for the
	// regressions feed.
	History     bool                `json:"history,omitempty"`
	Regressions []render.Regression `json:"regressions,omitempty"`
}

// Notebooks lists the notebooks of a folder: its *.toml files, sorted. Like
// `benchbook check DIR`, it does not descend into sub-folders, which hold
// results and assets.
func Notebooks(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("notebooks folder: %w", err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".toml") && !strings.HasPrefix(name, ".") && !e.IsDir() {
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// Build renders the notebooks of dir into opt.Out. A notebook that cannot be
// published is listed in the report's Failed and the error wraps ErrFailed;
// every other page, the index, feed and sitemap are built all the same.
func Build(ctx context.Context, dir string, opt Options) (*Report, error) {
	start := time.Now()
	if err := opt.defaults(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	// The manifest is read while the notebooks are listed and the output
	// folder checked: decoding a thousand pages' manifest is the longest
	// step of a no-change rebuild that has the machine to itself.
	loaded := make(chan *manifest, 1)
	go func() { loaded <- loadManifest(opt.Out, opt.Format) }()
	b := &builder{dir: dir, opt: opt, started: start}
	jobs, err := b.prepare(dir)
	if err != nil {
		<-loaded
		return nil, err
	}
	b.old = b.prestat(jobs, loaded)
	rep, err := b.build(ctx, jobs)
	if rep != nil {
		rep.Duration = time.Since(start)
	}
	return rep, err
}

// builder holds one build.
type builder struct {
	dir string
	opt Options
	old *manifest
	// render is the render fingerprint and the executable it was made
	// by, for the manifest.
	render fingerprintCache

	claims []string // what the manifest claims while pages render (see claim)

	started time.Time // when the build began, for input.Stat
}

// job is one notebook going through a build.
type job struct {
	path   string // on disk
	source string // relative to the notebooks folder, slash-separated
	data   []byte
	hash   string
	old    *entry
	nb     *notebook.Notebook
	page   Page
	inputs []input // what the hash was computed from
	// resultsDir is the results folder's stat key when its files were
	// listed (entry.ResultsDir).
	resultsDir string
	fresh      bool   // the old entry's hash matches
	intact     bool   // fresh, and the old page's files are all there
	render     bool   // must be rendered
	checks     bool   // the notebook has check cells
	err        error  // cannot be published
	entry      *entry // what the manifest records after the build
	pre        prestats
}

// build runs a build's stages in order: examine every notebook, plan what
// to render, claim what it will write, render it, and finish (the new
// manifest, stale outputs removed, the site files).
func (b *builder) build(ctx context.Context, jobs []*job) (*Report, error) {
	b.render = b.fingerprint()
	for _, j := range jobs {
		j.old = b.old.Pages[j.source]
	}
	if err := b.examineAll(ctx, jobs); err != nil {
		return nil, err
	}
	slugs, todo := b.plan(jobs)
	if err := b.claim(jobs, slugs, todo); err != nil {
		return nil, err
	}
	if err := b.renderAll(ctx, todo); err != nil {
		return nil, err
	}
	return b.finish(jobs, slugs)
}

// prepare lists the notebooks of dir as jobs and makes sure the output
// folder may be written and exists.
func (b *builder) prepare(dir string) ([]*job, error) {
	jobs, err := b.jobsOf(dir)
	if err != nil {
		return nil, err
	}
	if err := render.CheckOutDir(b.opt.Out, dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.opt.Out, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	return jobs, nil
}

// jobsOf lists the notebooks of dir as jobs, with their source paths.
func (b *builder) jobsOf(dir string) ([]*job, error) {
	paths, err := Notebooks(dir)
	if err != nil {
		return nil, err
	}
	jobs := make([]*job, len(paths))
	for i, p := range paths {
		jobs[i] = &job{path: p, source: filepath.ToSlash(mustRel(b.dir, p))}
	}
	return jobs, nil
}

// examineAll is stage 1, in parallel: hash every notebook's inputs; parse
// the ones whose hash changed.
func (b *builder) examineAll(ctx context.Context, jobs []*job) error {
	b.parallel(ctx, jobs, nil, b.examine)
	return ctx.Err()
}

// plan is stage 2: decide what to render. Slugs must be unique; the first
// notebook in file order keeps its slug. It returns the published pages by
// slug and the jobs to render.
func (b *builder) plan(jobs []*job) (map[string]*job, []*job) {
	slugs := map[string]*job{}
	var todo []*job
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		if !b.published(j.page) {
			j.entry = &entry{Hash: j.hash, Page: j.page, Inputs: j.inputs, ResultsDir: j.resultsDir, Checks: j.checks}
			if j.fresh && !j.old.Published() {
				j.entry = j.old // a draft left out, as before
			}
			continue
		}
		if j.err = b.slugProblem(j, slugs); j.err != nil {
			continue
		}
		slugs[j.page.Slug] = j
		if j.intact {
			j.entry = j.old
			continue
		}
		j.render = true
		todo = append(todo, j)
	}
	return slugs, todo
}

// slugProblem says why a published page cannot have its slug, if it cannot.
func (b *builder) slugProblem(j *job, slugs map[string]*job) error {
	if other := slugs[j.page.Slug]; other != nil {
		return b.siteError(j, "slug", fmt.Sprintf("slug %q is taken by %s; set slug = \"...\" to another name", j.page.Slug, other.source))
	}
	if reservedSlug(b.opt.Format, j.page.Slug) {
		return b.siteError(j, "slug", fmt.Sprintf("slug %q is reserved by the site; set slug = \"...\" to another name", j.page.Slug))
	}
	if b.opt.Format == Jekyll && j.page.Date.IsZero() && !j.page.Draft {
		return b.siteError(j, "", "a Jekyll post needs a date: add date = YYYY-MM-DD at the top")
	}
	return nil
}

// renderAll is stage 3, in parallel: render the pages of todo. When ctx
// ends first, it records the pages already rendered, so the next build
// knows them (and can remove them if their notebooks go).
func (b *builder) renderAll(ctx context.Context, todo []*job) error {
	var progress func()
	if b.opt.Progress != nil {
		total, done := len(todo), 0
		var mu sync.Mutex
		progress = func() {
			mu.Lock()
			defer mu.Unlock()
			done++
			b.opt.Progress(done, total)
		}
	}
	b.parallel(ctx, todo, progress, b.renderPage)
	err := ctx.Err()
	if err == nil {
		return nil
	}
	next := &manifest{Format: b.opt.Format, Pages: maps.Clone(b.old.Pages), Site: b.old.Site, Claimed: b.claimed(), Render: b.render}
	for _, j := range todo {
		if j.entry != nil {
			next.Pages[j.source] = j.entry
		}
	}
	return errors.Join(err, next.save(b.opt.Out))
}

// finish is stage 4: the new manifest, stale outputs removed, site files.
func (b *builder) finish(jobs []*job, slugs map[string]*job) (*Report, error) {
	rep, next := b.nextManifest(jobs, slugs)
	if err := b.removeStale(next, rep); err != nil {
		return nil, err
	}
	rep.Pages = sortedPages(next)
	if b.opt.Format == HTML {
		ptrs := make([]*Page, len(rep.Pages))
		for i := range rep.Pages {
			ptrs[i] = &rep.Pages[i]
		}
		hash := siteHash(b.opt, b.render.Fingerprint, ptrs)
		changed, site, err := writeSiteFiles(b.opt, hash, rep.Pages, b.old.Site)
		if err != nil {
			return nil, err
		}
		rep.SiteFiles, next.Site = len(changed), site
		rep.Changed = append(rep.Changed, changed...)
	}
	gone, err := b.dropClaims(next)
	rep.Changed = append(rep.Changed, gone...)
	if err != nil {
		return nil, fmt.Errorf("remove old output: %w", err)
	}
	if !next.sameAs(b.old) {
		if err := next.save(b.opt.Out); err != nil {
			return nil, err
		}
	}
	sort.Slice(rep.Failed, func(i, k int) bool { return rep.Failed[i].Notebook < rep.Failed[k].Notebook })
	sort.Strings(rep.Changed)
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("%d of %d notebooks failed: %w", len(rep.Failed), len(jobs), ErrFailed)
	}
	return rep, nil
}

// nextManifest records what the build made, and counts it in a new report.
func (b *builder) nextManifest(jobs []*job, slugs map[string]*job) (*Report, *manifest) {
	rep := &Report{}
	next := &manifest{Format: b.opt.Format, Pages: map[string]*entry{}, Site: b.old.Site, Render: b.render}
	for _, j := range jobs {
		switch {
		case j.err != nil:
			rep.Failed = append(rep.Failed, Failure{Notebook: j.path, Err: j.err})
			// The last good page of a notebook that now fails stays
			// published: a typo must not take a post off the site. The old
			// hash no longer matches, so the next build tries again.
			if j.old != nil && j.old.Published() && !slugTaken(slugs, j.old.Page.Slug, j) {
				next.Pages[j.source] = j.old
			}
		case j.entry != nil:
			next.Pages[j.source] = j.entry
			if j.entry.Checks && j.entry.Published() {
				rep.Checked = append(rep.Checked, j.path)
			}
			if len(j.entry.Stale) > 0 && j.entry.Published() {
				rep.Stale = append(rep.Stale, StalePage{Notebook: j.path, Cells: j.entry.Stale})
			}
			if j.render {
				rep.Built++
				rep.Changed = append(rep.Changed, j.entry.Slug+"/")
			} else if j.entry.Published() {
				rep.Unchanged++
			}
		}
	}
	return rep, next
}

// removeStale removes what the old manifest's pages own and the new one's
// do not: pages of notebooks gone, now drafts, or renamed.
func (b *builder) removeStale(next *manifest, rep *Report) error {
	owned := map[string]bool{}
	for _, e := range next.Pages {
		for _, o := range e.Outputs {
			owned[o] = true
		}
	}
	for _, e := range b.old.Pages {
		removed := false
		for i, o := range e.Outputs {
			if owned[o] || !safeOutput(o) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(b.opt.Out, filepath.FromSlash(o))); err != nil {
				return fmt.Errorf("remove old page: %w", err)
			}
			// The first output is the page; a Jekyll post's asset folder
			// going away removes no page.
			removed = removed || i == 0
		}
		if removed {
			rep.Removed++
			rep.Changed = append(rep.Changed, e.Slug+"/")
		}
	}
	return nil
}

// claimed is what the manifest claims now: the build's claims once it made
// them, else the old manifest's.
func (b *builder) claimed() []string {
	if b.claims != nil {
		return b.claims
	}
	return b.old.Claimed
}

func slugTaken(slugs map[string]*job, slug string, j *job) bool {
	other := slugs[slug]
	return other != nil && other != j
}

func (b *builder) published(p Page) bool { return !p.Draft || b.opt.Drafts }

// siteError places a problem only the site sees (a slug conflict) at a key
// of the notebook, or at its start when the key is not written.
func (b *builder) siteError(j *job, key, msg string) error {
	nb := j.nb
	if nb == nil {
		// An unchanged notebook was not parsed (nor perhaps read).
		if data, err := notebook.ReadFile(j.path); err == nil {
			nb, _ = notebook.Parse(j.path, data)
		}
	}
	pos := notebook.Pos{Line: 1, Col: 1}
	if nb != nil && key != "" {
		if p := nb.KeyPos(key); p.IsValid() {
			pos = p
		}
	}
	return notebook.ErrorList{{File: j.path, Pos: pos, Msg: msg}}
}

// parallel runs fn on every job with opt.Jobs workers. Each job is touched
// by one worker only, so jobs need no locking.
func (b *builder) parallel(ctx context.Context, jobs []*job, done func(), fn func(*job)) {
	n := min(b.opt.Jobs, len(jobs))
	if n <= 1 {
		for _, j := range jobs {
			if ctx.Err() != nil {
				return
			}
			fn(j)
			if done != nil {
				done()
			}
		}
		return
	}
	// Workers take the next job by counting, not from a channel: handing
	// a thousand small jobs over one by one kept the scheduler and the
	// futex busy for a fifth of a no-change rebuild's examine stage.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(jobs)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				fn(jobs[i])
				if done != nil {
					done()
				}
			}
		})
	}
	wg.Wait()
}

// examine hashes a notebook's inputs and, unless the manifest says the page
// is as it was, parses it.
func (b *builder) examine(j *job) {
	ins, data, dirKey, err := b.inputsOf(j.path, j.old, j.pre)
	if err != nil {
		j.err = err
		return
	}
	j.inputs, j.data, j.hash, j.resultsDir = ins, data, b.pageHash(ins), dirKey
	if j.old != nil && j.old.Hash == j.hash && !b.opt.Force {
		j.fresh = true
		j.page = j.old.Page
		j.page.Source = j.source
		j.intact = j.old.Published() && b.pageExists(j.old.Page)
		// A draft left out before and wanted now, or a page whose files
		// were deleted, is rendered from a fresh parse.
		if !b.published(j.page) || j.intact {
			return
		}
	}
	if j.data == nil { // its hash was cached: read it now
		if j.data, err = notebook.ReadFile(j.path); err != nil {
			j.err = fmt.Errorf("read notebook: %w", err)
			return
		}
	}
	j.parse()
}

func (j *job) parse() {
	nb, err := notebook.Parse(j.path, j.data)
	if err != nil {
		j.err = err
		return
	}
	if nb.Slug == "" {
		j.err = notebook.ErrorList{nb.Errorf(notebook.Pos{Line: 1, Col: 1}, "no slug can be made from the file name: set slug = \"...\"")}
		return
	}
	// render.Write refuses a page with broken asset links, with the same
	// positioned errors render.Check gives; checking first would parse all
	// the prose once more.
	j.nb = nb
	j.checks = slices.ContainsFunc(nb.Cells, func(c *notebook.Cell) bool { return c.Kind == notebook.KindCheck })
	j.page = Page{
		Source:  j.source,
		Slug:    nb.Slug,
		Title:   nb.Title,
		Date:    nb.Date,
		Authors: nb.Authors,
		Tags:    nb.Tags,
		Summary: nb.Summary,
		Draft:   nb.Draft,
	}
}

func mustRel(base, path string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil {
		return filepath.Base(path)
	}
	return rel
}

// sortedPages lists the published pages newest first; undated pages come
// last; ties go by title, then slug, so the order never depends on timing.
func sortedPages(m *manifest) []Page {
	// Sorted as pointers: a Page is a dozen words, and swapping a thousand
	// of them was a tenth of a no-change rebuild's own work.
	published := make([]*entry, 0, len(m.Pages))
	for _, e := range m.Pages {
		if e.Published() {
			published = append(published, e)
		}
	}
	slices.SortFunc(published, func(x, y *entry) int {
		a, c := &x.Page, &y.Page
		if !a.Date.Equal(c.Date) {
			switch {
			case a.Date.IsZero():
				return 1
			case c.Date.IsZero():
				return -1
			}
			return c.Date.Compare(a.Date)
		}
		return cmp.Or(strings.Compare(a.Title, c.Title), strings.Compare(a.Slug, c.Slug))
	})
	pages := make([]Page, len(published))
	for i, e := range published {
		pages[i] = e.Page
	}
	return pages
}

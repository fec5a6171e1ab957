package site

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/render"
)

// A build replaces or deletes only what its manifest says benchbook wrote:
// page folders (and Jekyll posts) of the manifest's entries, with exactly
// the files each entry lists; the site files it lists; and its claims.
// Anything else in the way is someone's, and the build stops before it
// writes anything, naming it (render.OverwriteError), unless
// Options.ForceOverwrite.

// claim is the stage between plan and render. It checks every path the
// build will create, replace or remove, and records the paths about to be
// created in the manifest before any is, so that a build cut short leaves
// nothing the next build would take for someone else's.
func (b *builder) claim(jobs []*job, slugs map[string]*job, todo []*job) error {
	own := b.ownership()
	targets, keep := b.targets(jobs, slugs, todo)
	var foreign, claims []string
	for _, t := range targets {
		e, owned := own[t]
		if !owned {
			claims = append(claims, t)
		}
		foreign = append(foreign, b.foreignAt(t, e, owned)...)
	}
	for _, e := range b.old.Pages {
		for _, o := range e.Outputs {
			if !keep[o] && safeOutput(o) {
				foreign = append(foreign, b.foreignAt(o, e, true)...)
			}
		}
	}
	if len(foreign) > 0 && !b.opt.ForceOverwrite {
		slices.Sort(foreign)
		return &render.OverwriteError{Paths: slices.Compact(foreign)}
	}
	if len(claims) == 0 {
		return nil
	}
	b.claims = slices.Concat(b.old.Claimed, claims)
	slices.Sort(b.claims)
	b.claims = slices.Compact(b.claims)
	intent := &manifest{Format: b.opt.Format, Pages: b.old.Pages, Site: b.old.Site, Claimed: b.claims}
	return intent.save(b.opt.Out)
}

// ownership maps every output the old manifest records to the entry that
// owns it; site files and claims map to nil: they are benchbook's whole.
func (b *builder) ownership() map[string]*entry {
	own := make(map[string]*entry, len(b.old.Site.Files)+len(b.old.Claimed)+len(b.old.Pages))
	for _, f := range b.old.Site.Files {
		own[f] = nil
	}
	for _, c := range b.old.Claimed {
		own[c] = nil
	}
	for _, e := range b.old.Pages {
		for _, o := range e.Outputs {
			own[o] = e
		}
	}
	return own
}

// targets lists what the build writes: the outputs of the pages to render
// and, for a site, its site files; and the set of outputs that stay (the
// targets and the pages kept as they are), which are not removed.
func (b *builder) targets(jobs []*job, slugs map[string]*job, todo []*job) ([]string, map[string]bool) {
	keep := make(map[string]bool, len(jobs)+len(b.old.Site.Files))
	var targets []string
	for _, j := range todo {
		targets = append(targets, b.outputsOf(j.page)...)
	}
	pages := make([]*Page, 0, len(jobs))
	for _, j := range jobs {
		switch {
		case j.render:
			pages = append(pages, &j.page)
		case j.entry != nil && j.entry.Published():
			pages = append(pages, &j.entry.Page)
			for _, o := range j.entry.Outputs {
				keep[o] = true
			}
		case j.err != nil && j.old != nil && j.old.Published() && !slugTaken(slugs, j.old.Page.Slug, j):
			pages = append(pages, &j.old.Page) // a failing notebook keeps its last good page
			for _, o := range j.old.Outputs {
				keep[o] = true
			}
		}
	}
	if b.opt.Format == HTML {
		targets = append(targets, b.siteFileNames(pages)...)
	}
	for _, t := range targets {
		keep[t] = true
	}
	return targets, keep
}

// outputsOf is what a page owns in the output folder once rendered.
func (b *builder) outputsOf(p Page) []string {
	if b.opt.Format == Jekyll {
		return []string{jekyllPost(p), p.Slug}
	}
	return []string{p.Slug}
}

// foreignAt returns the paths at or under output o (slash, relative to the
// output folder) that benchbook did not write, joined to the output folder:
// o itself when it exists and is not owned; the files of an owned page
// folder that its entry e does not list. Claims and site files (owned with
// no entry) are benchbook's whole.
func (b *builder) foreignAt(o string, e *entry, owned bool) []string {
	p := filepath.Join(b.opt.Out, filepath.FromSlash(o))
	fi, err := os.Lstat(p)
	switch {
	case err != nil:
		return nil // nothing there (or unreadable: writing it will say)
	case !owned:
		return []string{p}
	case e == nil || !fi.IsDir():
		return nil
	}
	mine := map[string]bool{}
	for _, f := range slices.Concat(b.pageFiles(), e.Files) {
		for d := f; d != "." && d != "/"; d = path.Dir(d) {
			mine[d] = true // the file and the folders it is in
		}
	}
	var foreign []string
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil || q == p {
			return nil
		}
		rel, _ := filepath.Rel(p, q)
		if mine[filepath.ToSlash(rel)] || atomicfile.IsTemp(d.Name()) {
			return nil
		}
		foreign = append(foreign, q)
		if d.IsDir() {
			return filepath.SkipDir // the folder names what is in it
		}
		return nil
	})
	return foreign
}

// pageFiles are the files every page folder of the format holds, which an
// entry's Files leave out.
func (b *builder) pageFiles() []string {
	switch b.opt.Format {
	case Hugo:
		return []string{render.MarkdownFile}
	case Jekyll:
		return nil
	}
	return []string{render.HTMLFile, render.MarkdownFile}
}

// dropClaims removes the claimed outputs that the build did not make
// again (a page of a build cut short whose notebook is gone, the files of
// an earlier format) and returns them; next owns the rest.
func (b *builder) dropClaims(next *manifest) ([]string, error) {
	claims := slices.Concat(b.old.Claimed, b.claims)
	if len(claims) == 0 {
		return nil, nil
	}
	owned := map[string]bool{}
	for _, f := range next.Site.Files {
		owned[f] = true
	}
	for _, e := range next.Pages {
		for _, o := range e.Outputs {
			owned[o] = true
		}
	}
	var removed []string
	for _, c := range claims {
		if owned[c] || !safeOutput(c) {
			continue
		}
		p := filepath.Join(b.opt.Out, filepath.FromSlash(c))
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return removed, err
		}
		removed = append(removed, strings.TrimSuffix(c, "/"))
	}
	return removed, nil
}

package site

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/render"

	"github.com/gorilla/feeds"

	"github.com/benchbook/benchbook/notebook"
)

//go:embed theme/list.html.tmpl theme/site.css
var theme embed.FS

var listTemplate = template.Must(template.ParseFS(theme, "theme/list.html.tmpl"))

// siteCSS is the report pages' stylesheet followed by the site pages' own
// rules, so both kinds of page share colours, type and spacing.
var siteCSS = sync.OnceValue(func() template.CSS {
	b, err := theme.ReadFile("theme/site.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return template.CSS(render.Stylesheet() + string(b))
})

// themeHash stands for the site's own templates, so a benchbook whose index
// looks different rewrites the index even when its version string does not
// change.
var themeHash = sync.OnceValue(func() string {
	h := sha256.New()
	_ = fs.WalkDir(theme, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := theme.ReadFile(p)
			fmt.Fprintf(h, "%s %d\n", p, len(b))
			h.Write(b)
		}
		return err
	})
	return hex.EncodeToString(h.Sum(nil))
})

// Names of the site-level files.
const (
	IndexFile   = "index.html"
	FeedFile    = "feed.xml"
	SitemapFile = "sitemap.xml"
	// RegressionsFile is the Atom feed of every change point that made a
	// figure worse, written when some page has a history page.
	RegressionsFile = "regressions.xml"
	tagsDir         = "tags"
)

// listView is what the list template sees.
type listView struct {
	Site    string
	Heading string
	Root    string // relative path from the page to the site's root: "" or "../../"
	Pages   []pageView
	Tags    []tagView
	Version string
	CSS     template.CSS
}

type pageView struct {
	Title, Href, Date, DateText, Summary string
	Authors                              []string
	Tags                                 []tagView
	Draft                                bool
}

type tagView struct {
	Name, Href string
	Count      int
}

// tag is one tag of the site: the pages it lists, newest first.
type tag struct {
	name  string
	slug  string
	pages []Page
}

// tagSlug is a tag's folder name under tags/.
func tagSlug(name string) string {
	if s := notebook.Slugify(name); s != "" && s != "index" {
		return s
	}
	sum := sha256.Sum256([]byte(name))
	return "tag-" + hex.EncodeToString(sum[:4])
}

// siteTags groups pages by tag. Tags that make the same folder name ("Linux"
// and "linux") are one tag, shown with the spelling that sorts first.
func siteTags(pages []Page) []*tag {
	bySlug := map[string]*tag{}
	for _, p := range pages {
		seen := map[string]bool{}
		for _, name := range p.Tags {
			s := tagSlug(name)
			t := bySlug[s]
			if t == nil {
				t = &tag{name: name, slug: s}
				bySlug[s] = t
			}
			if name < t.name {
				t.name = name
			}
			if !seen[s] {
				seen[s] = true
				t.pages = append(t.pages, p)
			}
		}
	}
	tags := make([]*tag, 0, len(bySlug))
	for _, s := range slices.Sorted(maps.Keys(bySlug)) {
		tags = append(tags, bySlug[s])
	}
	return tags
}

// writeSiteFiles writes the index, tag pages, feed and sitemap when what
// they show changed (hash, from siteHash, is not the old one), and removes
// the tag pages of tags no longer used. It returns the files it wrote or
// removed and the new state for the manifest.
func writeSiteFiles(opt Options, hash string, pages []Page, old siteState) ([]string, siteState, error) {
	if hash == old.Hash && !opt.Force && allExist(opt.Out, old.Files) {
		return nil, old, nil
	}

	files, err := siteFiles(opt, pages)
	if err != nil {
		return nil, old, err
	}
	names := slices.Sorted(maps.Keys(files))
	var changed []string
	for _, name := range names {
		w, err := atomicfile.WriteIfChanged(filepath.Join(opt.Out, filepath.FromSlash(name)), files[name])
		if err != nil {
			return changed, old, fmt.Errorf("site files: %w", err)
		}
		if w {
			changed = append(changed, name)
		}
	}
	for _, name := range old.Files {
		if _, keep := files[name]; keep || !safeOutput(name) {
			continue
		}
		p := filepath.Join(opt.Out, filepath.FromSlash(name))
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return changed, old, fmt.Errorf("site files: %w", err)
		}
		changed = append(changed, name)
		// A tag page lives alone in its folder.
		if dir := path.Dir(name); dir != "." && dir != tagsDir {
			_ = os.Remove(filepath.Join(opt.Out, filepath.FromSlash(dir)))
		}
	}
	return changed, siteState{Hash: hash, Files: names}, nil
}

func allExist(out string, files []string) bool {
	if len(files) == 0 {
		return false
	}
	for _, f := range files {
		if !fileExists(filepath.Join(out, filepath.FromSlash(f))) {
			return false
		}
	}
	return true
}

// siteFile is one site-level file: its slash path and how to make it.
type siteFile struct {
	name string
	make func() ([]byte, error)
}

// siteFileList lists the site-level files of pages, in the order they are
// made; siteFileNames and siteFiles both come from it.
func siteFileList(opt Options, pages []Page) []siteFile {
	tags := siteTags(pages)
	// The views are made when the file is, not for siteFileNames.
	list := func(view func() listView) func() ([]byte, error) {
		return func() ([]byte, error) {
			v := view()
			v.Site, v.Version, v.CSS = opt.Title, opt.Version, siteCSS()
			var b bytes.Buffer
			err := listTemplate.ExecuteTemplate(&b, "list", v)
			return b.Bytes(), err
		}
	}
	todo := []siteFile{{IndexFile, list(func() listView { return listView{Pages: pageViews(pages, "")} })}}
	const tagRoot = "../../"
	var tagViews []tagView
	for _, t := range tags {
		tagViews = append(tagViews, tagView{Name: t.name, Href: t.slug + "/index.html", Count: len(t.pages)})
		view := func() listView {
			return listView{Heading: "Tagged “" + t.name + "”", Root: tagRoot, Pages: pageViews(t.pages, tagRoot)}
		}
		todo = append(todo, siteFile{tagsDir + "/" + t.slug + "/" + IndexFile, list(view)})
	}
	if slices.ContainsFunc(pages, func(p Page) bool { return p.History }) {
		todo = append(todo, siteFile{RegressionsFile, func() ([]byte, error) { return regressionsFeed(opt, pages) }})
	}
	return append(todo,
		siteFile{tagsDir + "/" + IndexFile, list(func() listView { return listView{Heading: "Tags", Root: "../", Tags: tagViews} })},
		siteFile{FeedFile, func() ([]byte, error) { return atomFeed(opt, pages) }},
		siteFile{SitemapFile, func() ([]byte, error) { return sitemap(opt, pages, tags) }},
		siteFile{FaviconFile, func() ([]byte, error) { return favicon(), nil }},
	)
}

// siteFileNames lists the site-level files a build of pages writes.
func (b *builder) siteFileNames(pages []*Page) []string {
	// The same pages make the same files: the old manifest lists them, and
	// listing them again (the tag pages) would be most of a no-change
	// rebuild's work here.
	if old := b.old.Site; old.Files != nil && siteHash(b.opt, b.render.Fingerprint, pages) == old.Hash {
		return old.Files
	}
	list := make([]Page, len(pages))
	for i, p := range pages {
		list[i] = *p
	}
	var names []string
	for _, f := range siteFileList(Options{}, list) {
		names = append(names, f.name)
	}
	return names
}

// siteFiles makes the site-level files, by slash path. They are made on up
// to opt.Jobs goroutines: with a thousand pages the index and the tag pages
// are a tenth of a cold build, and nothing else runs meanwhile.
func siteFiles(opt Options, pages []Page) (map[string][]byte, error) {
	todo := siteFileList(opt, pages)
	data := make([][]byte, len(todo))
	errs := make([]error, len(todo))
	sem := make(chan struct{}, max(opt.Jobs, 1))
	var wg sync.WaitGroup
	for i, f := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			data[i], errs[i] = f.make()
		})
	}
	wg.Wait()
	files := make(map[string][]byte, len(todo))
	for i, f := range todo {
		if errs[i] != nil {
			return nil, fmt.Errorf("site files: %s: %w", f.name, errs[i])
		}
		files[f.name] = data[i]
	}
	return files, nil
}

func pageViews(pages []Page, root string) []pageView {
	views := make([]pageView, len(pages))
	for i, p := range pages {
		v := pageView{
			Title:   p.Title,
			Href:    root + p.Slug + "/" + IndexFile,
			Summary: p.Summary,
			Authors: p.Authors,
			Draft:   p.Draft,
		}
		if !p.Date.IsZero() {
			v.Date = p.Date.Format("2006-01-02")
			v.DateText = p.Date.Format("2 January 2006")
		}
		seen := map[string]bool{}
		for _, name := range p.Tags {
			s := tagSlug(name)
			if !seen[s] {
				seen[s] = true
				v.Tags = append(v.Tags, tagView{Name: name, Href: root + tagsDir + "/" + s + "/" + IndexFile})
			}
		}
		views[i] = v
	}
	return views
}

// pageURL is where a page is in the feed and the sitemap: absolute with a
// base URL, else relative to the site's root.
func pageURL(opt Options, rel string) string { return opt.BaseURL + rel }

// atomFeed is the site's Atom feed, newest first. Without a base URL its
// links are relative to the feed (which sits at the site's root) and its ids
// are URNs, which stay valid wherever the site goes.
func atomFeed(opt Options, pages []Page) ([]byte, error) {
	var newest time.Time
	for _, p := range pages {
		if p.Date.After(newest) {
			newest = p.Date
		}
	}
	if newest.IsZero() {
		newest = time.Unix(0, 0)
	}
	f := siteFeed(opt, opt.Title, newest.UTC())
	for _, p := range pages {
		it := &feeds.Item{
			Title: p.Title,
			Link:  &feeds.Link{Href: pageURL(opt, p.Slug+"/")},
			Id:    entryID(opt, p),
			// An undated notebook has no time of its own; the feed's keeps
			// the feed valid and the output repeatable.
			Updated: newest.UTC(),
			// The summary is plain text, and Atom's "html" type would read
			// it as markup: escape it.
			Description: html.EscapeString(p.Summary),
		}
		if !p.Date.IsZero() {
			it.Updated = p.Date.UTC()
		}
		if len(p.Authors) > 0 {
			it.Author = &feeds.Author{Name: strings.Join(p.Authors, ", ")}
		}
		f.Add(it)
	}
	id := opt.BaseURL
	if id == "" {
		id = "urn:benchbook:site:" + notebook.Slugify(opt.Title)
	}
	return atomXML(f, id, "feed")
}

// siteFeed is a feed of the site's: its link is the site's root, relative
// without a base URL, its author the site.
func siteFeed(opt Options, title string, updated time.Time) *feeds.Feed {
	root := opt.BaseURL
	if root == "" {
		root = "./"
	}
	return &feeds.Feed{
		Title:   title,
		Link:    &feeds.Link{Href: root},
		Author:  &feeds.Author{Name: opt.Title},
		Updated: updated,
	}
}

// atomXML is f as an Atom document known by id, with a final newline;
// what names the feed in an error.
func atomXML(f *feeds.Feed, id, what string) ([]byte, error) {
	af := (&feeds.Atom{Feed: f}).AtomFeed()
	af.Id = id
	var b bytes.Buffer
	if err := feeds.WriteXML(af, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func entryID(opt Options, p Page) string {
	if opt.BaseURL != "" {
		return pageURL(opt, p.Slug+"/")
	}
	return "urn:benchbook:page:" + p.Slug
}

type urlset struct {
	XMLName xml.Name     `xml:"urlset"`
	Xmlns   string       `xml:"xmlns,attr"`
	URLs    []sitemapURL `xml:"url"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod,omitempty"`
}

// sitemap lists the index, every page and every tag page.
func sitemap(opt Options, pages []Page, tags []*tag) ([]byte, error) {
	u := urlset{Xmlns: "http://www.sitemaps.org/schemas/sitemap/0.9"}
	root := opt.BaseURL
	if root == "" {
		root = "./"
	}
	u.URLs = append(u.URLs, sitemapURL{Loc: root})
	for _, p := range pages {
		s := sitemapURL{Loc: pageURL(opt, p.Slug+"/")}
		if !p.Date.IsZero() {
			s.LastMod = p.Date.Format("2006-01-02")
		}
		u.URLs = append(u.URLs, s)
	}
	sort.SliceStable(tags, func(i, k int) bool { return tags[i].slug < tags[k].slug })
	for _, t := range tags {
		u.URLs = append(u.URLs, sitemapURL{Loc: pageURL(opt, tagsDir+"/"+t.slug+"/")})
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	e.Indent("", "  ")
	if err := e.Encode(u); err != nil {
		return nil, fmt.Errorf("sitemap: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

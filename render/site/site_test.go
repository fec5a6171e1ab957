package site

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
)

type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string   `xml:"title"`
	ID      string   `xml:"id"`
	Updated string   `xml:"updated"`
	Entries []struct {
		Title   string `xml:"title"`
		ID      string `xml:"id"`
		Updated string `xml:"updated"`
		Summary string `xml:"summary"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

type sitemapDoc struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []struct {
		Loc string `xml:"loc"`
	} `xml:"url"`
}

// parseFeed decodes an Atom feed and checks what RFC 4287 requires of it.
func parseFeed(t *testing.T, path string) atomDoc {
	t.Helper()
	var doc atomDoc
	if err := xml.Unmarshal([]byte(read(t, path)), &doc); err != nil {
		t.Fatalf("feed is not Atom: %v", err)
	}
	if doc.Title == "" || doc.ID == "" {
		t.Errorf("feed without title or id: %+v", doc)
	}
	if _, err := time.Parse(time.RFC3339, doc.Updated); err != nil {
		t.Errorf("feed updated %q: %v", doc.Updated, err)
	}
	ids := map[string]bool{}
	for _, e := range doc.Entries {
		if e.Title == "" || e.ID == "" || e.Link.Href == "" || ids[e.ID] {
			t.Errorf("bad entry %+v", e)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry updated %q: %v", e.Updated, err)
		}
	}
	return doc
}

func TestBuildExamples(t *testing.T) {
	dir, out := examples(t), t.TempDir()
	rep := build(t, dir, out)
	if len(rep.Failed) > 0 {
		t.Fatalf("failed: %v", rep.Failed[0].Err)
	}
	if got := counts(rep); got != [3]int{2, 0, 0} {
		t.Fatalf("first build: built, unchanged, removed = %v, want [2 0 0]", got)
	}
	if rep.SiteFiles == 0 {
		t.Errorf("first build wrote no site files")
	}
	index := read(t, filepath.Join(out, "index.html"))
	pages := []struct{ slug, title string }{
		{"unikernels-redis", "Redis on unikernels, revisited"},
		{"clsf-2014-day2", "CLSF 2014, day two"},
	}
	last := -1
	for _, p := range pages {
		i := strings.Index(index, `href="`+p.slug+`/index.html"`)
		if i < 0 {
			t.Errorf("index does not link %s/index.html", p.slug)
		}
		if i < last {
			t.Errorf("index not newest first: %s before its elder", p.slug)
		}
		last = i
		if !strings.Contains(index, p.title) {
			t.Errorf("index lacks %q", p.title)
		}
		for _, f := range []string{"index.html", "index.md"} {
			if !fileExists(filepath.Join(out, p.slug, f)) {
				t.Errorf("%s/%s missing", p.slug, f)
			}
		}
	}
	for _, want := range []string{`href="tags/redis/index.html"`, "1 November 2014", "China Linux Storage &amp; Filesystem"} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if plots, _ := filepath.Glob(filepath.Join(out, "unikernels-redis", "plot-*.svg")); len(plots) == 0 {
		t.Errorf("no plot beside the bench notebook's page")
	}
	if !strings.Contains(read(t, filepath.Join(out, "tags", "storage", "index.html")), `href="../../clsf-2014-day2/index.html"`) {
		t.Errorf("tag page does not link the page relatively")
	}
	feed := parseFeed(t, filepath.Join(out, "feed.xml"))
	if len(feed.Entries) != 2 || feed.Entries[0].Link.Href != "unikernels-redis/" {
		t.Errorf("feed entries: %+v", feed.Entries)
	}
	var sm sitemapDoc
	if err := xml.Unmarshal([]byte(read(t, filepath.Join(out, "sitemap.xml"))), &sm); err != nil {
		t.Fatalf("sitemap: %v", err)
	}
	if len(sm.URLs) < 3 {
		t.Errorf("sitemap has %d URLs", len(sm.URLs))
	}

	// Nothing changed: nothing rendered, no site file rewritten.
	before := mtime(t, filepath.Join(out, "unikernels-redis", "index.html"))
	rep = build(t, dir, out)
	if got := counts(rep); got != [3]int{0, 2, 0} || rep.SiteFiles != 0 {
		t.Fatalf("no-change build: built, unchanged, removed = %v, site files %d; want [0 2 0], 0", got, rep.SiteFiles)
	}

	// A new time stamp alone changes nothing either: pages follow content.
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "clsf-2014-day2.toml"), now, now); err != nil {
		t.Fatal(err)
	}
	if rep = build(t, dir, out); rep.Built != 0 {
		t.Errorf("touch without change re-rendered %d pages", rep.Built)
	}

	// One notebook edited: that page only.
	nbPath := filepath.Join(dir, "clsf-2014-day2.toml")
	nbtest.File(t, nbPath, read(t, nbPath)+"\n# edited\n")
	rep = build(t, dir, out)
	if got := counts(rep); got != [3]int{1, 1, 0} {
		t.Fatalf("one-edit build: built, unchanged, removed = %v, want [1 1 0]", got)
	}
	if !slices.Contains(rep.Changed, "clsf-2014-day2/") {
		t.Errorf("changed = %v", rep.Changed)
	}
	if rep.SiteFiles != 0 {
		t.Errorf("an edit that changes no title, date, summary or tag rewrote %d site files", rep.SiteFiles)
	}
	if after := mtime(t, filepath.Join(out, "unikernels-redis", "index.html")); !after.Equal(before) {
		t.Errorf("the other page was rewritten")
	}
}

func TestBaseURL(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", "2020-01-02", "x"))
	build(t, dir, out, func(o *Options) { o.BaseURL = "https://example.org/bench" })
	feed := parseFeed(t, filepath.Join(out, "feed.xml"))
	if feed.ID != "https://example.org/bench/" || feed.Entries[0].Link.Href != "https://example.org/bench/a/" {
		t.Errorf("feed not absolute: id %q, link %q", feed.ID, feed.Entries[0].Link.Href)
	}
	if sm := read(t, filepath.Join(out, "sitemap.xml")); !strings.Contains(sm, "<loc>https://example.org/bench/a/</loc>") {
		t.Errorf("sitemap not absolute:\n%s", sm)
	}
	if index := read(t, filepath.Join(out, "index.html")); !strings.Contains(index, `href="a/index.html"`) || strings.Contains(index, "example.org") {
		t.Errorf("index links are not relative")
	}
}

// The output must not depend on how many workers rendered it.
func TestDeterministicAcrossJobs(t *testing.T) {
	dir := t.TempDir()
	for i := range 24 {
		// Many pages share a date, so ties must be broken the same way.
		date := fmt.Sprintf("2020-01-%02d", 1+i%3)
		tags := []string{"t" + fmt.Sprint(i%4), "common", "Common"}
		nbtest.File(t, filepath.Join(dir, fmt.Sprintf("n%02d.toml", i)), nb(fmt.Sprintf("Title %d", i%5), date, tags...))
	}
	nbtest.File(t, filepath.Join(dir, "undated.toml"), nb("Undated", ""))
	one, many := t.TempDir(), t.TempDir()
	build(t, dir, one, func(o *Options) { o.Jobs = 1 })
	build(t, dir, many, func(o *Options) { o.Jobs = 8 })
	a, b := tree(t, one), tree(t, many)
	if len(a) != len(b) {
		t.Fatalf("-j 1 wrote %d files, -j 8 %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between -j 1 and -j 8", name)
		}
	}
	index := string(a["index.html"])
	if strings.Index(index, "undated/index.html") < strings.Index(index, "n00/index.html") {
		t.Errorf("undated page not last")
	}
	if strings.Count(string(a["tags/index.html"]), "common/index.html") != 1 {
		t.Errorf("tags that make one folder are not one tag")
	}
}

func tree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFailingNotebooks(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "good.toml"), nb("Good", "2020-01-01"))
	nbtest.File(t, filepath.Join(dir, "later.toml"), nb("Later", "2020-02-01"))
	rep := build(t, dir, out)
	if rep.Built != 2 {
		t.Fatalf("built %d", rep.Built)
	}

	// A syntax error in a new notebook, a validation error in another, and
	// a notebook that was fine and now is not.
	nbtest.File(t, filepath.Join(dir, "syntax.toml"), "title = \"S\"\n\n[[cells]\nkind = \"markdown\"\n")
	nbtest.File(t, filepath.Join(dir, "invalid.toml"), "title = \"I\"\nguets = 1\n[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n")
	nbtest.File(t, filepath.Join(dir, "later.toml"), "title = \"Later\"\ndate = 2020-02-01\n[[cells]]\nkind = \"markdown\"\ntext = \"[x](missing.png)\"\n")
	rep, err := Build(t.Context(), dir, Options{Out: out, Version: "test"})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	var msgs []string
	for _, f := range rep.Failed {
		for _, e := range notebook.Errors(f.Err) {
			msgs = append(msgs, e.Error())
		}
	}
	for _, want := range []string{
		filepath.Join(dir, "invalid.toml") + ":2:1: unknown key",
		filepath.Join(dir, "later.toml") + ":5:",
		filepath.Join(dir, "syntax.toml") + ":3:8: TOML syntax: expected ']]'",
	} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("no problem starting %q in:\n%s", want, strings.Join(msgs, "\n"))
		}
	}
	if got := counts(rep); got != [3]int{0, 1, 0} {
		t.Errorf("built, unchanged, removed = %v, want [0 1 0]", got)
	}
	// The last good page of a notebook that broke stays published.
	index := read(t, filepath.Join(out, "index.html"))
	if !strings.Contains(index, "later/index.html") || !fileExists(filepath.Join(out, "later", "index.html")) {
		t.Errorf("the broken notebook's last good page was taken down")
	}
	if strings.Contains(index, "syntax/") || strings.Contains(index, "invalid/") {
		t.Errorf("index lists a notebook that failed")
	}

	// Fixed: built and listed.
	nbtest.File(t, filepath.Join(dir, "syntax.toml"), nb("Syntax", "2021-01-01"))
	rep, _ = Build(t.Context(), dir, Options{Out: out, Version: "test"})
	if rep.Built != 1 || !strings.Contains(read(t, filepath.Join(out, "index.html")), "syntax/index.html") {
		t.Errorf("fixed notebook not built: %s", rep.Summary())
	}
}

func TestRemovedRenamedAndDrafts(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", "2020-01-01", "only-a"))
	nbtest.File(t, filepath.Join(dir, "b.toml"), nb("B", "2020-01-02"))
	nbtest.File(t, filepath.Join(dir, "d.toml"), "draft = true\n"+nb("D", "2020-01-03"))
	if rep := build(t, dir, out); counts(rep) != [3]int{2, 0, 0} || fileExists(filepath.Join(out, "d")) {
		t.Fatalf("draft published by default: %s", rep.Summary())
	}
	if rep := build(t, dir, out, func(o *Options) { o.Drafts = true }); counts(rep) != [3]int{1, 2, 0} || !fileExists(filepath.Join(out, "d", "index.html")) {
		t.Fatalf("--drafts: %s", rep.Summary())
	}
	if rep := build(t, dir, out); counts(rep) != [3]int{0, 2, 1} || fileExists(filepath.Join(out, "d")) {
		t.Fatalf("draft not taken down: %s", rep.Summary())
	}

	// A deleted notebook takes its page and its tag with it.
	if err := os.Remove(filepath.Join(dir, "a.toml")); err != nil {
		t.Fatal(err)
	}
	rep := build(t, dir, out)
	if counts(rep) != [3]int{0, 1, 1} || fileExists(filepath.Join(out, "a")) || fileExists(filepath.Join(out, "tags", "only-a")) {
		t.Fatalf("deleted notebook: %s, page there: %v", rep.Summary(), fileExists(filepath.Join(out, "a")))
	}
	if strings.Contains(read(t, filepath.Join(out, "index.html")), "a/index.html") {
		t.Errorf("index still lists the deleted notebook")
	}

	// A new slug moves the page.
	nbtest.File(t, filepath.Join(dir, "b.toml"), "slug = \"bee\"\n"+nb("B", "2020-01-02"))
	rep = build(t, dir, out)
	if counts(rep) != [3]int{1, 0, 1} || fileExists(filepath.Join(out, "b")) || !fileExists(filepath.Join(out, "bee", "index.html")) {
		t.Fatalf("slug change: %s", rep.Summary())
	}
}

func TestSlugConflicts(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), "slug = \"same\"\n"+nb("A", ""))
	nbtest.File(t, filepath.Join(dir, "b.toml"), "slug = \"same\"\n"+nb("B", ""))
	nbtest.File(t, filepath.Join(dir, "tags.toml"), nb("Tags", ""))
	rep, err := Build(t.Context(), dir, Options{Out: out, Version: "test"})
	if !errors.Is(err, ErrFailed) || len(rep.Failed) != 2 {
		t.Fatalf("err %v, failed %d", err, len(rep.Failed))
	}
	if msg := rep.Failed[0].Err.Error(); !strings.HasPrefix(msg, filepath.Join(dir, "b.toml")+":1:") || !strings.Contains(msg, "taken by a.toml") {
		t.Errorf("collision: %s", msg)
	}
	if msg := rep.Failed[1].Err.Error(); !strings.Contains(msg, "reserved") {
		t.Errorf("reserved slug: %s", msg)
	}
}

func TestResultsAndAssets(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "x.toml")
	nbtest.File(t, path, nb("X", "2020-01-01")+"\n[[cells]]\nkind = \"markdown\"\ntext = \"![diagram](img/d.svg)\"\n")
	nbtest.File(t, filepath.Join(dir, "img", "d.svg"), `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`)
	build(t, dir, out)
	if !fileExists(filepath.Join(out, "x", "img", "d.svg")) {
		t.Fatalf("asset not copied")
	}
	steps := []struct {
		name   string
		change func()
		built  int
	}{
		{"nothing", func() {}, 0},
		{"asset edited", func() {
			nbtest.File(t, filepath.Join(dir, "img", "d.svg"), `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"/>`)
		}, 1},
		{"guest log written", func() { nbtest.File(t, filepath.Join(dir, "x.results", "logs", "a.log"), "boot") }, 0},
		{"results written", func() { nbtest.File(t, filepath.Join(dir, "x.results", "cell.json"), "{}") }, 1},
		{"unrelated file", func() { nbtest.File(t, filepath.Join(dir, "img", "other.png"), "png") }, 0},
		{"link removed", func() { nbtest.File(t, path, nb("X", "2020-01-01")) }, 1},
	}
	for _, s := range steps {
		s.change()
		if rep := build(t, dir, out); rep.Built != s.built {
			t.Errorf("%s: built %d, want %d", s.name, rep.Built, s.built)
		}
	}
	if fileExists(filepath.Join(out, "x", "img")) {
		t.Errorf("an asset no longer linked stays in the page's folder")
	}
}

func TestEscaping(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	title := `<script>alert("t")</script> & co`
	nbtest.File(t, filepath.Join(dir, "x.toml"), nb(title, "2020-01-01", `<b>bold</b>`))
	build(t, dir, out)
	for _, f := range []string{"index.html", "tags/index.html"} {
		if page := read(t, filepath.Join(out, f)); strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>bold") {
			t.Errorf("%s: notebook values not escaped", f)
		}
	}
	feed := parseFeed(t, filepath.Join(out, "feed.xml"))
	if feed.Entries[0].Title != title || feed.Entries[0].Summary != "About &lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; co" {
		t.Errorf("feed entry: %q / %q", feed.Entries[0].Title, feed.Entries[0].Summary)
	}
}

// A manifest is a file in the output folder that anyone can edit: it must
// not make a build remove anything outside the output folder.
func TestManifestCannotEscape(t *testing.T) {
	root := t.TempDir()
	dir, out := filepath.Join(root, "nb"), filepath.Join(root, "out")
	victim := filepath.Join(root, "victim")
	nbtest.File(t, filepath.Join(victim, "keep"), "x")
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", ""))
	m := manifest{Version: manifestVersion, Format: HTML, Pages: map[string]*entry{
		"gone.toml": {Hash: "h", Page: Page{Slug: "gone"}, Outputs: []string{"../victim", "/tmp", ".", ""}},
	}, Site: siteState{Files: []string{"../victim/keep"}}}
	if err := m.save(out); err != nil {
		t.Fatal(err)
	}
	build(t, dir, out)
	if !fileExists(filepath.Join(victim, "keep")) {
		t.Fatalf("a build followed a manifest out of the output folder")
	}
}

func TestJekyll(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "x.toml"), nb("X", "2020-03-04")+"\n[[cells]]\nkind = \"markdown\"\ntext = \"![d](d.svg)\"\n")
	nbtest.File(t, filepath.Join(dir, "d.svg"), `<svg xmlns="http://www.w3.org/2000/svg"/>`)
	nbtest.File(t, filepath.Join(dir, "y.toml"), nb("Y", "2020-03-05"))
	nbtest.File(t, filepath.Join(dir, "undated.toml"), nb("U", ""))
	rep, err := Build(t.Context(), dir, Options{Out: out, Format: Jekyll, Version: "test"})
	if !errors.Is(err, ErrFailed) || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Err.Error(), "needs a date") {
		t.Fatalf("undated post: err %v", err)
	}
	post := read(t, filepath.Join(out, "_posts", "2020-03-04-x.md"))
	if !strings.HasPrefix(post, "---\ntitle: \"X\"\n") || !strings.Contains(post, "permalink: /x/\n---\n") || !strings.Contains(post, "](d.svg)") {
		t.Errorf("post:\n%s", post)
	}
	if !fileExists(filepath.Join(out, "x", "d.svg")) || fileExists(filepath.Join(out, "x", "index.md")) || fileExists(filepath.Join(out, "y")) {
		t.Errorf("assets: %v", tree(t, out))
	}
	if fileExists(filepath.Join(out, "index.html")) || fileExists(filepath.Join(out, "feed.xml")) {
		t.Errorf("jekyll export wrote site files")
	}
	// A draft goes to _drafts, where a date is not needed.
	nbtest.File(t, filepath.Join(dir, "undated.toml"), "draft = true\n"+nb("U", ""))
	if rep := build(t, dir, out, func(o *Options) { o.Format, o.Drafts = Jekyll, true }); len(rep.Failed) > 0 || !fileExists(filepath.Join(out, "_drafts", "undated.md")) {
		t.Errorf("jekyll draft: %s", rep.Summary())
	}
	// A new date renames the post.
	nbtest.File(t, filepath.Join(dir, "y.toml"), nb("Y", "2021-01-01"))
	build(t, dir, out, func(o *Options) { o.Format = Jekyll })
	if fileExists(filepath.Join(out, "_posts", "2020-03-05-y.md")) || !fileExists(filepath.Join(out, "_posts", "2021-01-01-y.md")) {
		t.Errorf("post not renamed: %v", tree(t, filepath.Join(out, "_posts")))
	}
}

func TestForce(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", "2020-01-01"))
	nbtest.File(t, filepath.Join(dir, "b.toml"), nb("B", "2020-01-02"))
	build(t, dir, out)
	if err := os.Remove(filepath.Join(dir, "b.toml")); err != nil {
		t.Fatal(err)
	}
	// --force renders everything and still knows what to remove.
	rep := build(t, dir, out, func(o *Options) { o.Force = true })
	if counts(rep) != [3]int{1, 0, 1} || fileExists(filepath.Join(out, "b")) {
		t.Errorf("force: %s", rep.Summary())
	}
}

// A rebuild trusts a recorded hash while the file's size, times and inode
// are the same, and only for files last changed well before the build that
// hashed them.
func TestStatCache(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "a.toml")
	nbtest.File(t, path, nb("Aaaa", "2020-01-01"))
	build(t, dir, out)
	m := loadManifest(out, HTML)
	if in := m.Pages["a.toml"].Inputs[0]; in.Name != "notebook" || in.Stat != "" {
		t.Fatalf("a file changed just now got a trusted stat: %+v", in)
	}

	// Pretend every file is old enough.
	defer func(s time.Duration) { statSlack = s }(statSlack)
	statSlack = -time.Hour
	build(t, dir, out, func(o *Options) { o.Force = true })
	m = loadManifest(out, HTML)
	if m.Pages["a.toml"].Inputs[0].Stat == "" {
		t.Fatalf("no stat recorded")
	}

	// Trusted: a recorded hash that no longer matches the bytes is believed
	// while the stat matches, so nothing is read and nothing rendered.
	e := m.Pages["a.toml"]
	e.Inputs[0].Sum = "0000"
	e.Hash = (&builder{opt: Options{Format: HTML, Version: "test"}, render: fingerprintCache{Fingerprint: renderFingerprint()}}).pageHash(e.Inputs)
	if err := m.save(out); err != nil {
		t.Fatal(err)
	}
	if rep := build(t, dir, out); rep.Built != 0 {
		t.Fatalf("stat cache not used: %s", rep.Summary())
	}

	// An edit of the same size changes the times: read, hashed, rendered.
	nbtest.File(t, path, nb("Bbbb", "2020-01-01"))
	if rep := build(t, dir, out); rep.Built != 1 || !strings.Contains(read(t, filepath.Join(out, "a", "index.html")), "Bbbb") {
		t.Fatalf("same-size edit missed: %s", rep.Summary())
	}
}

// A rebuild by the same executable, unchanged since the last build, takes
// the render fingerprint the manifest recorded instead of rendering the
// probe; another executable makes it again.
func TestFingerprintCache(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("Aaaa", "2020-01-01"))
	defer func(s time.Duration) { statSlack = s }(statSlack)
	statSlack = -time.Hour // the test binary counts as old enough
	build(t, dir, out)
	m := loadManifest(out, HTML)
	if m.Render.Exe == "" || m.Render.Fingerprint != renderFingerprint() {
		t.Fatalf("manifest records %+v, want this executable and %s", m.Render, renderFingerprint())
	}
	if rep := build(t, dir, out); rep.Built != 0 {
		t.Fatalf("rebuild with the fingerprint recorded: %s", rep.Summary())
	}

	// Trusted: a recorded fingerprint is believed for the same executable,
	// so the page's hash changes and it is rendered again.
	m.Render.Fingerprint = "recorded"
	if err := m.save(out); err != nil {
		t.Fatal(err)
	}
	if rep := build(t, dir, out); rep.Built != 1 || loadManifest(out, HTML).Render.Fingerprint != "recorded" {
		t.Fatalf("recorded fingerprint not used: %s", rep.Summary())
	}

	// Another executable (or this one, changed): made again.
	m = loadManifest(out, HTML)
	m.Render.Exe = "another"
	if err := m.save(out); err != nil {
		t.Fatal(err)
	}
	if rep := build(t, dir, out); rep.Built != 1 || loadManifest(out, HTML).Render.Fingerprint != renderFingerprint() {
		t.Fatalf("fingerprint of another executable reused: %s", rep.Summary())
	}
}

func TestCancelledBuildRecordsPages(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	for i := range 6 {
		nbtest.File(t, filepath.Join(dir, fmt.Sprintf("n%d.toml", i)), nb(fmt.Sprint("N", i), "2020-01-01"))
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err := Build(ctx, dir, Options{Out: out, Version: "test", Jobs: 1, Progress: func(done, total int) {
		if done == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := len(loadManifest(out, HTML).Pages); got != 2 {
		t.Errorf("manifest after a cancelled build has %d pages, want the 2 rendered", got)
	}
	if rep := build(t, dir, out); counts(rep) != [3]int{4, 2, 0} {
		t.Errorf("build after cancel: %s", rep.Summary())
	}
}

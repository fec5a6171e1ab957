package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/yuin/goldmark/text"
)

const goldenNotebook = "testdata/golden/notebook.toml"

func TestGolden(t *testing.T) {
	nb := nbtest.ParseFile(t, goldenNotebook)
	opt := Options{Version: "v0.0.0-test"}
	for _, tc := range []struct {
		file string
		got  string
	}{
		{"testdata/golden.html", renderHTML(t, nb, opt)},
		{"testdata/golden.md", renderMarkdown(t, nb, opt)},
		{"testdata/golden.fragment.html", renderHTML(t, nb, Options{Fragment: true})},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) { golden.Check(t, tc.file, []byte(tc.got)) })
	}
}

func TestHTMLFeatures(t *testing.T) {
	page := renderHTML(t, nbtest.ParseFile(t, goldenNotebook), Options{Version: "v1.2.3"})
	for _, want := range []string{
		`<h2 id="method">Method<a class="bb-anchor" href="#method" aria-label="Link to this section">#</a></h2>`,
		`<h2 id="method-1">`, // ids unique across cells
		`<div class="bb-cell bb-markdown" id="cell-method">`, // cell anchors do not collide with heading ids
		`<pre class="chroma"><code>`,                         // highlighted...
		`<span class="kd">func</span>`,                       // ...with classes
		`@media screen and (prefers-color-scheme: dark)`,
		`@media print`,
		`<table>`, `<del>struck</del>`, `&ldquo;smart quotes&rdquo;`,
		`<input checked="" disabled="" type="checkbox">`,
		`<a href="https://example.org/path">`, // autolink
		`<img src="img/pixel.png" alt="One pixel"`,
		`<sup id="fnref:3"><a href="#fn:3"`, // footnotes numbered across cells
		`<li id="fn:3">`,
		`<div class="bb-placeholder" role="note">`,
		"Benchmark <code>throughput</code></strong> (Requests per second): no stored results yet — run <code>benchbook run notebook.toml</code>.",
		"Made with benchbook v1.2.3",
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := strings.Count(page, `class="footnotes"`); n != 1 {
		t.Errorf("%d footnote sections, want one at the end of the page", n)
	}
	if regexp.MustCompile(`<pre[^>]* style=`).MatchString(page) || strings.Contains(page, `<span style=`) {
		t.Error("code is highlighted with inline styles; want CSS classes")
	}
}

func TestFragment(t *testing.T) {
	frag := renderHTML(t, nbtest.ParseFile(t, goldenNotebook), Options{Fragment: true})
	for _, banned := range []string{"<html", "<head>", "<style", "<body", "Made with"} {
		if strings.Contains(frag, banned) {
			t.Errorf("fragment contains %s", banned)
		}
	}
	if !strings.HasPrefix(frag, `<article class="bb-notebook">`) {
		t.Errorf("fragment starts with %.40q", frag)
	}
}

const xss = `<script>alert(1)</script>`

func xssNotebook(unsafe bool) string {
	return fmt.Sprintf(`
title       = "T %[1]s"
summary     = "S %[1]s"
authors     = ["A %[1]s"]
tags        = ["t%[1]s"]
unsafe_html = %[2]t

[guests.g]
kind    = "process"
command = ["true"]

[loads.l]
tool = "builtin"

[[cells]]
kind = "markdown"
text = """
Prose %[1]s and <img src=x onerror=alert(2)>.

<script>alert(3)</script>
"""

[[cells]]
kind   = "bench"
id     = "b"
title  = "B %[1]s"
description = "D %[1]s"
guests = ["g"]
load   = "l"

[[cells]]
kind    = "plot"
from    = "b"
title   = "P %[1]s"
caption = "C %[1]s"
`, xss, unsafe)
}

func TestXSS(t *testing.T) {
	nb := nbtest.Parse(t, xssNotebook(false), nil)
	page := renderHTML(t, nb, Options{})
	for _, bad := range []string{"<script", "<img src=x", "<SCRIPT"} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML contains %q unescaped:\n%s", bad, page)
		}
	}
	// Escaped, not dropped: the author sees what did not run.
	if !strings.Contains(page, "&lt;img src=x onerror=alert(2)&gt;") {
		t.Error("raw HTML in prose is not shown escaped")
	}
	md := renderMarkdown(t, nb, Options{})
	// Markdown escapes ("\<") and entities ("&lt;") are text; a bare "<" is not.
	body := strings.ReplaceAll(strings.SplitN(md, "---\n", 3)[2], `\<`, "")
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(body, bad) {
			t.Errorf("Markdown body contains %q unneutralised:\n%s", bad, body)
		}
	}
}

func TestUnsafeHTML(t *testing.T) {
	nb := nbtest.Parse(t, xssNotebook(true), nil)
	page := renderHTML(t, nb, Options{})
	// The prose keeps its raw HTML; values from the notebook's fields never do.
	if !strings.Contains(page, "<img src=x onerror=alert(2)>") || !strings.Contains(page, "<script>alert(3)</script>") {
		t.Errorf("unsafe_html = true, but raw HTML in prose was not kept:\n%s", page)
	}
	if n := strings.Count(page, "<script>"); n != 2 {
		t.Errorf("%d raw <script> tags, want only the two written in prose:\n%s", n, page)
	}
	md := renderMarkdown(t, nb, Options{})
	if !strings.Contains(md, "<script>alert(3)</script>") {
		t.Error("unsafe_html = true, but the Markdown output neutralised raw HTML")
	}
}

func TestDeterministic(t *testing.T) {
	nb := nbtest.ParseFile(t, goldenNotebook)
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, dir := range dirs {
		if err := Write(dir, nb, Options{Version: "v1"}); err != nil {
			t.Fatal(err)
		}
	}
	a, b := readTree(t, dirs[0]), readTree(t, dirs[1])
	if len(a) != 5 {
		t.Errorf("wrote %d files, want index.html, index.md, 2 assets and the record of what was written", len(a))
	}
	for name, content := range a {
		if b[name] != content {
			t.Errorf("%s differs between two renders", name)
		}
	}
	if renderHTML(t, nb, Options{}) != renderHTML(t, nbtest.ParseFile(t, goldenNotebook), Options{}) {
		t.Error("two HTML renders differ")
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestFrontMatter(t *testing.T) {
	title := "Redis: \"fast\" \\ 'quick' # not a comment\n- not a list <script>x</script> \u2028 end"
	nb := nbtest.Parse(t, fmt.Sprintf(`
title   = %s
date    = 2014-11-02T10:00:00+08:00
authors = ["Ada: the first", "yes"]
tags    = ["true", "1.5", "null"]
summary = "- [a]: {b}"
draft   = true
slug    = "my-post"

[[cells]]
kind = "markdown"
text = "Body."
`, strconv.Quote(title)), nil)
	md := renderMarkdown(t, nb, Options{})
	parts := strings.SplitN(md, "---\n", 3)
	if len(parts) != 3 || parts[0] != "" {
		t.Fatalf("no --- front matter --- at the start:\n%s", md)
	}
	if parts[2] != "\nBody.\n" {
		t.Errorf("body = %q, want the prose only (the title lives in the front matter)", parts[2])
	}
	// Every string is a double-quoted YAML scalar using only escapes that Go's
	// strconv.Unquote reads the same way, so unquoting must give the value back.
	got := map[string][]string{}
	var order []string
	key := ""
	for _, line := range strings.Split(strings.TrimSuffix(parts[1], "\n"), "\n") {
		if item, ok := strings.CutPrefix(line, "  - "); ok {
			got[key] = append(got[key], unquote(t, item))
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			k, ok = strings.CutSuffix(line, ":")
			if !ok {
				t.Fatalf("front matter line %q is neither key: value, key: nor a list item", line)
			}
		}
		key = k
		order = append(order, k)
		switch k {
		case "date", "draft":
			got[k] = []string{v}
		case "authors", "tags":
		default:
			got[k] = []string{unquote(t, v)}
		}
	}
	want := map[string][]string{
		"title":       {title},
		"date":        {"2014-11-02"},
		"authors":     {"Ada: the first", "yes"},
		"tags":        {"true", "1.5", "null"},
		"summary":     {"- [a]: {b}"},
		"description": {"- [a]: {b}"},
		"slug":        {"my-post"},
		"draft":       {"true"},
	}
	if fmt.Sprint(order) != "[title date authors tags summary description slug draft]" {
		t.Errorf("keys in order %v", order)
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if strings.Contains(parts[1], "\u2028") {
		t.Error("U+2028 (a YAML line break) written raw")
	}
}

func unquote(t *testing.T, s string) string {
	t.Helper()
	if !strings.HasPrefix(s, `"`) {
		t.Fatalf("value %s is not double-quoted", s)
	}
	v, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("unquote %s: %v", s, err)
	}
	return v
}

func TestFrontMatterMinimal(t *testing.T) {
	nb := nbtest.Parse(t, "title = \"Only a title\"\n[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n", nil)
	md := renderMarkdown(t, nb, Options{})
	want := "---\ntitle: \"Only a title\"\nslug: \"nb\"\ndraft: false\n---\n\nx\n"
	if md != want {
		t.Errorf("got\n%s\nwant\n%s", md, want)
	}
}

// In one Markdown document the first footnote label would win; labels that
// an earlier cell used are renamed, consistently in uses and definition.
func TestMarkdownFootnoteLabels(t *testing.T) {
	cell := "[[cells]]\nkind = \"markdown\"\ntext = \"\"\"\nSee[^1] and [^n].\n\n[^1]: %s one\n[^n]: %s n\n\"\"\"\n"
	src := "title = \"t\"\n" + fmt.Sprintf(cell, "a", "a") + fmt.Sprintf(cell, "b", "b") + fmt.Sprintf(cell, "c", "c")
	md := renderMarkdown(t, nbtest.Parse(t, src, nil), Options{})
	for _, want := range []string{
		"See[^1] and [^n].\n\n[^1]: a one\n[^n]: a n\n",
		"See[^1-2] and [^n-2].\n\n[^1-2]: b one\n[^n-2]: b n\n",
		"See[^1-3] and [^n-3].\n\n[^1-3]: c one\n[^n-3]: c n\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// Link reference definitions apply across cells, as in the Markdown output.
func TestReferencesAcrossCells(t *testing.T) {
	src := `title = "t"
[[cells]]
kind = "markdown"
text = "See [OSv] and ![fig][]."
[[cells]]
kind = "markdown"
text = """
[osv]: https://github.com/cloudius-systems/osv
[fig]: missing.png
"""
`
	nb := nbtest.Parse(t, src, nil)
	if page := renderHTML(t, nb, Options{}); !strings.Contains(page, `<a href="https://github.com/cloudius-systems/osv">OSv</a>`) {
		t.Error("a reference defined in a later cell is not resolved")
	}
	errs := Check(nb)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "nb.toml:4:23: image \"missing.png\"") {
		t.Errorf("Check = %v, want the missing image of the first cell at 4:23", errs)
	}
}

// A heading that slugs to a cell's anchor gets a suffix, not a duplicate id.
func TestHeadingIDsAvoidCellAnchors(t *testing.T) {
	src := "title = \"t\"\n[[cells]]\nkind = \"markdown\"\nid = \"intro\"\ntext = \"## Cell intro\"\n"
	page := renderHTML(t, nbtest.Parse(t, src, nil), Options{Fragment: true})
	if !strings.Contains(page, `id="cell-intro">`) || !strings.Contains(page, `<h2 id="cell-intro-1">`) {
		t.Errorf("ids collide:\n%s", page)
	}
}

// Pages are rendered in parallel by the site builder; shared state
// (goldmark instances, the stylesheet) must allow it. Run with -race.
func TestConcurrentRender(t *testing.T) {
	nb := nbtest.ParseFile(t, goldenNotebook)
	want := renderHTML(t, nb, Options{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var b bytes.Buffer
			err := HTML(&b, nb, Options{})
			if err == nil && b.String() != want {
				err = fmt.Errorf("concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestMayOpenTag checks the shortcut that skips parsing prose for raw HTML:
// wherever it says no, a full parse finds nothing to edit either.
func TestMayOpenTag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"plain prose", false},
		{"for i < n { i++ }", false},
		{"a <= b and c <- d, x<1", false},
		{"trailing <", false},
		{"<<", false},
		{"mail <1me@example.org>", false},
		{"<b>bold</b>", true},
		{"</p>", true},
		{"<!-- note -->", true},
		{"<?php ?>", true},
		{"<https://example.org>", true},
		{"if a < b { x := <Z }", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := mayOpenTag(tc.in); got != tc.want {
				t.Errorf("mayOpenTag(%q) = %v, want %v", tc.in, got, tc.want)
			}
			if tc.want {
				return
			}
			src := []byte(tc.in)
			if edits := rawHTMLEdits(plainParser().Parse(text.NewReader(src)), src); len(edits) > 0 {
				t.Errorf("mayOpenTag(%q) = false, but a parse finds %d edits: %+v", tc.in, len(edits), edits)
			}
		})
	}
}

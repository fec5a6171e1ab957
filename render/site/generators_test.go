package site

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// shortcodeProse is prose that Hugo and Jekyll would run as templates:
// Hugo's built-in youtube and gist shortcodes (an iframe, a third-party
// script), in text, in a code span and in a fenced block, and Liquid that
// reads the site's config or tries to end a raw block.
const shortcodeProse = "Video {{< youtube w7Ft2ymGmfc >}} and {{% gist spf13 7896402 %}}.\n\n" +
	"Code `{{< youtube abc >}}`, Liquid {{ site.title }} {% assign x = 1 %}.\n\n" +
	"```\n{{< gist a b >}}\n{% endraw %}{{ site.title }}\n```\n"

func templateNotebook(unsafe bool) string {
	s := "title = \"Shortcodes\"\ndate = 2020-01-01\n"
	if unsafe {
		s += "unsafe_html = true\n"
	}
	return s + "[[cells]]\nkind = \"markdown\"\ntext = '''\n" + shortcodeProse + "'''\n"
}

// The Hugo export, built by real Hugo: without unsafe_html a shortcode in
// prose shows as text, and no iframe or script reaches the page; with it,
// the shortcode runs (which shows the check would see it).
func TestHugoShowsShortcodesAsText(t *testing.T) {
	hugo, ctx := siteTool(t, "hugo", 60*time.Second)
	for _, unsafe := range []bool{false, true} {
		dir := t.TempDir()
		nbtest.File(t, filepath.Join(dir, "sc.toml"), templateNotebook(unsafe))
		siteDir := filepath.Join(t.TempDir(), "site")
		command(ctx, t, hugo, "new", "site", siteDir)
		nbtest.File(t, filepath.Join(siteDir, "layouts", "_default", "single.html"), "<html><body>{{ .Content }}</body></html>\n")
		nbtest.File(t, filepath.Join(siteDir, "layouts", "_default", "list.html"), "<html><body></body></html>\n")
		if rep := build(t, dir, filepath.Join(siteDir, "content", "posts"), func(o *Options) { o.Format = Hugo }); len(rep.Failed) > 0 {
			t.Fatal(rep.Failed[0].Err)
		}
		command(ctx, t, hugo, "--source", siteDir, "--quiet")
		page := read(t, filepath.Join(siteDir, "public", "posts", "sc", "index.html"))
		if unsafe {
			if !strings.Contains(page, "<iframe") {
				t.Errorf("unsafe_html = true: Hugo did not run the youtube shortcode:\n%s", page)
			}
			continue
		}
		for _, want := range []string{"Video {{&lt; youtube w7Ft2ymGmfc &gt;}} and {{% gist spf13 7896402 %}}.",
			"<code>{{&lt; youtube abc &gt;}}</code>", "<code>{{&lt; gist a b &gt;}}\n"} {
			if !strings.Contains(page, want) {
				t.Errorf("the Hugo page lacks %q:\n%s", want, page)
			}
		}
		for _, bad := range []string{"<iframe", "<script", "gist.github.com"} {
			if strings.Contains(page, bad) {
				t.Errorf("the Hugo page has %s:\n%s", bad, page)
			}
		}
	}
}

// The Jekyll export, built by real Jekyll: Liquid in prose shows as text,
// even one that tries to end the raw block early.
func TestJekyllShowsLiquidAsText(t *testing.T) {
	jekyll, ctx := siteTool(t, "jekyll", 120*time.Second)
	dir, siteDir := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "sc.toml"), templateNotebook(false))
	nbtest.File(t, filepath.Join(siteDir, "_config.yml"), "title: SECRET-SITE-TITLE\n")
	if rep := build(t, dir, siteDir, func(o *Options) { o.Format = Jekyll }); len(rep.Failed) > 0 {
		t.Fatal(rep.Failed[0].Err)
	}
	command(ctx, t, jekyll, "build", "--quiet", "--source", siteDir, "--destination", filepath.Join(siteDir, "_site"))
	page := read(t, filepath.Join(siteDir, "_site", "sc", "index.html"))
	for _, want := range []string{"Liquid {{ site.title }} {% assign x = 1 %}.", "{% endraw %}{{ site.title }}\n", "{{&lt; youtube w7Ft2ymGmfc &gt;}}"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Jekyll page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "SECRET-SITE-TITLE") {
		t.Errorf("Liquid ran in the Jekyll page:\n%s", page)
	}
}

package site

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// The Hugo export is built by real Hugo: a stock site (hugo new site) with
// the two layouts every Hugo site has, and the export as its content.
func TestHugoBuildsExport(t *testing.T) {
	hugo, ctx := siteTool(t, "hugo", 60*time.Second)

	dir := examples(t)
	siteDir := filepath.Join(t.TempDir(), "site")
	command(ctx, t, hugo, "new", "site", siteDir)
	nbtest.File(t, filepath.Join(siteDir, "layouts", "_default", "single.html"),
		"<!DOCTYPE html><html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>{{ .Content }}</body></html>\n")
	nbtest.File(t, filepath.Join(siteDir, "layouts", "_default", "list.html"),
		"<!DOCTYPE html><html><body><ul>{{ range .Pages }}<li><a href=\"{{ .RelPermalink }}\">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n")

	posts := filepath.Join(siteDir, "content", "posts")
	rep := build(t, dir, posts, func(o *Options) { o.Format = Hugo })
	if rep.Built != 2 || len(rep.Failed) > 0 {
		t.Fatalf("export: %s %v", rep.Summary(), rep.Failed)
	}
	if fileExists(filepath.Join(posts, "clsf-2014-day2", "index.html")) {
		t.Fatalf("a bundle holds index.html beside index.md")
	}

	// --buildFuture: the bench notebook may be dated today, which Hugo
	// calls the future until midnight in its own time zone.
	command(ctx, t, hugo, "--source", siteDir, "--buildFuture", "--quiet")
	public := filepath.Join(siteDir, "public", "posts")

	clsf := read(t, filepath.Join(public, "clsf-2014-day2", "index.html"))
	for _, want := range []string{"<h1>CLSF 2014, day two", `<h2 id="nfs-42-and-server-side-copy">NFS 4.2 and server-side copy</h2>`} {
		if !strings.Contains(clsf, want) {
			t.Errorf("hugo page lacks %s", want)
		}
	}
	redis := read(t, filepath.Join(public, "unikernels-redis", "index.html"))
	if !strings.Contains(redis, "<h2 id=\"results\">Results</h2>") {
		t.Errorf("hugo page lacks the Results heading")
	}
	imgs := regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(redis, -1)
	plots := 0
	for _, m := range imgs {
		if strings.Contains(m[1], "://") {
			continue
		}
		if !fileExists(filepath.Join(public, "unikernels-redis", filepath.FromSlash(m[1]))) {
			t.Errorf("hugo page shows %s, which Hugo did not publish", m[1])
		}
		if strings.HasPrefix(m[1], "plot-") {
			plots++
		}
	}
	if plots == 0 {
		t.Errorf("hugo page shows no plot image; images: %v", imgs)
	}
	if fileExists(filepath.Join(public, ManifestFile)) {
		t.Errorf("hugo published the build manifest")
	}
}

package site

import (
	"bytes"
	"context"
	"encoding/gob"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/render"
)

// What a manifest claims is benchbook's: the folders a build cut short was
// creating, and every output of a manifest of another version or format. A
// build may replace them and removes those it does not make again; it never
// takes them for someone else's.
func TestClaimedOutputs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, out string)
	}{
		{"claims of a build cut short", func(t *testing.T, out string) {
			m := &manifest{Format: HTML, Pages: map[string]*entry{}, Claimed: []string{"a", "gone"}}
			if err := m.save(out); err != nil {
				t.Fatal(err)
			}
		}},
		{"a manifest of an older version", func(t *testing.T, out string) {
			f := manifestFile{Version: 2, Format: HTML, Entries: []*entry{
				{Page: Page{Source: "a.toml", Slug: "a"}, Outputs: []string{"a"}},
				{Page: Page{Source: "gone.toml", Slug: "gone"}, Outputs: []string{"gone"}},
			}}
			var b bytes.Buffer
			if err := gob.NewEncoder(&b).Encode(&f); err != nil {
				t.Fatal(err)
			}
			nbtest.File(t, filepath.Join(out, ManifestFile), b.String())
		}},
		{"a manifest of another format", func(t *testing.T, out string) {
			m := &manifest{Format: Hugo, Pages: map[string]*entry{
				"a.toml":    {Page: Page{Slug: "a"}, Outputs: []string{"a"}},
				"gone.toml": {Page: Page{Slug: "gone"}, Outputs: []string{"gone"}},
			}}
			if err := m.save(out); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out := t.TempDir(), t.TempDir()
			nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", "2020-01-01"))
			nbtest.File(t, filepath.Join(out, "a", "half-written.html"), "x")
			nbtest.File(t, filepath.Join(out, "gone", "index.html"), "x")
			tc.write(t, out)
			rep := build(t, dir, out)
			if len(rep.Failed) > 0 || rep.Built != 1 {
				t.Fatalf("build: %s %v", rep.Summary(), rep.Failed)
			}
			if fileExists(filepath.Join(out, "a", "half-written.html")) || !fileExists(filepath.Join(out, "a", "index.html")) {
				t.Errorf("the claimed folder a was not replaced by its page")
			}
			if fileExists(filepath.Join(out, "gone")) {
				t.Errorf("the claimed folder gone, which no notebook makes, was kept")
			}
			if m := loadManifest(out, HTML); len(m.Claimed) != 0 || len(m.Pages) != 1 {
				t.Errorf("manifest after the build: %d claims, %d pages", len(m.Claimed), len(m.Pages))
			}
		})
	}
}

// Before it writes anything, a build records the folders it will create:
// a build killed while rendering leaves only claimed folders.
func TestClaimsBeforeWriting(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("A", "2020-01-01"))
	nbtest.File(t, filepath.Join(dir, "b.toml"), nb("B", "2020-01-02", "t"))
	var seen *manifest
	_, err := Build(context.Background(), dir, Options{Out: out, Version: "test", Jobs: 1, Progress: func(done, total int) {
		if done == 1 {
			seen = loadManifest(out, HTML)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := "a b favicon.ico feed.xml index.html sitemap.xml tags/index.html tags/t/index.html"
	if seen == nil || strings.Join(seen.Claimed, " ") != want {
		t.Errorf("while rendering, the manifest claims %v, want %s", seen.Claimed, want)
	}
}

// A page folder lists its files: one the user added stops a rebuild that
// would replace the folder, and a forced one replaces it.
func TestForeignFileInPageFolder(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	page := func(title string) string {
		return "title = \"" + title + "\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![x](img/x.svg)\"\n"
	}
	nbtest.File(t, filepath.Join(dir, "a.toml"), page("A"))
	nbtest.File(t, filepath.Join(dir, "img", "x.svg"), `<svg xmlns="http://www.w3.org/2000/svg"/>`)
	build(t, dir, out)
	nbtest.File(t, filepath.Join(out, "a", "img", "mine.txt"), "mine")
	nbtest.File(t, filepath.Join(dir, "a.toml"), page("A2"))
	_, err := Build(context.Background(), dir, Options{Out: out, Version: "test"})
	if !render.IsOverwrite(err) || !strings.Contains(err.Error(), filepath.Join(out, "a", "img", "mine.txt")) {
		t.Fatalf("err = %v, want the user's file named", err)
	}
	if _, err := Build(context.Background(), dir, Options{Out: out, Version: "test", ForceOverwrite: true}); err != nil {
		t.Fatal(err)
	}
	if fileExists(filepath.Join(out, "a", "img", "mine.txt")) {
		t.Errorf("a forced build kept the file")
	}
	if _, err := os.Stat(filepath.Join(out, "a", "index.html")); err != nil {
		t.Error(err)
	}
}

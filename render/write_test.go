package render

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
)

func TestWrite(t *testing.T) {
	nb := nbtest.ParseFile(t, goldenNotebook)
	out := filepath.Join(t.TempDir(), "site", "golden")
	if err := Write(out, nb, Options{}); err != nil {
		t.Fatal(err)
	}
	files := readTree(t, out)
	for _, name := range []string{"index.html", "index.md", "img/pixel.png", "data.csv"} {
		if _, ok := files[name]; !ok {
			t.Errorf("Write did not produce %s (got %d files)", name, len(files))
		}
	}
	src, err := os.ReadFile("testdata/golden/img/pixel.png")
	if err != nil {
		t.Fatal(err)
	}
	if files["img/pixel.png"] != string(src) {
		t.Error("the image was not copied byte for byte")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if atomicfile.IsTemp(e.Name()) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}

	// Unchanged pages are not rewritten, so incremental builds see no change.
	page := filepath.Join(out, "index.html")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(page, old, old); err != nil {
		t.Fatal(err)
	}
	if err := Write(out, nb, Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(page); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("an unchanged index.html was rewritten (%v)", err)
	}
}

func TestWriteRefusesMissingAssets(t *testing.T) {
	nb := nbtest.Parse(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![x](missing.png)\"\n", nil)
	out := filepath.Join(t.TempDir(), "out")
	err := Write(out, nb, Options{})
	var list notebook.ErrorList
	if !errors.As(err, &list) || len(list) != 1 || !strings.Contains(err.Error(), "nb.toml:4:9: image \"missing.png\"") {
		t.Fatalf("Write = %v, want the positioned missing-image error", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Write created %s despite the error", out)
	}
}

// Rendering into the notebook's own folder, or a folder holding it, is
// refused before anything is written.
func TestWriteRefusesNotebookFolder(t *testing.T) {
	nb := nbtest.Parse(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![x](img/a.png)\"\n",
		map[string]string{"img/a.png": "PNG"})
	dir := filepath.Dir(nb.Path)
	for _, out := range []string{dir, filepath.Dir(dir), filepath.Join(dir, "nb.results", "page")} {
		err := Write(out, nb, Options{})
		if err == nil || !strings.Contains(err.Error(), "output folder "+out+" ") {
			t.Errorf("Write(%s) = %v, want the folder refused", out, err)
		}
	}
	if exists(filepath.Join(dir, HTMLFile)) || exists(filepath.Join(dir, RenderManifest)) {
		t.Errorf("a refused render wrote into the notebook's folder")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "img", "a.png")); err != nil || string(b) != "PNG" {
		t.Errorf("asset after a refused render: %q, %v", b, err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Write replaces only what it wrote: a file of someone else's where the
// page would put one is refused (and nothing is written) unless
// ForceOverwrite; what the last render wrote and this one does not is
// removed; other files in the folder are left alone.
func TestWriteOwnsOnlyItsFiles(t *testing.T) {
	page := func(link string) string {
		return "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"[d](" + link + ")\"\n"
	}
	for _, tc := range []struct {
		name     string
		existing string // a file already in the output folder
		force    bool
		wantErr  string
	}{
		{name: "a hand-written index.html", existing: HTMLFile, wantErr: "index.html exists and benchbook did not write it"},
		{name: "a hand-written index.md", existing: MarkdownFile, wantErr: "index.md exists"},
		{name: "a file where an asset goes", existing: "data/a.csv", wantErr: "a.csv exists"},
		{name: "forced", existing: HTMLFile, force: true},
		{name: "an unrelated file", existing: "notes.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := nbtest.Parse(t, page("data/a.csv"), map[string]string{"data/a.csv": "1,2", "data/b.csv": "3,4"})
			out := filepath.Join(t.TempDir(), "out")
			mine := filepath.Join(out, filepath.FromSlash(tc.existing))
			if err := os.MkdirAll(filepath.Dir(mine), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(mine, []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Write(out, nb, Options{ForceOverwrite: tc.force})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--force-overwrite") {
					t.Fatalf("Write = %v, want %q", err, tc.wantErr)
				}
				if b, _ := os.ReadFile(mine); string(b) != "mine" {
					t.Errorf("%s was overwritten", tc.existing)
				}
				if exists(filepath.Join(out, RenderManifest)) {
					t.Errorf("a refused render recorded files")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(mine); !tc.force && string(b) != "mine" {
				t.Errorf("%s was touched", tc.existing)
			}
			// Rendering again replaces the page's own files; a link gone
			// takes its copy with it; the rest stays.
			nb2 := nbtest.Parse(t, page("data/b.csv"), map[string]string{"data/a.csv": "1,2", "data/b.csv": "3,4"})
			nb2.Path = nb.Path
			if err := Write(out, nb2, Options{}); err != nil {
				t.Fatalf("second render: %v", err)
			}
			if exists(filepath.Join(out, "data", "a.csv")) || !exists(filepath.Join(out, "data", "b.csv")) {
				t.Errorf("after the link changed: a.csv kept or b.csv missing")
			}
			if !tc.force && !exists(mine) {
				t.Errorf("%s was removed", tc.existing)
			}
		})
	}
}

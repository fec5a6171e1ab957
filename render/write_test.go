package render

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
)

func TestWrite(t *testing.T) {
	nb := parseFile(t, goldenNotebook)
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
	nb := parseSource(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![x](missing.png)\"\n", nil)
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

// Rendering into the notebook's own folder must not clobber its assets.
func TestWriteIntoNotebookFolder(t *testing.T) {
	nb := parseSource(t, "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![x](img/a.png)\"\n",
		map[string]string{"img/a.png": "PNG"})
	dir := filepath.Dir(nb.Path)
	if err := Write(dir, nb, Options{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "img", "a.png")); err != nil || string(b) != "PNG" {
		t.Errorf("asset after rendering in place: %q, %v", b, err)
	}
}

package site

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/htmlcheck"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// The site's own pages (index, tag pages) and its feed and sitemap show the
// titles, summaries, tags and authors of notebooks: all escaped, whatever
// they hold. Each notebook page itself is render's, tested there.
func TestSiteEscapesNotebookValues(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notebooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var markers []string
	n := 0
	probe := func() string {
		n++
		markers = append(markers, fmt.Sprintf("xss%d", n))
		return strconv.Quote(htmlcheck.Payload(n, n))
	}
	for i := range 2 {
		src := fmt.Sprintf("title = %s\nsummary = %s\ndate = 2026-11-0%d\nauthors = [%s]\ntags = [%s, %s]\n[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n",
			probe(), probe(), i+1, probe(), probe(), probe())
		nbtest.File(t, filepath.Join(dir, fmt.Sprintf("n%d.toml", i)), src)
	}
	out := filepath.Join(t.TempDir(), "public")
	if _, err := Build(context.Background(), dir, Options{Out: out, BaseURL: "https://example.org/b/", Title: htmlcheck.Payload(0, 0)}); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		var probs []string
		switch filepath.Ext(p) {
		case ".html":
			probs = htmlcheck.HTML(data)
		case ".xml":
			probs = wellFormed(data)
		default:
			return nil
		}
		if len(probs) > 0 {
			t.Errorf("%s: %s", rel, strings.Join(probs, "\n"))
		}
		for _, m := range append(markers, "xss0") {
			if strings.Contains(string(data), m+"<") {
				t.Errorf("%s: %s unescaped", rel, m)
			}
			if strings.Contains(string(data), m) {
				shown[m] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(markers, "xss0") {
		if !shown[m] {
			t.Errorf("no file of the site shows %s: the test no longer covers it", m)
		}
	}
}

func wellFormed(data []byte) []string {
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return []string{fmt.Sprintf("not well-formed XML: %v", err)}
		}
	}
}

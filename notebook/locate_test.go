package notebook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deepHeader is a notebook of about size bytes whose one table header is
// a single dotted key of size/2 parts: [k.k.k...k].
func deepHeader(size int) []byte {
	return []byte("title = \"t\"\n[" + strings.Repeat("k.", size/2) + "k]\nx = 1\n")
}

// BenchmarkLocateDeep shows that finding positions grows linearly with the
// depth of a dotted header: ns/op doubles from 50 KB to 100 KB to 200 KB.
func BenchmarkLocateDeep(b *testing.B) {
	for _, kb := range []int{50, 100, 200} {
		src := string(deepHeader(kb << 10))
		b.Run(fmt.Sprintf("%dKB", kb), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				locate(src)
			}
		})
	}
}

// A hostile notebook must not make check slow: a 200 KB one with one deep
// dotted header took over a minute when every prefix of the path was
// joined into a map key. The bound is far above what linear work takes
// (well under a second, most of it the TOML decoder's) and far below what
// quadratic work took.
func TestParseDeepIsFast(t *testing.T) {
	for _, src := range map[string][]byte{
		"header":        deepHeader(200 << 10),
		"dotted key":    []byte("title = \"t\"\n" + strings.Repeat("k.", 100<<10) + "k = 1\n"),
		"inline tables": []byte("title = \"t\"\nx = " + strings.Repeat("{k = ", 20<<10) + "1" + strings.Repeat("}", 20<<10) + "\n"),
	} {
		start := time.Now()
		Parse("x.toml", src)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("parsing a %d KB notebook with one deep path took %v", len(src)>>10, d)
		}
	}
}

// BenchmarkLocateNotebooks: the project's own notebooks, the common case.
func BenchmarkLocateNotebooks(b *testing.B) {
	paths, _ := filepath.Glob("../notebooks/*.toml")
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(p), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				locate(string(src))
			}
		})
	}
}

package render

import (
	"io"
	"os"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// BenchmarkRenderCLSF measures what rendering one prose notebook costs:
// parse, then HTML and Markdown.
func BenchmarkRenderCLSF(b *testing.B) {
	const path = "../notebooks/clsf-2014-day2.toml"
	src, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("%s not there: %v", path, err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		nb, err := notebook.Parse(path, src)
		if err != nil {
			b.Fatal(err)
		}
		if err := HTML(io.Discard, nb, Options{}); err != nil {
			b.Fatal(err)
		}
		if err := Markdown(io.Discard, nb, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

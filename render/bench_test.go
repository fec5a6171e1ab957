package render

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
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

// BenchmarkRenderUnikernels renders the unikernel report from its committed
// results: parse, read the results, draw its four plots as SVG and PNG, and
// write the HTML, the Markdown and the plot files.
func BenchmarkRenderUnikernels(b *testing.B) {
	const path = "../notebooks/unikernels-redis.toml"
	if _, err := os.Stat("../notebooks/unikernels-redis.results/throughput.json"); err != nil {
		b.Fatalf("the unikernel notebook's results are not committed: %v", err)
	}
	out := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		nb, err := notebook.ParseFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(out, nb, Options{Results: results.ForNotebook(path)}); err != nil {
			b.Fatal(err)
		}
	}
	plots, _ := filepath.Glob(filepath.Join(out, "plot-*.svg"))
	if len(plots) != 4 {
		b.Fatalf("%d plots drawn, want 4", len(plots))
	}
}

package render

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// memResults is a results store in memory: the files a test made by hand.
type memResults map[string]*results.File

func (m memResults) Load(cell string) (*results.File, error) {
	if f, ok := m[cell]; ok {
		return f, nil
	}
	return nil, fs.ErrNotExist
}

func (m memResults) LoadFailure(string) (*results.File, error) { return nil, fs.ErrNotExist }

// storedRun is a results file of bench cell id as the runner writes it:
// the metrics the cell declares, and per guest the repeats' figures.
func storedRun(nb *notebook.Notebook, id string, figures map[string][]map[string]float64) *results.File {
	c := nb.Bench(id)
	ms, _ := nb.CellMetrics(c)
	started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f := &results.File{
		Notebook: "nb.toml", Cell: id, InputHash: nb.InputHash(c, nil), Started: started, Finished: started.Add(time.Minute),
		Env:     results.Env{CPUModel: "AMD EPYC", Cores: 2, MemoryBytes: 8 << 30, Kernel: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64", GoVersion: "go1.26", Benchbook: "test", Virtualization: "kvm"},
		Metrics: results.Declare(ms),
	}
	for _, g := range c.Guests {
		var p results.Point
		for i, m := range figures[g] {
			p.Repeats = append(p.Repeats, results.Repeat{Index: i, Started: started.Add(time.Duration(i) * time.Second), Seconds: 2, Metrics: m})
		}
		f.Guests = append(f.Guests, results.Guest{Name: g, Kind: "process", Status: results.StatusOK, Points: []results.Point{p}})
	}
	f.Summarize()
	return f
}

var fioNotebook = `title = "xfs or ext4 under random writes"
` + redisProcesses("xfs", "ext4") + `[loads.w]
tool = "fio"
rw = "randwrite"
bs = "4k"
iodepth = 32
` + nbtest.BenchCell("fs", "w", 3, "xfs", "ext4") + `[[cells]]
kind = "plot"
from = "fs"
y = "write_bw"
[[cells]]
kind = "plot"
from = "fs"
y = "write_clat_p99"
[[cells]]
kind = "table"
from = "fs"
metrics = ["write_iops", "write_bw", "write_clat_p99"]
baseline = "ext4"
[[cells]]
kind = "check"
from = "fs"
claims = ["xfs.write_clat_p99 < ext4.write_clat_p99", "xfs.write_bw > ext4.write_bw"]
[[cells]]
kind = "markdown"
text = """
xfs wrote {{ value "fs" "xfs" "write_bw" }} against {{ value "fs" "ext4" "write_bw" }};
its p99 latency, {{ value "fs" "xfs" "write_clat_p99" }}, is
{{ versus "fs" "xfs" "ext4" "write_clat_p99" }} than ext4's
({{ ratio "fs" "xfs" "ext4" "write_clat_p99" }} of it), and its
bandwidth {{ versus "fs" "xfs" "ext4" "write_bw" }}.
"""
`

// fioRun: xfs writes 2.1 times the bytes at under half the p99 latency.
func fioRun(nb *notebook.Notebook) *results.File {
	rep := func(iops, clat float64) map[string]float64 {
		return map[string]float64{"iops": iops, "write_iops": iops, "write_bw": iops * 4096, "write_clat_p99": clat, "boot_ms": 12}
	}
	return storedRun(nb, "fs", map[string][]map[string]float64{
		"xfs":  {rep(41000, 6200), rep(42500, 5900), rep(40800, 6400)},
		"ext4": {rep(19600, 13100), rep(20100, 12800), rep(19900, 13500)},
	})
}

// A results file of fio figures renders with fio's units: bandwidth in
// MB/s (axis, table, prose), latency in µs or ms as it is large, ratios
// and claims the right way round where lower is better.
func TestRenderFioMetrics(t *testing.T) {
	nb := nbtest.Parse(t, fioNotebook, nil)
	f := fioRun(nb)
	opt := Options{Results: memResults{"fs": f}, Version: "test"}
	md := renderMarkdown(t, nb, opt)
	golden.Check(t, filepath.Join("testdata", "metrics", "fio.md"), []byte(md))
	rep := newReport(nb, opt)
	for _, c := range nb.Cells {
		if c.Kind == notebook.KindPlot {
			fig := rep.figure(c)
			if fig == nil || fig.Err != "" {
				t.Fatalf("plot %d: %+v", c.Index, fig)
			}
			golden.Check(t, filepath.Join("testdata", "metrics", "fio-"+c.Y+".svg"), fig.SVG)
		}
	}
	for _, want := range []string{
		"Bytes written per second (MB/s)", // the axis in MB/s
		"xfs 168 MB/s",                    // the bars in it
		"99th percentile of completion latency of writes (ms): xfs 6.2 ms", // an axis past 10,000 µs is in ms
		// a column is in the unit of its largest figure, as an axis is
		"| Writes per second (IO/s) | Bytes written per second (MB/s) | 99th percentile of completion latency of writes (ms) |",
		"168 MB/s ± 6.14 (2.06× ext4)",  // the spread in the figure's unit
		"6\\.20 ms ± 0.30 (0.47× ext4)", // the ratio of the figures, lower is better or not
		"13\\.1 ms ± 0.40 |",
		"xfs wrote 168 MB/s against 81.5 MB/s",
		"its p99 latency, 6,200 µs, is\n2.11× better than ext4's\n(0.47× of it)", // lower latency is better
		"bandwidth 2.06× better",
		"✅ **pass** `xfs.write_clat_p99 < ext4.write_clat_p99` (6200 vs 13100)", // a lower-is-better claim judged by its operator
		"fio, rw=randwrite, bs=4k, iodepth=32",                                  // the appendix's load
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

var commandNotebook = `title = "gzip against zstd"
[params]
tool = "gzip"
` + redisProcesses("gzip", "zstd") + `[loads.z]
tool = "command"
command = ["sh", "-c", "{tool} -c big.txt | wc -c"]
runs = 5
metrics = { compressed_bytes = { regex = "([0-9]+)", unit = "bytes", better = "lower", doc = "size of the compressed file" }, score = { json = "/score" } }
` + nbtest.BenchCell("zip", "z", 3, "gzip", "zstd") + `[[cells]]
kind = "plot"
from = "zip"
y = "max_rss_bytes"
[[cells]]
kind = "table"
from = "zip"
metrics = ["wall_ms", "max_rss_bytes", "compressed_bytes", "score"]
baseline = "gzip"
[[cells]]
kind = "markdown"
text = """
zstd took {{ value "zip" "zstd" "wall_ms" }}, {{ versus "zip" "zstd" "gzip" "wall_ms" }}
than gzip, for a file {{ versus "zip" "zstd" "gzip" "compressed_bytes" }}; score
{{ versus "zip" "zstd" "gzip" "score" }}.
"""
`

// A command's figures render with its own units, its user metrics with
// theirs (or none), and time and memory with prefixes.
func TestRenderCommandMetrics(t *testing.T) {
	nb := nbtest.Parse(t, commandNotebook, nil)
	rep := func(wall, rss, size float64) map[string]float64 {
		return map[string]float64{"wall_ms": wall, "user_ms": wall * 0.9, "sys_ms": 3, "max_rss_bytes": rss, "compressed_bytes": size, "score": 7, "boot_ms": 11}
	}
	f := storedRun(nb, "zip", map[string][]map[string]float64{
		"gzip": {rep(12400, 2.1e6, 3.4e6), rep(12100, 2.1e6, 3.4e6), rep(12600, 2.2e6, 3.4e6)},
		"zstd": {rep(1450, 21.5e6, 3.1e6), rep(1480, 21.9e6, 3.1e6), rep(1430, 21.6e6, 3.1e6)},
	})
	opt := Options{Results: memResults{"zip": f}, Version: "test"}
	md := renderMarkdown(t, nb, opt)
	golden.Check(t, filepath.Join("testdata", "metrics", "command.md"), []byte(md))
	for _, want := range []string{
		"Peak resident memory of the command (MB)", // bytes on the axis in MB
		"| Wall-clock time from the command's start to its exit (s) | Peak resident memory of the command (MB) | Size of the compressed file (kB) | score |",
		"| gzip | 12\\.4 s ± 0.30 | 2\\.10 MB ± 0.10 | 3,400 kB ± 0 | 7\\.00 ± 0 | 3 |", // 12,400 ms reads as seconds, its spread too
		"| zstd | 1\\.45 s ± 0.03 (0.12× gzip) | 21\\.6 MB ± 0.30 (10× gzip) |",
		"7\\.00 ± 0 (1.00× gzip)",                     // a metric without unit or direction
		"zstd took 1,450 ms, 8.55× better\nthan gzip", // lower is better for time
		"a file 1.10× better",                         // and for size, as the notebook declared
		"score\n1.00×.",                               // no direction: the plain ratio
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// A results file from before metrics were declared renders exactly as one
// that declares the redis tools' metrics: same labels, same units.
func TestRenderOldResultsFile(t *testing.T) {
	rnb, _ := withResults(t, resultsNotebook)
	old := fixture(rnb)
	declared := fixture(rnb)
	ms, _ := rnb.CellMetrics(rnb.Bench("throughput"))
	declared.Metrics = results.Declare(ms)
	if len(declared.Metrics) < 30 {
		t.Fatalf("%d declarations, want the builtin tool's and boot_ms", len(declared.Metrics))
	}
	var a, b bytes.Buffer
	for buf, f := range map[*bytes.Buffer]*results.File{&a: old, &b: declared} {
		if err := HTML(buf, rnb, Options{Results: memResults{"throughput": f}}); err != nil {
			t.Fatal(err)
		}
	}
	if a.String() != b.String() {
		t.Errorf("an old results file renders otherwise than one with declarations")
	}
	if !strings.Contains(a.String(), "p99 latency (µs)") {
		t.Errorf("the old file's table lost its units")
	}
}

func TestFormatVersus(t *testing.T) {
	higher := results.Metric{Unit: "ops/s", Better: notebook.BetterHigher}
	lower := results.Metric{Unit: "µs", Better: notebook.BetterLower}
	none := results.Metric{}
	tests := []struct {
		m       results.Metric
		v, base float64
		want    string
	}{
		{higher, 2100, 1000, "2.10× better"},
		{higher, 400, 1000, "2.50× worse"},
		{lower, 400, 1000, "2.50× better"},
		{lower, 2100, 1000, "2.10× worse"},
		{lower, 1000, 1001, "the same"},
		{higher, 50000, 1000, "50× better"},
		{none, 400, 1000, "0.40×"},
		{lower, 0, 1000, "n/a"},
		{higher, 5, 0, "n/a"},
		{higher, -5, 10, "n/a"},
	}
	for _, tt := range tests {
		if got := formatVersus(tt.m, tt.v, tt.base); got != tt.want {
			t.Errorf("formatVersus(%s, %g, %g) = %q, want %q", tt.m.Better, tt.v, tt.base, got, tt.want)
		}
	}
}

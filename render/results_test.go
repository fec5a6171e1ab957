package render

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

var resultsNotebook = `title = "Redis on unikernels"
[params]
clients = 10
` + redisProcesses("host") + `[guests.osv]
kind = "qemu"
flavor = "osv"
disk = "osv.img"
optional = true
[guests.rumprun]
kind = "qemu"
flavor = "rumprun"
kernel = "r.bin"
optional = true
[guests.linux]
kind = "qemu"
image = "builtin:linux-redis"
optional = true
[loads.mt]
clients = "{clients}"
requests = 2000
[[cells]]
kind = "markdown"
text = """
OSv reached {{ ratio "throughput" "osv" "host" "ops_per_sec" }} of the host's
{{ value "throughput" "host" "ops_per_sec" }}; write ` + "`{{ value ... }}`" + ` to quote.
"""
` + nbtest.BenchCell("throughput", "mt", 5, "host", "osv", "rumprun", "linux") + `[[cells]]
kind = "plot"
from = "throughput"
y = "ops_per_sec"
title = "Requests per second"
[[cells]]
kind = "plot"
from = "throughput"
style = "percentiles"
[[cells]]
kind = "check"
from = "throughput"
claims = ["host.ops_per_sec > osv.ops_per_sec", "osv.ops_per_sec > host.ops_per_sec", "rumprun.ops_per_sec > 1"]
[[cells]]
kind = "table"
from = "throughput"
baseline = "host"
metrics = ["ops_per_sec", "latency_p99"]
`

// fixture is a stored run: host and osv measured (osv under TCG, noisy),
// rumprun failed, linux skipped.
func fixture(nb *notebook.Notebook) *results.File {
	started := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	guest := func(name string, ops []float64, accel string) results.Guest {
		g := results.Guest{Name: name, Kind: "process", Status: results.StatusOK, Facts: map[string]string{"redis_version": "7.0.15"},
			Commands: []string{"redis-server --port 40000", "benchbook-builtin --clients=10"}}
		if accel != "" {
			g.Kind, g.Facts["accel"] = "qemu", accel
		}
		var p results.Point
		for i, x := range ops {
			p.Repeats = append(p.Repeats, results.Repeat{
				Index: i, Started: started.Add(time.Duration(i) * time.Second), Seconds: 1,
				Metrics:     map[string]float64{"ops_per_sec": x, "latency_p99": 1e9 / x / 50, "latency_avg": 1e9 / x / 200},
				Percentiles: []results.Percentile{{P: 50, LatencyUs: 1e8 / x}, {P: 90, LatencyUs: 2e8 / x}, {P: 99, LatencyUs: 5e8 / x}, {P: 99.9, LatencyUs: 9e8 / x}, {P: 100, LatencyUs: 2e9 / x}},
			})
		}
		g.Points = []results.Point{p}
		return g
	}
	f := &results.File{
		Notebook: "nb.toml", Cell: "throughput", InputHash: nb.InputHash(nb.Bench("throughput"), nil),
		Started: started, Finished: started.Add(time.Minute),
		Env:    results.Env{CPUModel: "AMD EPYC", Cores: 2, MemoryBytes: 24 << 30, Kernel: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64", GoVersion: "go1.26.8", Benchbook: "test", Virtualization: "kvm", Tools: map[string]string{"builtin": "1"}},
		Params: map[string]any{"clients": int64(10)},
		Guests: []results.Guest{
			guest("host", []float64{60000, 61000, 62000, 59000, 60500}, ""),
			guest("osv", []float64{30000, 36000, 33000, 31000, 35000}, "tcg"),
			{Name: "rumprun", Kind: "qemu", Status: results.StatusFailed, Reason: "guest rumprun: guest not ready: no PONG within 2m0s", Points: []results.Point{{}}},
			{Name: "linux", Kind: "qemu", Status: results.StatusSkipped, Reason: "image missing: see docs/guests/linux.md", Points: []results.Point{{}}},
		},
	}
	f.Summarize()
	return f
}

// withResults writes the notebook and a stored run into a fresh folder.
func withResults(t *testing.T, src string) (*notebook.Notebook, results.Store) {
	t.Helper()
	nb := nbtest.Write(t, t.TempDir(), src)
	store := results.ForNotebook(nb.Path)
	if err := store.Save(fixture(nb)); err != nil {
		t.Fatal(err)
	}
	return nb, store
}

func TestRenderWithResults(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	out := writeOut(t, nb, Options{Results: store, Version: "test"})
	page := readOut(t, out, "index.html")
	md := readOut(t, out, "index.md")

	// Both plots are written as SVG (drawn inline in the page, where its
	// titles are tooltips, and linked) and PNG (for the Markdown).
	for _, name := range []string{"plot-throughput-3", "plot-throughput-4"} {
		svg := readOut(t, out, name+".svg")
		inline := strings.TrimSpace(svg[strings.Index(svg, "<svg"):])
		if !strings.Contains(page, `<div class="bb-plot">`+inline+`</div>`) {
			t.Errorf("page does not draw %s.svg inline", name)
		}
		if !strings.Contains(page, `href="`+name+`.svg"`) {
			t.Errorf("page does not link %s.svg", name)
		}
		if !strings.Contains(md, "]("+name+".png)") {
			t.Errorf("markdown does not show %s.png", name)
		}
		f, err := os.Open(filepath.Join(out, name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || img.Width < 600 {
			t.Errorf("%s.png: %v %+v", name, err, img)
		}
		if svg := readOut(t, out, name+".svg"); !strings.Contains(svg, "<svg") || !strings.Contains(svg, "host") || !strings.Contains(svg, "osv") {
			t.Errorf("%s.svg lacks its series", name)
		}
	}
	for name, out := range map[string]string{"html": page, "markdown": md} {
		for _, want := range []string{
			"0.55× host",      // the table's ratio of medians: 33000/60500
			"rumprun failed",  // a failed guest in the caption...
			"guest not ready", // ...with its reason
			"linux skipped",   // a skipped guest too
			"image missing",   //
			accelNote,         // figures from an emulated guest say so
			"Reproducibility", // the appendix
			"AMD EPYC",        // the machine
			"sha256:",         // the input hash
			"benchbook run --only throughput nb.toml",
			"fresh",
			"OSv reached 0.55× of the host", // inline values
			"\n60,500 ops/s;",
			"{{ value ... }}", // a reference shown as code stays
			"95 % interval of the median",
			"host.ops_per_sec", // claims with their verdicts
			"60500 vs 33000",
			"rumprun failed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	if !strings.Contains(page, "bb-row-failed") || !strings.Contains(page, "bb-row-skipped") {
		t.Error("the table hides failed or skipped guests")
	}
	for _, badge := range []string{`bb-claim-pass"><span class="bb-badge">pass</span>`, `bb-claim-fail"><span class="bb-badge">fail</span>`, `bb-claim-unknown"><span class="bb-badge">unknown</span>`} {
		if !strings.Contains(page, badge) {
			t.Errorf("page lacks the badge %s", badge)
		}
	}
	if !strings.Contains(page, "noisy") {
		t.Error("osv's 7% spread has no variance warning")
	}
}

// writeOut writes nb's page into a fresh folder and returns the folder.
func writeOut(t *testing.T, nb *notebook.Notebook, opt Options) string {
	t.Helper()
	out := t.TempDir()
	if err := Write(out, nb, opt); err != nil {
		t.Fatal(err)
	}
	return out
}

func readOut(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Same notebook, same results: same bytes, plots included.
func TestRenderWithResultsDeterministic(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := Write(dir, nb, Options{Results: store}); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(a)
	if len(entries) != 11 {
		t.Errorf("%d files, want index.html, index.md, 2 plots × 2 formats, the plots' and the table's CSV, the results JSON and the record of what was written", len(entries))
	}
	for _, e := range entries {
		if !bytes.Equal([]byte(readOut(t, a, e.Name())), []byte(readOut(t, b, e.Name()))) {
			t.Errorf("%s differs between two renders", e.Name())
		}
	}
}

// A stale result is shown, and said to be stale; a failed newest run is
// shown next to the last good one.
func TestRenderStaleAndFailed(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	failed := fixture(nb)
	failed.Started = failed.Started.Add(time.Hour)
	failed.Failure = "guest host, repeat 1: connection reset by peer"
	if err := store.SaveFailure(failed); err != nil {
		t.Fatal(err)
	}
	if err := nb.Override([]string{"clients=20"}); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := HTML(&page, nb, Options{Results: store}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"results stale", "params it uses changed", "the newest run (2026-11-27 06:00 UTC) failed: guest host, repeat 1: connection reset by peer", "figures shown are from the last good run"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// Without good results but with a failure, cells say why instead of asking
// to run a benchmark that did run.
func TestRenderOnlyFailure(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	failed := fixture(nb)
	failed.Failure = "guest host: redis-server not found on PATH"
	os.Remove(store.Path("throughput"))
	if err := store.SaveFailure(failed); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := Markdown(&md, nb, Options{Results: store}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "redis-server not found on PATH") {
		t.Errorf("markdown hides the failure:\n%s", md.String())
	}
}

func TestCheckInlineReferences(t *testing.T) {
	src := strings.Replace(resultsNotebook, `of the host's`, `of the host's {{ value "thruput" "host" "ops_per_sec" }}
and {{ value "throughput" "vm" "ops_per_sec" }} and {{ value "throughput" "host" "ops" }} and {{ ratio "throughput" "host" }}`, 1)
	dir := t.TempDir()
	nb := nbtest.Write(t, dir, src)
	errs := Check(nb)
	want := []string{
		`nb.toml:27:79: value: "thruput" names no bench cell (bench cells: throughput)`,
		`nb.toml:28:5: value: guest "vm" is not run by bench cell throughput`,
		`nb.toml:28:53: value: unknown metric "ops"`,
		`nb.toml:28:95: ratio takes 4 quoted arguments`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if got := errs[i].Error(); !strings.HasPrefix(got, filepath.Join(dir, w)) && !strings.Contains(got, w) {
			t.Errorf("error %d: %s\nwant %s", i, got, w)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		metric string
		v      float64
		want   string
	}{
		{"ops_per_sec", 61234.4, "61,234 ops/s"},
		{"latency_p99", 420.4, "420 µs"},
		{"latency_p99", 12500, "12.5 ms"},
		{"latency_avg", 8.25, "8.25 µs"},
		{"hits", 0, "0"},
		{"boot_ms", 571, "571 ms"},
	}
	for _, tt := range tests {
		if got := formatValue((&results.File{}).Metric(tt.metric), tt.v); got != tt.want {
			t.Errorf("formatValue(%s, %v) = %q, want %q", tt.metric, tt.v, got, tt.want)
		}
	}
	if got := formatRatio(33000, 60500); got != "0.55×" {
		t.Errorf("ratio %s", got)
	}
	_ = fmt.Sprint()
}

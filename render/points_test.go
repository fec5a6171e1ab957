package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

var pointsNotebook = `title = "points"
[params]
net = "tap"
clients = 1
` + redisProcesses("linux") + `[loads.l]
clients = "{clients}"
[[cells]]
kind = "markdown"
text = """
tap: {{ value "path" "linux" "ops_per_sec" "tap clients=1" }};
loopback: {{ value "path" "linux" "ops_per_sec" "net=loopback, clients=4" }}.
"""
` + nbtest.BenchCell("path", "l", 0, "linux") + `sweep = { net = ["tap", "loopback"], clients = [1, 4] }
[[cells]]
kind = "check"
from = "path"
claims = ["linux[tap].ops_per_sec < 0.8 * linux[loopback].ops_per_sec"]
[[cells]]
kind = "check"
from = "path"
mode = "test"
claims = ["linux[tap].ops_per_sec > linux[loopback].ops_per_sec", "linux[tap].ops_per_sec < linux[loopback].ops_per_sec"]
`

// pointsFile is linux measured at the four points of path.
func pointsFile(nb *notebook.Notebook) *results.File {
	pt := func(net string, clients int64, ops ...float64) results.Point {
		p := results.Point{Params: map[string]any{"net": net, "clients": clients}}
		for i, x := range ops {
			p.Repeats = append(p.Repeats, results.Repeat{Index: i, Metrics: map[string]float64{"ops_per_sec": x}})
		}
		return p
	}
	f := &results.File{Notebook: "nb.toml", Cell: "path", InputHash: nb.InputHash(nb.Bench("path"), nil),
		Guests: []results.Guest{{Name: "linux", Kind: "process", Status: results.StatusOK, Points: []results.Point{
			pt("tap", 1, 50, 51, 49), pt("tap", 4, 60, 61, 59),
			pt("loopback", 1, 100, 101, 99), pt("loopback", 4, 120, 121, 119),
		}}}}
	f.Summarize()
	return f
}

// renderPoints renders the notebook src with pointsFile's results and
// returns the output folder.
func renderPoints(t *testing.T, src string) string {
	t.Helper()
	nb := nbtest.Write(t, t.TempDir(), src)
	if errs := Check(nb); len(errs) > 0 {
		t.Fatal(errs)
	}
	store := results.ForNotebook(nb.Path)
	if err := store.Save(pointsFile(nb)); err != nil {
		t.Fatal(err)
	}
	out := writeOut(t, nb, Options{Results: store, Version: "test"})
	return out
}

// Inline values and claims name sweep points by values, bare or param=value.
func TestSweepPointsRender(t *testing.T) {
	out := renderPoints(t, pointsNotebook)
	md := readOut(t, out, "index.md")
	for _, want := range []string{"tap: 50.0 ops/s;", "loopback: 120 ops/s.", "**pass** `linux[tap].ops_per_sec < 0.8 * linux[loopback].ops_per_sec`",
		"— 2 claims under test: 1 supported, 1 not supported",
		"- ✖️ **not supported** `linux[tap].ops_per_sec > linux[loopback].ops_per_sec` (50 vs 100 at clients=1)",
		"- ☑️ **supported** `linux[tap].ops_per_sec < linux[loopback].ops_per_sec`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	page := readOut(t, out, "index.html")
	for _, want := range []string{`<div class="bb-checks bb-checks-test">`, `<li class="bb-claim bb-claim-unsupported"><span class="bb-badge">not supported</span>`,
		`<li class="bb-claim bb-claim-supported"><span class="bb-badge">supported</span>`, `<li class="bb-claim bb-claim-pass"><span class="bb-badge">pass</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestSweepPointsCheck(t *testing.T) {
	src := strings.Replace(pointsNotebook, `"net=loopback, clients=4" }}.`, `"net=loopback, clients=4" }}.
{{ value "path" "linux" "ops_per_sec" "tap" }} {{ value "path" "linux" "ops_per_sec" "lopback clients=1" }}`, 1)
	nb := nbtest.Write(t, t.TempDir(), src)
	errs := Check(nb)
	want := []string{
		`nb.toml:15:1: value: sweep point "tap" leaves clients free: a figure is at one point, name it like "tap clients=1"`,
		`nb.toml:15:48: value: sweep point "lopback clients=1": "lopback" is not a value bench cell path sweeps (did you mean "loopback"?)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if got := errs[i].Error(); !strings.Contains(got, w) {
			t.Errorf("error %d: %s\nwant %s", i, got, w)
		}
	}
}

// A table's baseline may be a sweep point: each row's figures are a ratio
// to the same guest's at that point, its other params the row's; a bar
// plot of a swept cell has a slot per point.
func TestSweepPointBaseline(t *testing.T) {
	src := pointsNotebook + `[[cells]]
kind = "table"
from = "path"
metrics = ["ops_per_sec"]
baseline = "loopback"
[[cells]]
kind = "plot"
from = "path"
y = "ops_per_sec"
`
	out := renderPoints(t, src)
	md := readOut(t, out, "index.md")
	// tap clients=1: 50 against loopback clients=1's 100; tap clients=4:
	// 60 against 120.
	for _, want := range []string{"0.50× loopback", "ratios are to the same guest's median at loopback"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "0.50× loopback") != 2 || strings.Contains(md, "1.00× loopback") {
		t.Errorf("want the two tap rows at 0.50×, the loopback rows without a ratio:\n%s", md)
	}
	// The plot's data, as its CSV gives it (the SVG draws text as glyphs).
	csvs, _ := filepath.Glob(filepath.Join(out, "plot-path-*.csv"))
	if len(csvs) != 1 {
		t.Fatalf("plot CSVs %v", csvs)
	}
	b, _ := os.ReadFile(csvs[0])
	bars := string(b)
	t.Logf("bar plot data:\n%s", bars)
	for _, label := range []string{"1 tap", "4 tap", "1 loopback", "4 loopback"} {
		if !strings.Contains(bars, label) {
			t.Errorf("the bar plot has no slot %q", label)
		}
	}
}

func TestSweepPointBaselineCheck(t *testing.T) {
	src := pointsNotebook + "[[cells]]\nkind = \"table\"\nfrom = \"path\"\nbaseline = \"lopback\"\n"
	_, err := notebook.Parse("x.toml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), `baseline "lopback" is not a guest of bench cell path, nor a sweep point of it (a table's baseline may be one, like "clients=1"`) {
		t.Errorf("err = %v", err)
	}
}

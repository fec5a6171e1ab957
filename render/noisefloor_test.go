package render

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/results"
)

var floorNotebook = `title = "host against a micro-VM"
` + redisProcesses("host", "vm") + `[loads.quick]
tool = "builtin"
` + nbtest.BenchCell("tp", "quick", 5, "host", "vm") + `[[cells]]
kind = "plot"
from = "tp"
y = "ops_per_sec"
[[cells]]
kind = "table"
from = "tp"
metrics = ["ops_per_sec", "latency_p99"]
baseline = "host"
[[cells]]
kind = "check"
from = "tp"
claims = ["host.ops_per_sec > vm.ops_per_sec", "vm.latency_p99 > host.latency_p99", "host.ops_per_sec > 1.1 * vm.ops_per_sec"]
`

// floorRun: the host does 11 % better than the VM, on a machine whose
// noise floor calibrate measured.
func floorRun(t *testing.T, floor bool) (string, string) {
	nb := nbtest.Parse(t, floorNotebook, nil)
	rep := func(ops, p99 float64) map[string]float64 {
		return map[string]float64{"ops_per_sec": ops, "latency_p99": p99, "latency_avg": 1e6 / ops}
	}
	f := storedRun(nb, "tp", map[string][]map[string]float64{
		"host": {rep(52100, 410), rep(52600, 405), rep(51800, 415), rep(52300, 400), rep(52000, 412)},
		"vm":   {rep(47100, 470), rep(47500, 465), rep(46800, 480), rep(47200, 468), rep(47000, 473)},
	})
	if floor {
		f.NoiseFloor = &results.Noise{Schema: results.NoiseSchema, Machine: "3f2a9c1d0b7e", Tools: map[string]results.ToolNoise{
			"builtin": {Calibrated: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Guest: "host", Kind: "process", Repeats: 10,
				Metrics: map[string]results.MetricNoise{"ops_per_sec": {Spread: 0.021}, "latency_p99": {Spread: 0.034}}},
		}}
	}
	opt := Options{Results: memResults{"tp": f}, Version: "test"}
	return renderMarkdown(t, nb, opt), renderHTML(t, nb, opt)
}

// A run on a calibrated machine says, under its plot, its table and its
// claims, which differences are noise there; the claims are judged with
// the floor too: the host's 11 % lead passes, a lead of more than 10 % is
// inconclusive. Without a floor the report reads as it did.
func TestRenderNoiseFloor(t *testing.T) {
	md, html := floorRun(t, true)
	golden.Check(t, filepath.Join("testdata", "noisefloor.md"), []byte(md))
	note := "differences under 4.9 % in requests per second and 7.9 % in p99 latency are noise on the machine that measured them (5 + 5 repeats; benchbook calibrate, 2026-11-30)"
	for _, want := range []string{
		"<span class=\"bb-badge\">pass</span> <code>host.ops_per_sec &gt; vm.ops_per_sec</code>",
		"<span class=\"bb-badge\">inconclusive</span> <code>host.ops_per_sec &gt; 1.1 * vm.ops_per_sec</code>",
		// html/template writes + as &#43; in text.
		"<p class=\"bb-claim-detail\">D" + strings.ReplaceAll(note[1:], "+", "&#43;") + ".</p>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if !strings.Contains(md, "ratios are to host's median at the same point; "+note+".") {
		t.Errorf("the table's caption lacks the note:\n%s", md)
	}
	plain, _ := floorRun(t, false)
	if strings.Contains(plain, "are noise on the machine") || strings.Contains(plain, "calibrate") {
		t.Errorf("a report without a floor mentions one:\n%s", plain)
	}
}

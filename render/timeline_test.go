package render

import (
	"strings"
	"testing"

	"github.com/benchbook/benchbook/results"
)

// A repeat whose throughput drifts, or is still warming up, is flagged in
// the bench cell's summary, and a timeline plot draws the median second
// by second, one line per guest.
func TestTimelineFlagsAndPlot(t *testing.T) {
	src := resultsNotebook + "\n[[cells]]\nkind = \"plot\"\nfrom = \"throughput\"\nstyle = \"timeline\"\n"
	nb, store := withResults(t, src)
	f, err := store.Load("throughput")
	if err != nil {
		t.Fatal(err)
	}
	f.InputHash = nb.InputHash(nb.Bench("throughput"), nil)
	host := f.Guest("host")
	steady := []float64{100, 101, 99, 100, 102, 98, 100, 101}
	slowing := []float64{100, 101, 99, 100, 60, 50, 45, 40}
	for i := range host.Points[0].Repeats {
		ops := steady
		if i == 1 {
			ops = slowing
		}
		host.Points[0].Repeats[i].Timeline = &results.Timeline{IntervalS: 1, OpsPerSec: ops, LatencyP99: make([]float64, len(ops))}
	}
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	out := writeOut(t, nb, Options{Results: store, Version: "test"})
	md, page := readOut(t, out, "index.md"), readOut(t, out, "index.html")
	for _, want := range []string{
		"> **Not steady:** host, repeat 2: throughput drifts (linear fit -",
		"Line chart: Requests per second through the run. Requests per second (ops/s) against Seconds into the measured phase: host 100 at 1, 101 at 2, 99 at 3, 100 at 4, 102 at 5, 98 at 6, 100 at 7, 101 at 8.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if !strings.Contains(page, `<p class="bb-behaviour"><strong>Not steady:</strong> host, repeat 2: throughput drifts`) {
		t.Errorf("page lacks the flag")
	}
	if strings.Contains(md, "osv, repeat") {
		t.Errorf("a guest without a timeline is flagged:\n%s", md)
	}
}

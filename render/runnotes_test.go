package render

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/results"
)

// A report says how a run went beyond its figures: why an adaptive repeat
// stopped, every failure a guest had, and when a guest the cell needs
// failed, a banner naming it, with the other guests' figures shown and the
// failed guest's kept figures named, not mixed in.
func TestRunNotes(t *testing.T) {
	src := strings.Replace(resultsNotebook, "repeat = 5", `repeat = { min = 6, max = 40, target = "2%", budget = "10m" }`+"\nretry = 2", 1)
	nb, store := withResults(t, src)
	f, err := store.Load("throughput")
	if err != nil {
		t.Fatal(err)
	}
	f.InputHash = nb.InputHash(nb.Bench("throughput"), nil)
	earlier := f.Started.Add(-24 * time.Hour)
	host, osv, rumprun := f.Guest("host"), f.Guest("osv"), f.Guest("rumprun")
	host.Points[0].Stop = &results.Stop{Reason: results.StopBudget, Rounds: 5, Metric: "ops_per_sec", Target: 0.02, Interval: 0.021}
	osv.Points[0].Stop = &results.Stop{Reason: results.StopBudget, Rounds: 5, Metric: "ops_per_sec", Target: 0.02, Interval: 0.063}
	osv.Failures = []results.Failure{
		{Repeat: 1, Retried: true, Reason: "run did not finish within its timeout of 1m10s; the guest's redis no longer answers PING (did it crash?)\nlast lines of …"},
		{Repeat: 3, Attempt: 0, Retried: true, Reason: "run did not finish within its timeout of 1m10s; the guest's redis no longer answers PING (did it crash?)", Log: "logs/throughput.osv.p0.r3.failed1.log"},
	}
	rumprun.Failures = []results.Failure{{Repeat: 2, Reason: "the guest exited during the load: load mt: connection refused"}}
	rumprun.Reason = rumprun.Failures[0].Reason
	rumprun.Points[0].Repeats = []results.Repeat{{Index: 0, Metrics: map[string]float64{"ops_per_sec": 20000}}, {Index: 1, Metrics: map[string]float64{"ops_per_sec": 21000}}}
	rumprun.Kept = &results.Kept{Started: earlier, InputHash: "sha256:earlier", Points: []results.Point{{Repeats: []results.Repeat{{Metrics: map[string]float64{"ops_per_sec": 25000}}}}}}
	f.Incomplete = "guest rumprun, repeat 3: the guest exited during the load: load mt: connection refused"
	f.Summarize()
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}

	out := writeOut(t, nb, Options{Results: store, Version: "test"})
	md, page := readOut(t, out, "index.md"), readOut(t, out, "index.html")
	start := strings.Index(md, "**Benchmark `throughput`**")
	end := start + strings.Index(md[start:], "\n![")
	if start < 0 || end < start {
		t.Fatalf("no bench summary in:\n%s", md)
	}
	golden.Check(t, filepath.Join("testdata", "runnotes.md"), []byte(md[start:end]))
	for _, want := range []string{
		"6 to 40 repeats until ±2 % (budget 10m), a failed one retried up to 2 times",
		"Repeats stopped: budget spent after 5 rounds: ±6.3 %.",
		"<strong>Failures:</strong> osv: 2 failures in 5 repeats, retried: run did not finish within its timeout of 1m10s; the guest&#39;s redis no longer answers PING (did it crash?); rumprun: 1 failure in 3 repeats, given up at repeat 3: the guest exited during the load: load mt: connection refused.",
		`<p class="bb-warning" role="alert">the run of 2026-11-27 05:00 UTC is incomplete: guest rumprun, repeat 3: the guest exited during the load: load mt: connection refused. The figures shown are the other guests&#39;; rumprun&#39;s figures of the run of 2026-11-26 05:00 UTC are kept in the results file, not shown beside figures of another time.</p>`,
		"failures: 2 failures in 5 repeats", // the appendix, per guest
		"failure log: logs/throughput.osv.p0.r3.failed1.log",
		"kept: figures of the run of 2026-11-26 05:00 UTC (input hash sha256:earlier)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// A fixed count and a run without failures add nothing to a report.
func TestRunNotesNone(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	f, _ := store.Load("throughput")
	v := &benchView{}
	v.addRunNotes(f)
	if v.runNotes.Stopped != "" || len(v.runNotes.Failures) != 0 || v.runNotes.Incomplete != "" || markdownRunNotes(v) != "" {
		t.Errorf("notes %+v", v.runNotes)
	}
	if s := repeatText(nb.Bench("throughput")); s != "5 repeats" {
		t.Errorf("repeat text %q", s)
	}
}

// A sweep names each point's stop, with the widest interval of the
// point's guests; a failed guest's points are not judged.
func TestStopText(t *testing.T) {
	sweep := &results.File{Guests: []results.Guest{
		{Name: "a", Status: results.StatusOK, Points: []results.Point{
			{Params: map[string]any{"clients": int64(1)}, Stop: &results.Stop{Reason: results.StopTarget, Rounds: 8, Interval: 0.012}},
			{Params: map[string]any{"clients": int64(8)}, Stop: &results.Stop{Reason: results.StopMax, Rounds: 40, Interval: 0.031}},
		}},
		{Name: "b", Status: results.StatusOK, Points: []results.Point{
			{Params: map[string]any{"clients": int64(1)}, Stop: &results.Stop{Reason: results.StopTarget, Rounds: 8, Interval: 0.019}},
			{Params: map[string]any{"clients": int64(8)}, Stop: &results.Stop{Reason: results.StopMax, Rounds: 40, Interval: 0.024}},
		}},
		{Name: "c", Status: results.StatusFailed, Points: []results.Point{{}, {}}},
	}}
	if s := stopText(sweep); s != "clients=1: target reached after 8 rounds: ±1.9 %; clients=8: max 40 rounds: ±3.1 %" {
		t.Errorf("stop text %q", s)
	}
}

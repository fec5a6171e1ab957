package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

var twoGuests = `title = "verify test"
` + nbtest.ProcessGuest("a", nbtest.RedisNoDisk) + nbtest.ProcessGuest("b", "{b}") + `[loads.quick]
tool = "builtin"
clients = 2
requests = 300
` + nbtest.BenchCell("tp", "quick", 4, "a", "b")

func writeNotebook(t *testing.T, dir, b string) *notebook.Notebook {
	t.Helper()
	return nbtest.Write(t, dir, strings.Replace(twoGuests, "{b}", b, 1))
}

// seed runs the notebook for real and multiplies guest a's stored
// throughput by 1000, far beyond any machine's noise.
func seed(t *testing.T, dir string) (*notebook.Notebook, []byte) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (make setup installs it)")
	}
	nb := writeNotebook(t, dir, nbtest.RedisNoDisk)
	store := results.ForNotebook(nb.Path)
	if _, err := runner.Run(context.Background(), nb, store, runner.Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	f, err := store.Load("tp")
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Guests[0].Points[0].Repeats {
		f.Guests[0].Points[0].Repeats[i].Metrics["ops_per_sec"] *= 1000
	}
	f.Summarize()
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(store.Path("tp"))
	return nb, stored
}

// The report is data: a row per guest and metric with its verdict as a
// value, and the counts the summary line needs; the stored file is left
// as it was.
func TestRunReport(t *testing.T) {
	dir := t.TempDir()
	nb, stored := seed(t, dir)
	var notes bytes.Buffer
	report, err := Run(context.Background(), nb, Options{Rule: results.DefaultRule(), Metrics: []string{"ops_per_sec", "latency_avg"}, Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Rows) != 4 || report.Compared != 4 || report.Failed != 0 {
		t.Fatalf("rows %d, compared %d, failed %d; want 4, 4, 0: %+v", len(report.Rows), report.Compared, report.Failed, report.Rows)
	}
	first := report.Rows[0]
	if first.Cell != "tp" || first.Comparison.Guest != "a" || first.Comparison.Metric != "ops_per_sec" || first.Verdict != Moved {
		t.Errorf("first row: %s %s %s %s, want tp a ops_per_sec moved", first.Cell, first.Comparison.Guest, first.Comparison.Metric, first.Verdict)
	}
	count := map[Verdict]int{}
	for _, r := range report.Rows {
		count[r.Verdict]++
		if r.Verdict != Moved && r.Verdict != Holds && r.Verdict != Inconclusive {
			t.Errorf("%s %s: verdict %q, want holds, moved or inconclusive", r.Comparison.Guest, r.Comparison.Metric, r.Verdict)
		}
	}
	if count[Moved] != report.Moved || count[Holds] != report.Holds || count[Inconclusive] != report.Inconclusive || report.OK() {
		t.Errorf("report counts %d moved, %d hold, %d inconclusive; rows %v; OK %v", report.Moved, report.Holds, report.Inconclusive, count, report.OK())
	}
	if now, _ := os.ReadFile(results.ForNotebook(nb.Path).Path("tp")); !bytes.Equal(now, stored) {
		t.Error("verify changed the stored results")
	}
	if notes.Len() != 0 {
		t.Errorf("notes: %s", notes.String())
	}
}

// A guest whose rerun fails is a row of its own with the reason, counted
// in Failed; the guest that still runs is compared (the runner keeps its
// figures); the stale stored results are noted.
func TestRunRerunFailed(t *testing.T) {
	dir := t.TempDir()
	nb, _ := seed(t, dir)
	nb = writeNotebook(t, dir, `["redis-server", "--port", "{port}", "--no-such-option", "x"]`)
	var notes bytes.Buffer
	report, err := Run(context.Background(), nb, Options{Rule: results.DefaultRule(), Metrics: []string{"ops_per_sec"}, Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Rows) != 2 || report.Failed != 1 || report.Compared != 1 || report.OK() {
		t.Fatalf("report %+v, want a failed row for b and a compared row for a", report)
	}
	if r := report.Rows[0]; r.Verdict != RerunFailed || r.Comparison.Guest != "b" || !strings.Contains(r.Failure, "exited before answering PING") {
		t.Errorf("row 0: %q %q %q", r.Comparison.Guest, r.Verdict, r.Failure)
	}
	if r := report.Rows[1]; r.Comparison.Guest != "a" || !r.Comparison.Comparable {
		t.Errorf("row 1: %+v, want guest a compared", r)
	}
	for _, want := range []string{"tp: the stored results are stale", "tp: rerun of guest b failed: "} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, notes.String())
		}
	}
}

func TestRunNothingToVerify(t *testing.T) {
	nb := writeNotebook(t, t.TempDir(), nbtest.RedisNoDisk)
	var notes bytes.Buffer
	_, err := Run(context.Background(), nb, Options{Rule: results.DefaultRule(), Metrics: []string{"ops_per_sec"}, Notes: &notes})
	if err == nil || !strings.Contains(err.Error(), "nothing to verify") || !strings.Contains(notes.String(), "tp: no stored results to verify") {
		t.Fatalf("err %v, notes %q", err, notes.String())
	}
	if _, err := Run(context.Background(), nb, Options{Only: "nope"}); err == nil || !strings.Contains(err.Error(), `no bench cell "nope"`) {
		t.Fatalf("--only nope: %v", err)
	}
}

package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

// fioCell runs a short fio job on a scratch folder, with redis-server as a
// guest standing by (any started guest will do: fio needs no server).
var fioCell = `title = "verify fio"
` + nbtest.ProcessGuest("disk", nbtest.RedisNoDisk) + `[loads.w]
tool = "fio"
rw = "randwrite"
bs = "4k"
size = "1M"
runtime = "300ms"
time_based = true
directory = "{scratch}"
` + nbtest.BenchCell("fs", "w", 3, "disk") + nbtest.BenchCell("tp", "quick", 0, "disk") + `[loads.quick]
tool = "builtin"
requests = 100
`

// Without --metrics each cell is compared on its own tool's primary
// metrics: a fio cell on iops, a redis cell on ops_per_sec and its
// latencies; the report lists them all.
func TestDefaultMetricsPerCell(t *testing.T) {
	for _, prog := range []string{"fio", "redis-server"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Skipf("%s is not installed (make setup installs it)", prog)
		}
	}
	dir := t.TempDir()
	src := strings.Replace(fioCell, "{scratch}", filepath.Join(dir, "scratch"), 1)
	if err := os.Mkdir(filepath.Join(dir, "scratch"), 0o755); err != nil {
		t.Fatal(err)
	}
	nb := nbtest.Write(t, dir, src)
	if _, err := runner.Run(context.Background(), nb, results.ForNotebook(nb.Path), runner.Options{Version: "test", Only: "fs"}); err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	report, err := Run(context.Background(), nb, Options{Rule: results.DefaultRule(), Only: "fs", Notes: &notes})
	if err != nil {
		t.Fatalf("%v\n%s", err, notes.String())
	}
	if !slices.Equal(report.Metrics, []string{"iops"}) || len(report.Rows) != 1 {
		t.Fatalf("metrics %q, %d rows; want iops, one row", report.Metrics, len(report.Rows))
	}
	if c := report.Rows[0].Comparison; !c.Comparable || c.Unit != "IO/s" || c.OldMedian <= 0 {
		t.Errorf("row %+v, want iops compared in IO/s", c)
	}
	v := &verifier{nb: nb, report: &Report{}}
	// In this order: the report lists metrics in the order cells ask for
	// them, so a map's random order would make the last check flaky.
	for _, c := range []struct {
		id   string
		want []string
	}{{"fs", []string{"iops"}}, {"tp", []string{"ops_per_sec", "latency_avg", "latency_p99"}}} {
		if got := v.metrics(nb.Bench(c.id)); !slices.Equal(got, c.want) {
			t.Errorf("%s: metrics %q, want %q", c.id, got, c.want)
		}
	}
	if want := []string{"iops", "ops_per_sec", "latency_avg", "latency_p99"}; !slices.Equal(v.report.Metrics, want) {
		t.Errorf("report metrics %q, want %q", v.report.Metrics, want)
	}
}

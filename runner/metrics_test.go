package runner

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// A run's results file declares every metric it holds, as the cell's tool
// declares it, with the load table's own metrics and the guest's boot_ms,
// so the report knows units and directions whatever the tool.
func TestRunDeclaresMetrics(t *testing.T) {
	needRedis(t)
	command := `tool = "command"
command = ["sh", "-c", "echo '{\"rate\": 42.5}'"]
dir = "."
metrics = { rate = { json = "/rate", unit = "files/s", better = "higher", doc = "files compiled per second" } }`
	tests := []struct {
		name, load string
		want       []results.Metric
	}{
		{"builtin", "tool = \"builtin\"\nrequests = 200", []results.Metric{
			{Name: "ops_per_sec", Unit: "ops/s", Label: "Requests per second", Better: notebook.BetterHigher, Doc: "requests per second"},
			{Name: "gets.latency_p99", Unit: "µs", Label: "GET p99 latency", Better: notebook.BetterLower, Doc: "99th percentile of latency, GETs only"},
		}},
		{"command", command, []results.Metric{
			{Name: "wall_ms", Unit: "ms", Label: "Wall-clock time from the command's start to its exit", Better: notebook.BetterLower, Doc: "wall-clock time from the command's start to its exit"},
			{Name: "rate", Unit: "files/s", Label: "Files compiled per second", Better: notebook.BetterHigher, Doc: "files compiled per second"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(hostNotebook, "tool = \"builtin\"\nclients = \"{clients}\"\nrequests = 300", tt.load, 1)
			nb, store := writeNotebook(t, t.TempDir(), src)
			var progress bytes.Buffer
			if _, err := Run(context.Background(), nb, store, runOpts(&progress)); err != nil {
				t.Fatalf("%v\n%s", err, progress.String())
			}
			f := mustLoad(t, store, "tp")
			declared := map[string]results.Metric{}
			for _, m := range f.Metrics {
				declared[m.Name] = m
			}
			for _, w := range append(tt.want, results.Metric{Name: "boot_ms", Unit: "ms", Label: "Boot time", Better: notebook.BetterLower, Doc: notebook.GuestMetrics[0].Doc}) {
				if got := declared[w.Name]; got != w {
					t.Errorf("declared %+v, want %+v", got, w)
				}
			}
			for _, r := range f.Guests[0].Points[0].Repeats {
				for _, name := range slices.Sorted(maps.Keys(r.Metrics)) {
					if _, ok := declared[name]; !ok {
						t.Errorf("repeat %d holds %s, which the file does not declare", r.Index, name)
					}
				}
			}
		})
	}
}

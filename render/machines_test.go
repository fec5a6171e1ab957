package render

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/results"
)

// loadOnly is a results store without histories, as a Results
// implementation other than results.Store may be.
type loadOnly struct{ s results.Store }

func (l loadOnly) Load(cell string) (*results.File, error)        { return l.s.Load(cell) }
func (l loadOnly) LoadFailure(cell string) (*results.File, error) { return l.s.LoadFailure(cell) }

// A history of several runs on one machine leaves the report as it was:
// the same bytes as a store that has no history at all.
func TestOneMachineHistoryUnchanged(t *testing.T) {
	nb, store := withResults(t, resultsNotebook) // CELL.json without a machine id, as before histories
	for i := range 3 {
		f := fixture(nb)
		f.Env.Machine = "only-machine"
		f.Started = f.Started.Add(time.Duration(i+1) * time.Hour)
		if err := store.Record(f); err != nil {
			t.Fatal(err)
		}
	}
	if entries, err := store.History("throughput"); err != nil || len(entries) != 4 {
		t.Fatalf("history: %d runs, %v; want 4", len(entries), err)
	}
	with, without := Options{Results: store, Version: "test"}, Options{Results: loadOnly{store}, Version: "test"}
	if a, b := renderHTML(t, nb, with), renderHTML(t, nb, without); a != b {
		t.Errorf("HTML of one machine changed by its history")
	}
	if a, b := renderMarkdown(t, nb, with), renderMarkdown(t, nb, without); a != b {
		t.Errorf("Markdown of one machine changed by its history")
	}
}

// Two machines: this one's run (CELL.json) and a merged one that started
// earlier on a machine whose id sorts first, measured host at twice the
// speed, runs another kernel and predates a change to the cell.
func TestMachinesSideBySide(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	if err := os.Remove(store.Path("throughput")); err != nil {
		t.Fatal(err)
	}
	local := fixture(nb)
	local.Env.Machine = "zz-local"
	local.Started = local.Started.Add(time.Hour)
	if err := store.Record(local); err != nil {
		t.Fatal(err)
	}
	other := fixture(nb)
	other.Env.Machine, other.Env.Kernel, other.InputHash = "aa-other", "6.9.0", "sha256:older"
	for pi := range other.Guests[0].Points {
		for ri := range other.Guests[0].Points[pi].Repeats {
			other.Guests[0].Points[pi].Repeats[ri].Metrics["ops_per_sec"] *= 2
		}
	}
	other.Summarize()
	if _, err := store.Merge("throughput", []results.Entry{{ID: results.RunID(other), Run: other}}); err != nil {
		t.Fatal(err)
	}

	md := renderMarkdown(t, nb, Options{Results: store})
	order := []string{"| host @ aa-other |", "| host @ zz-local |", "| osv @ aa-other \\[accel: tcg\\] ⚠ |", "| osv @ zz-local \\[accel: tcg\\] ⚠ |", "| rumprun @ aa-other |", "| linux @ zz-local |"}
	last := -1
	for _, row := range order {
		i := strings.Index(md, row)
		if i < 0 || i < last {
			t.Errorf("row %q missing or out of order (guests in cell order, machines sorted by id)", row)
		}
		last = max(last, i)
	}
	// Each osv is compared with the host of its own machine.
	for _, want := range []string{
		"(0.27× host) |", // 33,000 / 121,000 on aa-other
		"(0.55× host) |", // 33,000 / 60,500 on zz-local
		"ratios are to host's median at the same point on the same machine",
		"Environment differences between the machines:\n\n- aa-other → zz-local: kernel 6.9.0 → 6.1.0\n- aa-other: its newest run (2026-11-27 05:00 UTC) predates a change to the cell",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// Under the table and under both plots.
	if n := strings.Count(md, "Environment differences between the machines:"); n != 3 {
		t.Errorf("%d environment difference lists, want 3 (a table, two plots)", n)
	}

	page := renderHTML(t, nb, Options{Results: store})
	for _, want := range []string{
		`<th scope="row">host @ aa-other</th>`,
		`<th scope="row">host @ zz-local</th>`,
		"<li>aa-other → zz-local: kernel 6.9.0 → 6.1.0</li>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}

	rep := newReport(nb, Options{Results: store})
	for _, c := range nb.Cells {
		if c.Kind != "plot" {
			continue
		}
		fig := rep.figure(c)
		if fig == nil || fig.Err != "" {
			t.Fatalf("plot %d: %+v", c.Index, fig)
		}
		for _, g := range []string{"host @ aa-other", "host @ zz-local", "osv @ aa-other", "osv @ zz-local"} {
			if !strings.Contains(string(fig.SVG), g) {
				t.Errorf("plot %d does not draw %s", c.Index, g)
			}
		}
	}
	var csvRows []string
	for _, rec := range rep.tableRecords(nb.Cells[len(nb.Cells)-1])[1:] {
		csvRows = append(csvRows, rec[0]+" "+rec[3])
	}
	if got := strings.Join(csvRows, ", "); !strings.HasPrefix(got, "host @ aa-other ops_per_sec, host @ aa-other latency_p99, host @ zz-local ops_per_sec,") {
		t.Errorf("table CSV rows: %s", got)
	}

	// The same inputs give the same bytes.
	if again := renderMarkdown(t, nb, Options{Results: store}); again != md {
		t.Error("a second render differs")
	}
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/benchbook/benchbook/results"
)

// benchCell is what each notebook of the history corpora gets on top of
// its prose: one bench cell, whose results the page shows as a table and
// a plot.
const benchCell = `
[guests.host]
kind = "process"
command = ["redis-server", "--port", "{port}"]

[loads.quick]
tool = "builtin"
requests = 1000

[[cells]]
kind = "bench"
id = "tp"
guests = ["host"]
load = "quick"
repeat = 5
`

// generateHistory writes two copies of the prose corpus of nbDir whose
// notebooks each have a bench cell: plainDir with one stored run per
// notebook (CELL.json only), histDir with the same newest run and runs-1
// older ones in its history, compacted as benchbook run keeps them, with
// the summaries file this tree's results package writes beside each (an
// older benchbook given with -baseline ignores it and decodes the history).
func generateHistory(nbDir, plainDir, histDir string, n, runs int) error {
	for _, d := range []string{plainDir, histDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(2, uint64(n)))
	for i := range n {
		name := fmt.Sprintf("note-%04d", i)
		data, err := os.ReadFile(filepath.Join(nbDir, name+".toml"))
		if err != nil {
			return err
		}
		src := append(data, benchCell...)
		base := 40000 + rng.Float64()*20000
		var entries []results.Entry
		for r := range runs {
			level := base
			if r >= runs*3/4 && i%10 == 0 { // a tenth of them regress late
				level *= 0.6
			}
			f := benchRun(name, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r)*24*time.Hour), level, rng)
			entries = append(entries, results.Entry{ID: results.RunID(f), Run: f})
		}
		for _, d := range []string{plainDir, histDir} {
			if err := os.WriteFile(filepath.Join(d, name+".toml"), src, 0o644); err != nil {
				return err
			}
			store := results.ForNotebook(filepath.Join(d, name+".toml"))
			if err := os.MkdirAll(store.Dir, 0o755); err != nil {
				return err
			}
			if err := store.Save(entries[len(entries)-1].Run); err != nil {
				return err
			}
		}
		store := results.ForNotebook(filepath.Join(histDir, name+".toml"))
		if _, err := store.Merge("tp", entries); err != nil {
			return err
		}
	}
	return nil
}

// benchRun is one made-up run of cell tp around level requests per second.
func benchRun(name string, started time.Time, level float64, rng *rand.Rand) *results.File {
	f := &results.File{
		Notebook: name + ".toml", Cell: "tp", InputHash: "sha256:sitebench",
		Started: started, Finished: started.Add(time.Minute),
		Env: results.Env{Machine: "sitebench", CPUModel: "sitebench corpus", Cores: 2, Kernel: "6.1.0", OS: "made up", Arch: "x86_64",
			Benchbook: "sitebench", Virtualization: "none", Tools: map[string]string{"builtin": "1"}},
	}
	p := results.Point{}
	for r := range 5 {
		ops := level * (0.97 + 0.06*rng.Float64())
		p.Repeats = append(p.Repeats, results.Repeat{
			Index: r, Started: started.Add(time.Duration(r) * time.Second), Seconds: 1,
			Metrics: map[string]float64{"ops_per_sec": ops, "latency_avg": 1e6 / ops * 4, "latency_p99": 1e6 / ops * 20},
		})
	}
	f.Guests = []results.Guest{{Name: "host", Kind: "process", Status: results.StatusOK, Points: []results.Point{p}}}
	f.Summarize()
	return f
}

// measureHistory times, with h's benchbook, cold builds of the two
// history corpora and a no-change rebuild of the one with history.
func (b *bench) measureHistory(ctx context.Context, h *historyBuilds, i int) error {
	build := func(dir, out string) func() (time.Duration, error) {
		return func() (time.Duration, error) { return command(ctx, "", h.bin, "build", dir, "-o", out) }
	}
	// Like the other cold builds, into folders never used before (or
	// just emptied, with -rm), removed only when all runs are done:
	// removing them here slowed the next benchbook's cold builds by up
	// to half (see outDir).
	plainTool, histTool := historyTools(slices.Index(b.histories, h))
	plainOut, histOut := b.outDir(plainTool, i), b.outDir(histTool, i)
	for _, tool := range []string{plainTool, histTool} {
		if err := b.clean(tool, i); err != nil {
			return err
		}
	}
	d, err := timed(build(b.plainDir, plainOut))
	if err != nil {
		return err
	}
	h.plainCold = append(h.plainCold, d)
	if d, err = timed(build(b.histDir, histOut)); err != nil {
		return err
	}
	h.histCold = append(h.histCold, d)
	if d, err = timed(build(b.histDir, histOut)); err != nil {
		return err
	}
	h.histNoChange = append(h.histNoChange, d)
	pages, _ := filepath.Glob(filepath.Join(histOut, "*", "history.html"))
	b.histPages = len(pages)
	return nil
}

// historyTools name the output folders (outDir) of the history builds
// of the benchbook b.histories[n].
func historyTools(n int) (plain, history string) {
	return fmt.Sprintf("plain%d", n), fmt.Sprintf("history%d", n)
}

// historyRows prints the history rows of the report for one benchbook:
// the two figures issue 19 asks for are the cold build with history
// against the same without (≤ 1.3×), and the no-change rebuild with
// history against Hugo's cold build (≤ 0.05×).
func (b *bench) historyRows(row func(string, samples, string, func(float64, float64) bool), h *historyBuilds) {
	label := ""
	if len(b.histories) > 1 {
		label = " (" + h.name + ")"
	}
	row(fmt.Sprintf("cold, %d notebooks with results%s", b.n, label), h.plainCold, "", nil)
	wall := h.histCold.wall().Seconds() / h.plainCold.wall().Seconds()
	cpu := h.histCold.cpu().Seconds() / h.plainCold.cpu().Seconds()
	row(fmt.Sprintf("cold, the same with %d runs of history each%s", b.history, label), h.histCold, "≤ 1.3× the above", func(float64, float64) bool { return wall <= 1.3 && cpu <= 1.3 })
	row("no-change rebuild with history"+label, h.histNoChange, "≤ 0.05×", func(rw, rc float64) bool { return rw <= 0.05 && rc <= 0.05 })
}

// historySummary states the ratio of cold builds with and without history.
func (b *bench) historySummary(h *historyBuilds) string {
	return fmt.Sprintf("%s: cold with history / without: %.3f× wall, %.3f× CPU (goal ≤ 1.3×); no-change rebuild with history / hugo cold: %.3f× wall, %.3f× CPU (goal ≤ 0.05×)",
		h.name, h.histCold.wall().Seconds()/h.plainCold.wall().Seconds(), h.histCold.cpu().Seconds()/h.plainCold.cpu().Seconds(),
		h.histNoChange.wall().Seconds()/b.hugoCold.wall().Seconds(), h.histNoChange.cpu().Seconds()/b.hugoCold.cpu().Seconds())
}

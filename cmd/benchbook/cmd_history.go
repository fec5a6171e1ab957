package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/benchbook/benchbook/internal/numfmt"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

type historyOpts struct {
	cell, metric string
	minChange    float64
}

// defaultMinChange is the smallest change history reports when the
// machine's noise floor does not ask for more.
const defaultMinChange = results.DefaultMinChange

func historyCommand() *command {
	return &command{
		name:  "history",
		args:  "[--cell ID] [--metric M] [--min-change F] NOTEBOOK",
		short: "show a cell's runs over time, their change points and whether the newest is a regression",
		long: `Prints every run kept in the history of NOTEBOOK's bench cells
(CELL.history.jsonl, one line per good run; see docs/results.md) as a table,
oldest first: when it started, the machine's id, the notebook's commit,
benchbook's version and each guest's median of the metric (per sweep point,
and per machine when results of several were merged).

Change points are found per machine, guest and point by binary segmentation
(docs/history.md): the split of the runs that best separates their medians
by least squares is a change point when the medians on its two sides differ
by at least the threshold, which is the larger of --min-change (default
10 %) and twice the machine's noise floor of the metric (benchbook
calibrate). Each side of a change point has two runs or more, except that
the newest run may stand alone after one. Rows after a change point are
marked with *.

The newest run is a regression when the last change point of any trend
goes against the metric's better direction; history then says which and
exits with status 1, so CI can gate on it. A run that improved, or a change
under the threshold, exits 0.

Example:

  benchbook history notebooks/unikernels-redis.toml
  benchbook history --cell throughput --metric latency_p99 notebooks/unikernels-redis.toml`,
		flags: func(fs *flag.FlagSet) any {
			o := &historyOpts{}
			fs.StringVar(&o.cell, "cell", "", "show only the bench cell with this `id`")
			fs.StringVar(&o.metric, "metric", "", "the `metric` to show (default: the primary metric of the cell's tool)")
			fs.Float64Var(&o.minChange, "min-change", defaultMinChange, "the smallest relative change that is a change point, as a `fraction` (0.1 is 10 %)")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: onNotebook(checkHistory, runHistory),
	}
}

func checkHistory(o *historyOpts) error {
	if !(o.minChange > 0 && o.minChange < 10) {
		return fmt.Errorf("--min-change=%g: want a fraction above 0, such as 0.1 for 10 %%", o.minChange)
	}
	return nil
}

// runHistory prints the history of the notebook's bench cells.
func runHistory(_ context.Context, env *cmdEnv, o *historyOpts, nb *notebook.Notebook) error {
	cells, err := historyCells(nb, o.cell)
	if err != nil {
		return err
	}
	store := results.ForNotebook(nb.Path)
	var regressions []string
	for i, c := range cells {
		if i > 0 {
			fmt.Fprintln(env.stdout)
		}
		regs, err := cellHistory(env.stdout, nb, store, c, o)
		if err != nil {
			return err
		}
		regressions = append(regressions, regs...)
	}
	if len(regressions) > 0 {
		for _, r := range regressions {
			fmt.Fprintf(env.stderr, "benchbook history: regression: %s\n", r)
		}
		return silent(1, errors.New("the newest run is a regression"))
	}
	return nil
}

// historyCells are the bench cells to show: the one --cell names, or all.
func historyCells(nb *notebook.Notebook, only string) ([]*notebook.Cell, error) {
	if cells := benchCellsOnly(nb, only); only == "" || len(cells) > 0 {
		return cells, nil
	}
	var ids []string
	for _, c := range nb.BenchCells() {
		ids = append(ids, c.ID)
	}
	return nil, fmt.Errorf("--cell %s: %s has no bench cell of that id (it has: %s)", only, nb.Path, strings.Join(ids, ", "))
}

// cellHistory prints one cell's history and returns its regressions.
func cellHistory(w io.Writer, nb *notebook.Notebook, store results.Store, c *notebook.Cell, o *historyOpts) ([]string, error) {
	entries, err := store.History(c.ID)
	if err != nil {
		return nil, err
	}
	metric := o.metric
	if metric == "" {
		metric = nb.PrimaryMetric(c)
	}
	if len(entries) == 0 {
		fmt.Fprintf(w, "%s: no runs yet (benchbook run %s)\n", c.ID, nb.Path)
		return nil, nil
	}
	newest := entries[len(entries)-1].Run
	m := newest.Metric(metric)
	trends := results.Trends(entries, metric)
	if len(trends) == 0 {
		return nil, fmt.Errorf("cell %s: no run has the metric %q (its metrics: %s)", c.ID, metric, metricNames(newest))
	}
	noise := newest.NoiseSpread(metric)
	threshold := results.Threshold(o.minChange, noise)
	for _, t := range trends {
		t.FindChanges(threshold, m.Sign())
	}
	fmt.Fprintf(w, "%s: %s (%s), %d runs; change points of %s or more", c.ID, metric, describeMetric(m), len(entries), plainPercent(threshold))
	if noise > 0 {
		fmt.Fprintf(w, " (noise floor %s)", plainPercent(noise))
	}
	fmt.Fprintln(w)
	writeHistoryTable(w, entries, trends)
	return writeChanges(w, c.ID, trends, m), nil
}

func describeMetric(m results.Metric) string {
	parts := []string{m.Label}
	if m.Unit != "" {
		parts = append(parts, m.Unit)
	}
	switch m.Sign() {
	case +1:
		parts = append(parts, "higher is better")
	case -1:
		parts = append(parts, "lower is better")
	}
	return strings.Join(parts, ", ")
}

func metricNames(f *results.File) string {
	seen := map[string]bool{}
	var names []string
	for _, g := range f.Guests {
		for _, p := range g.Points {
			for name := range p.Summary {
				if !seen[name] {
					seen[name] = true
					names = append(names, name)
				}
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(names)), ", ")
}

// writeHistoryTable prints a row per run and a column per trend; a figure
// after a change point is marked with *.
func writeHistoryTable(w io.Writer, entries []results.Entry, trends []*results.Trend) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"run", "started", "machine", "commit", "benchbook"}
	for _, t := range trends {
		header = append(header, trendLabel(t, trends))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	cells := make([][]string, len(entries))
	for ei := range entries {
		cells[ei] = make([]string, len(trends))
	}
	for ti, t := range trends {
		starts := map[int]bool{}
		for _, c := range t.Changes {
			starts[c.At] = true
		}
		for ri, r := range t.Runs {
			mark := " "
			if starts[ri] {
				mark = "*"
			}
			cells[r.Entry][ti] = figureText(r.Median) + mark
		}
	}
	for ei, e := range entries {
		row := []string{fmt.Sprint(ei + 1), e.Run.Started.UTC().Format("2006-01-02 15:04"), short(e.Run.Env.Machine, 16), short(e.Run.Commit, 8), e.Run.Env.Benchbook}
		for ti := range trends {
			v := cells[ei][ti]
			if v == "" {
				v = "- "
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

// trendLabel names a trend's column: its guest, its point when there is a
// sweep, its machine when there are several.
func trendLabel(t *results.Trend, all []*results.Trend) string {
	label := t.Guest
	if t.Point != "" {
		label += " " + t.Point
	}
	if all[0].Machine != all[len(all)-1].Machine {
		label += " @" + short(t.Machine, 16)
	}
	return label
}

// writeChanges lists the change points and returns the regressions.
func writeChanges(w io.Writer, cell string, trends []*results.Trend, m results.Metric) []string {
	var regressions []string
	for _, t := range trends {
		for _, c := range t.Changes {
			what := "change"
			if c.Worse {
				what = "regression"
			} else if m.Sign() != 0 {
				what = "improvement"
			}
			fmt.Fprintf(w, "change point: %s: %s at run %d (%s): %s → %s %s (%s against %s)\n",
				trendLabel(t, trends), what, t.Runs[c.At].Entry+1, t.Runs[c.At].ID, figureText(c.Before), figureText(c.After), m.Unit, signedPercent(c.Rel), runSpan(t, c))
		}
		if r := t.Regression(); r != nil {
			regressions = append(regressions, fmt.Sprintf("%s: %s of %s is %s against %s since run %d", cell, m.Name, trendLabel(t, trends), signedPercent(r.Rel), runSpan(t, *r), t.Runs[r.At].Entry+1))
		}
	}
	if len(regressions) == 0 {
		fmt.Fprintln(w, "no regression in the newest run")
	}
	return regressions
}

// runSpan is the runs before a change, as "1–3".
func runSpan(t *results.Trend, c results.Change) string {
	first, last := t.Runs[c.From].Entry+1, t.Runs[c.At-1].Entry+1
	if first == last {
		return fmt.Sprintf("run %d", first)
	}
	return fmt.Sprintf("runs %d–%d", first, last)
}

func short(s string, n int) string {
	if s == "" {
		return "-"
	}
	if len(s) > n {
		return s[:n]
	}
	return s
}

// figureText is a figure for a table: grouped digits from 1000 on, else
// three significant digits.
func figureText(v float64) string {
	if math.Abs(v) >= 1000 {
		return numfmt.Group(int64(math.Round(v)))
	}
	return fmt.Sprintf("%.3g", v)
}

func signedPercent(f float64) string { return fmt.Sprintf("%+.1f %%", 100*f) }
func plainPercent(f float64) string  { return fmt.Sprintf("%.1f %%", 100*f) }

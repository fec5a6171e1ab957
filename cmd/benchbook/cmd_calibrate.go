package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"

	"github.com/benchbook/benchbook/internal/buildinfo"
	"github.com/benchbook/benchbook/internal/tmpdir"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

type calibrateOpts struct {
	repeats int
	quiet   bool
}

func calibrateCommand() *command {
	return &command{
		name:  "calibrate",
		args:  "[--repeats 10] [NOTEBOOK]",
		short: "measure this machine's noise floor: the same guest against itself",
		long: `Runs an A/A test for each load tool NOTEBOOK uses: the first bench cell
that uses the tool, its first guest against an identical copy of itself,
at the cell's first sweep point, --repeats rounds with the two taking turns
as a cell's guests do. Nothing differs between them but the noise, so how
far their figures scatter is this machine's noise floor: per tool and
metric, the relative standard deviation of one repeat (or the difference
between the copies, if larger). Without NOTEBOOK it calibrates the builtin
load against redis-server on the host (clients = 10, requests = 2000).

The floor is kept per machine in $XDG_CACHE_HOME/benchbook/noise/ID.json
(~/.cache/...), ID a hash of the machine id and CPU count; a tool
calibrated again replaces its floor, the others stay. From then on run
copies the floor of each cell's tools into its results, so its report says
which differences are noise on the machine that measured them ("under
4.6 % ... are noise"), wherever it is rendered; verify and claims judge by
it, never less cautiously than by the runs' own spread.

It takes 2 × --repeats runs of the load per tool: the progress goes to
stderr (-q: none), the table to stdout. The stored results of NOTEBOOK
are not touched; the runs go to a scratch folder that is removed.

Example:

  benchbook calibrate --repeats 10 notebooks/unikernels-redis.toml
  tool     metric       guest  repeats  median        spread  A/A change  p-value  MDE 5+5  MDE 10+10
  builtin  ops_per_sec  host   10+10    52,311 ops/s  2.0 %   +0.4 %      p=0.684  4.6 %    2.8 %
  ...
  calibrate: wrote ~/.cache/benchbook/noise/3f2a9c1d0b7e.json: on this machine, differences under 4.6 % in ops_per_sec are noise at 5 + 5 repeats`,
		flags: func(fs *flag.FlagSet) any {
			o := &calibrateOpts{}
			fs.IntVar(&o.repeats, "repeats", 10, "rounds of the A/A test per tool (each runs the load twice)")
			fs.BoolVar(&o.quiet, "q", false, "no progress, only the table")
			return o
		},
		minArgs: 0, maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*calibrateOpts)
			if o.repeats < 2 || o.repeats > 1000 {
				return fmt.Errorf("--repeats %d: want 2 to 1000 rounds (10 is a good start)", o.repeats)
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
			defer stop()
			return runCalibrate(ctx, env, o, args)
		},
	}
}

// calibrateScratch names the scratch folders in os.TempDir().
const calibrateScratch = "benchbook-calibrate"

// defaultCalibration is what calibrate measures without a notebook.
const defaultCalibration = `title = "benchbook calibrate"
[guests.host]
kind    = "process"
command = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
[loads.quick]
tool     = "builtin"
clients  = 10
requests = 2000
[[cells]]
kind   = "bench"
id     = "quick"
guests = ["host"]
load   = "quick"
repeat = 1
`

func runCalibrate(ctx context.Context, env *cmdEnv, o *calibrateOpts, args []string) error {
	if _, err := tmpdir.Sweep(calibrateScratch); err != nil {
		fmt.Fprintf(env.stderr, "benchbook calibrate: %v\n", err)
	}
	scratch, err := tmpdir.New(calibrateScratch)
	if err != nil {
		return fmt.Errorf("scratch folder for the A/A runs: %w", err)
	}
	defer os.RemoveAll(scratch)
	nb, err := calibrationNotebook(env, scratch, args)
	if err != nil {
		return err
	}
	own := len(args) == 0
	aa, plans := aaNotebook(nb, o.repeats)
	if len(plans) == 0 {
		return fmt.Errorf("%s: no bench cell to calibrate with", nb.Path)
	}
	var progress io.Writer = env.stderr
	if o.quiet {
		progress = nil
	} else {
		for _, p := range plans {
			fmt.Fprintf(env.stderr, "calibrate: %s: %d rounds of guest %s against a copy of itself (cell %s of %s)\n", p.tool, o.repeats, p.guest, p.from, nb.Path)
		}
	}
	store := results.Store{Dir: filepath.Join(scratch, "results")}
	_, err = runner.Run(ctx, aa, store, runner.Options{Version: buildinfo.Version(), Progress: progress, Live: progress != nil && isTerminal(env.stderr)})
	if ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "benchbook calibrate: interrupted: every guest stopped; the noise floor is as it was\n")
		return silent(130, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("calibrate: the A/A runs failed: %w", err)
	}
	floor, err := measureFloor(aa, store, plans, own)
	if err != nil {
		return err
	}
	return storeFloor(env, floor, plans, o.repeats)
}

// calibrationNotebook is NOTEBOOK, or benchbook's own, written into dir.
func calibrationNotebook(env *cmdEnv, dir string, args []string) (*notebook.Notebook, error) {
	if len(args) == 1 {
		return parseValid(env, args[0])
	}
	path := filepath.Join(dir, "calibrate.toml")
	if err := os.WriteFile(path, []byte(defaultCalibration), 0o644); err != nil {
		return nil, err
	}
	return notebook.ParseFile(path)
}

// aaPlan is one tool's A/A test: cell id of the A/A cell, the cell and
// guest it copies.
type aaPlan struct {
	tool, cell, from, guest, twin, kind string
	metrics                             []string          // shown in the table
	units                               map[string]string // of the metrics, as the A/A run declares them
}

// aaNotebook is nb with one A/A cell per load tool in place of its cells:
// the first cell using the tool, its first guest and a twin of it (the same
// table under another name), the first value of each swept param.
func aaNotebook(nb *notebook.Notebook, repeats int) (*notebook.Notebook, []aaPlan) {
	aa := *nb
	aa.Guests = maps.Clone(nb.Guests)
	aa.Cells = nil
	var plans []aaPlan
	for _, c := range nb.BenchCells() {
		var sweep []notebook.SweepAxis
		vars := nb.ParamValues()
		for _, a := range c.Sweep {
			sweep = append(sweep, notebook.SweepAxis{Param: a.Param, Values: a.Values[:1]})
			vars[a.Param] = a.Values[0]
		}
		_, tool := nb.MetricsAt(c, vars)
		if tool == "" || len(c.Guests) == 0 || slices.ContainsFunc(plans, func(p aaPlan) bool { return p.tool == tool }) {
			continue
		}
		g := c.Guests[0]
		twin := g + "_twin"
		for aa.Guests[twin] != nil {
			twin += "_"
		}
		t := *nb.Guests[g]
		t.Name = twin
		aa.Guests[twin] = &t
		kind, _ := t.Values["kind"].(string)
		id := "calibrate-" + tool
		cell := &notebook.Cell{Index: len(aa.Cells), Kind: notebook.KindBench, ID: id, Guests: []string{g, twin},
			Load: c.Load, Repeat: repeats, Retry: c.Retry, Sweep: sweep}
		aa.Cells = append(aa.Cells, cell)
		plans = append(plans, aaPlan{tool: tool, cell: id, from: c.ID, guest: g, twin: twin, kind: kind, metrics: nb.DefaultMetrics(c)})
	}
	return &aa, plans
}

// measureFloor reads the A/A runs and computes each metric's floor (boot
// times are the guest's, not the tool's: left out). own says the notebook
// is benchbook's default one, which the floor does not name.
func measureFloor(aa *notebook.Notebook, store results.Store, plans []aaPlan, own bool) (*results.Noise, error) {
	floor := &results.Noise{Schema: results.NoiseSchema, Machine: machineID(), Tools: map[string]results.ToolNoise{}}
	for i, p := range plans {
		f, err := store.Load(p.cell)
		if err != nil {
			return nil, fmt.Errorf("calibrate: reading the A/A run of %s: %w", p.tool, err)
		}
		a, b := f.Guest(p.guest), f.Guest(p.twin)
		if a == nil || b == nil || a.Status != results.StatusOK || b.Status != results.StatusOK || len(a.Points) == 0 || len(b.Points) == 0 {
			return nil, fmt.Errorf("calibrate: %s: a guest of the A/A run was not measured", p.tool)
		}
		tn := results.ToolNoise{Calibrated: f.Finished, Benchbook: buildinfo.Version(), Guest: p.guest, Kind: p.kind,
			Repeats: len(a.Points[0].Repeats), Metrics: map[string]results.MetricNoise{}}
		if !own {
			tn.Notebook, tn.Cell = filepath.Base(aa.Path), p.from
		}
		plans[i].units = map[string]string{}
		for _, m := range slices.Sorted(maps.Keys(a.Points[0].Summary)) {
			if m == results.BootMs {
				continue
			}
			if mn, ok := results.Calibrate(repeatValues(a.Points[0], m), repeatValues(b.Points[0], m)); ok {
				tn.Metrics[m] = mn
				plans[i].units[m] = f.Metric(m).Unit
			}
		}
		if len(plans[i].metrics) == 0 {
			plans[i].metrics = slices.Sorted(maps.Keys(tn.Metrics))
		}
		floor.Tools[p.tool] = tn
	}
	return floor, nil
}

func repeatValues(p results.Point, metric string) []float64 {
	var out []float64
	for _, r := range p.Repeats {
		if v, ok := r.Metrics[metric]; ok {
			out = append(out, v)
		}
	}
	return out
}

// storeFloor prints the floor of each tool's headline metrics, merges it
// into this machine's and says what it means.
func storeFloor(env *cmdEnv, floor *results.Noise, plans []aaPlan, repeats int) error {
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "tool\tmetric\tguest\trepeats\tmedian\tspread\tA/A change\tp-value\tMDE 5+5\tMDE %d+%d\n", repeats, repeats)
	var drift []string
	for _, p := range plans {
		tn := floor.Tools[p.tool]
		n := tn.Repeats
		for _, m := range p.metrics {
			mn, ok := tn.Metrics[m]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d+%d\t%s\t%s\t%+.1f%%\tp=%.3f\t%s\t%s\n", p.tool, m, p.guest, n, n, figure(p.units[m], mn.Median),
				results.Pct(mn.Spread), mn.Change*100, mn.P, results.Pct(results.MDE(5, 5, mn.Spread, results.Alpha)), results.Pct(results.MDE(n, n, mn.Spread, results.Alpha)))
			if mn.P < results.Alpha {
				drift = append(drift, fmt.Sprintf("%s %s: the two identical guests differ by %+.1f %% (p = %.3f): the floor is that difference", p.tool, m, mn.Change*100, mn.P))
			}
		}
	}
	tw.Flush()
	for _, d := range drift {
		fmt.Fprintf(env.stderr, "calibrate: %s; the machine drifts or favours one turn: quieten it, or expect figures to move that much\n", d)
	}
	path, err := noisePath()
	if err != nil {
		return err
	}
	if err := saveNoise(path, floor); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "calibrate: wrote %s", path)
	if p := plans[0]; len(p.metrics) > 0 {
		if mn, ok := floor.Tools[p.tool].Metrics[p.metrics[0]]; ok {
			fmt.Fprintf(env.stdout, ": on this machine, differences under %s in %s are noise at 5 + 5 repeats",
				results.Pct(results.MDE(5, 5, mn.Spread, results.Alpha)), p.metrics[0])
		}
	}
	fmt.Fprintln(env.stdout)
	return nil
}

// Package runner executes a notebook's stale bench cells and writes what
// they measured to the results store. It never renders.
//
// For each bench cell, for each sweep point and repeat, it starts every guest
// in turn (host, vm, host, vm... so drift hits all guests alike), waits until
// it answers, runs the load, records the figures and stops the guest. A cell
// whose stored input hash matches is up to date and is not run again.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/machine"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
)

// Options select what to run and where progress goes.
type Options struct {
	Force   bool   // run every bench cell, fresh or not
	Only    string // run only this bench cell (fresh or not)
	Version string // benchbook's version, stored with the results

	// Progress receives human-readable progress. Live (updating) lines are
	// written only when Live is set, i.e. on a terminal; CI gets one plain
	// line per measurement.
	Progress io.Writer
	Live     bool

	// Trace, when set, is called at the steps of each repeat:
	// "guest-starting", "guest-ready", "load-started", "load-done",
	// "guest-stopped". Benchmarks of the runner's own overhead use it.
	Trace func(event string)

	// Stale says which cells are stale: StaleInputs (the default) runs
	// those whose inputs changed or that never ran; StaleEnv also those
	// whose environment changed (see Status), which probes this machine
	// before running.
	Stale string

	// Noise is this machine's noise floor (benchbook calibrate): each
	// cell's results keep the part its load tools have (File.NoiseFloor),
	// so its report says which differences were noise here. Nil: none.
	Noise *results.Noise

	// Image says how the built-in Linux micro-VM is built; the zero value
	// uses this machine's cloud kernel, its redis-server and benchbook
	// itself as the guest's init.
	Image image.BuildOptions
}

// Values of Options.Stale.
const (
	StaleInputs = "inputs"
	StaleEnv    = "env"
)

// Outcome is what happened to one bench cell.
type Outcome struct {
	Cell   string
	Status string // "up to date", "ran", "failed"
	Reason string // why it was stale, or why it failed
	Err    error
}

// Outcome statuses.
const (
	UpToDate = "up to date"
	Ran      = "ran"
	Failed   = "failed"
)

// CellState says whether a bench cell's stored results are fresh.
type CellState struct {
	Cell   string
	Fresh  bool   // the stored results' input hash is the cell's now
	Kind   string // KindFresh, KindStaleInputs, ...: what `benchbook status` says
	Reason string // for stale cells: "no stored results", "inputs changed"...
	Hash   string // the cell's current input hash

	// Failure is set when the newest run failed (a CELL.failed.json newer
	// than CELL.json, or alone): when, and its first line.
	Failure string
	// Env lists how what the stored results were measured with differs
	// from this machine now, and Unchecked the facts they recorded that
	// this machine could not tell ("redis (host): redis-server not
	// found"). Only Status fills them; State reads files only.
	Env       []results.EnvDiff
	Unchecked []string

	file *results.File // the last good results, when readable
}

// What a cell's stored results are, as `benchbook status` says it. A
// failed newest run outranks the rest: its last good results may still be
// fresh (and are what the report shows), which Reason says.
const (
	KindFresh       = "fresh"
	KindStaleInputs = "stale (inputs)"      // the input hash changed
	KindStaleEnv    = "stale (environment)" // versions, digests, kernel or CPU differ (Status only)
	KindNeverRun    = "never run"
	KindFailed      = "failed"
	KindUnreadable  = "unreadable"
)

// Reasons State gives.
const (
	reasonNoResults     = "no stored results"
	reasonInputsChanged = "inputs changed since the stored run (cell, guests, load or params)"
)

// State reports, for every bench cell, whether its stored results match
// the notebook as it is now. It reads files only: environment staleness,
// which needs probes, is Status's.
func State(nb *notebook.Notebook, store results.Store) []CellState {
	var out []CellState
	for _, c := range nb.BenchCells() {
		st := CellState{Cell: c.ID, Hash: nb.InputHash(c, nil)}
		f, err := store.Load(c.ID)
		switch {
		case errors.Is(err, os.ErrNotExist):
			st.Kind, st.Reason = KindNeverRun, reasonNoResults
		case err != nil:
			st.Kind, st.Reason = KindUnreadable, fmt.Sprintf("stored results unreadable: %v", err)
		case f.InputHash != st.Hash:
			st.Kind, st.Reason, st.file = KindStaleInputs, reasonInputsChanged, f
		case f.Incomplete != "":
			// A guest the cell needs failed and its figures are missing:
			// the cell runs again.
			st.Kind, st.Reason, st.file = KindFailed, "the stored run is incomplete: "+firstLineOf(f.Incomplete), f
			st.Failure = fmt.Sprintf("the newest run (%s) is incomplete: %s", f.Started.UTC().Format("2006-01-02 15:04 UTC"), firstLineOf(f.Incomplete))
		default:
			st.Kind, st.Fresh, st.file = KindFresh, true, f
		}
		if ff, err := store.LoadFailure(c.ID); err == nil && (f == nil || ff.Started.After(f.Started)) {
			st.Failure = fmt.Sprintf("the newest run (%s) failed: %s", ff.Started.UTC().Format("2006-01-02 15:04 UTC"), firstLineOf(ff.Failure))
			if st.Kind != KindUnreadable {
				st.Kind = KindFailed
			}
		}
		out = append(out, st)
	}
	return out
}

// Detail is what follows a cell's kind on its status line: why it is
// stale (the versions that differ), why its newest run failed, what could
// not be checked.
func (st CellState) Detail() string {
	var parts []string
	switch {
	case st.Failure != "":
		parts = append(parts, st.Failure)
		switch {
		case st.file == nil, st.file.Incomplete != "":
		case !st.Fresh:
			parts = append(parts, "the last good run is stale (inputs)")
		case len(st.Env) > 0:
			parts = append(parts, "the last good run is stale (environment): "+results.JoinEnvDiffs(st.Env))
		default:
			parts = append(parts, "the last good run is fresh")
		}
	case st.Kind == KindStaleEnv:
		parts = append(parts, results.JoinEnvDiffs(st.Env))
	case st.Kind == KindStaleInputs:
		parts = append(parts, "the cell, its guests, its load or the params it uses changed")
		if len(st.Env) > 0 {
			parts = append(parts, "environment too: "+results.JoinEnvDiffs(st.Env))
		}
	case st.Kind == KindUnreadable:
		parts = append(parts, st.Reason)
	}
	if len(st.Unchecked) > 0 {
		parts = append(parts, "not checked: "+strings.Join(st.Unchecked, "; "))
	}
	return strings.Join(parts, "; ")
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// ErrFailed is wrapped by Run's error when at least one cell failed.
var ErrFailed = errors.New("bench cells failed")

// Run executes the stale bench cells of nb. It returns one outcome per bench
// cell considered. A cancelled ctx stops every guest and load, writes
// nothing for the cell in progress, and returns ctx's error.
func Run(ctx context.Context, nb *notebook.Notebook, store results.Store, opt Options) ([]Outcome, error) {
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	if opt.Only != "" && nb.Bench(opt.Only) == nil {
		var ids []string
		for _, c := range nb.BenchCells() {
			ids = append(ids, c.ID)
		}
		return nil, fmt.Errorf("--only %s: %s has no bench cell %q (bench cells: %s)", opt.Only, nb.Path, opt.Only, strings.Join(ids, ", "))
	}
	if err := os.MkdirAll(store.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	unlock, err := lock(store.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Holding the lock, no live run uses this folder: staging folders in it
	// are a killed run's.
	removed, err := removeStaging(store.Dir)
	for _, p := range removed {
		fmt.Fprintf(opt.Progress, "removed %s: left by a run that was killed\n", p)
	}
	if err != nil {
		fmt.Fprintf(opt.Progress, "leftovers of a killed run: %v\n", err)
	}

	r := &run{nb: nb, store: store, opt: opt, probe: newProber(opt.Image)}
	var outcomes []Outcome
	var failed []string
	for _, st := range r.states(ctx) {
		if opt.Only != "" && st.Cell != opt.Only {
			continue
		}
		if st.Fresh && len(st.Env) == 0 && !opt.Force && opt.Only == "" {
			fmt.Fprintf(opt.Progress, "%s: up to date\n", st.Cell)
			outcomes = append(outcomes, Outcome{Cell: st.Cell, Status: UpToDate})
			continue
		}
		reason := st.Reason
		switch {
		case st.Fresh && len(st.Env) > 0:
			reason = "environment changed: " + results.JoinEnvDiffs(st.Env)
		case st.Fresh:
			reason = "forced"
		}
		var err error
		if _, lerr := store.Load(st.Cell); errors.Is(lerr, results.ErrNewerSchema) {
			// Its results could not be saved: say so before measuring.
			err = lerr
		} else {
			fmt.Fprintf(opt.Progress, "%s: running (%s)\n", st.Cell, reason)
			err = r.cell(ctx, nb.Bench(st.Cell), st.Hash)
		}
		if ctx.Err() != nil {
			return outcomes, fmt.Errorf("%s: interrupted; nothing was written for this cell: %w", st.Cell, ctx.Err())
		}
		if err != nil {
			fmt.Fprintf(opt.Progress, "%s: FAILED: %v\n", st.Cell, err)
			outcomes = append(outcomes, Outcome{Cell: st.Cell, Status: Failed, Reason: reason, Err: err})
			failed = append(failed, st.Cell)
			continue
		}
		outcomes = append(outcomes, Outcome{Cell: st.Cell, Status: Ran, Reason: reason})
	}
	if len(failed) > 0 {
		return outcomes, fmt.Errorf("%w: %s (see %s)", ErrFailed, strings.Join(failed, ", "), store.Dir)
	}
	return outcomes, nil
}

type run struct {
	nb    *notebook.Notebook
	store results.Store
	opt   Options
	env   *results.Env
	probe *prober // what this machine has now, for environment staleness

	images map[string]builtImage // the built-in Linux micro-VMs, each built once per run
	accels map[string]guest.Accel
}

// states are the cells' states, with their environment compared when
// Options.Stale asks for it.
func (r *run) states(ctx context.Context) []CellState {
	states := State(r.nb, r.store)
	if r.opt.Stale != StaleEnv {
		return states
	}
	for i := range states {
		if r.opt.Only == "" || states[i].Cell == r.opt.Only {
			r.probe.check(ctx, r.nb, &states[i])
		}
	}
	return states
}

// notebookDir is where relative paths of the notebook resolve.
func (r *run) notebookDir() string { return filepath.Dir(r.nb.Path) }

func (r *run) environment(ctx context.Context) results.Env {
	if r.env == nil {
		env := machine.Collect(ctx, r.opt.Version)
		env.Machine = machine.ID(env)
		r.env = &env
	}
	env := *r.env
	env.Tools = map[string]string{}
	return env
}

// sweepPoints expands the sweep axes into every combination, first axis
// slowest, so points come out in the order a reader expects.
func sweepPoints(axes []notebook.SweepAxis) []map[string]any {
	points := []map[string]any{{}}
	for _, a := range axes {
		var next []map[string]any
		for _, p := range points {
			for _, v := range a.Values {
				q := make(map[string]any, len(p)+1)
				for k, x := range p {
					q[k] = x
				}
				q[a.Param] = v
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

func describePoint(p map[string]any) string {
	if len(p) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return " [" + strings.Join(parts, " ") + "]"
}

func since(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

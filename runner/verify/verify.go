// Package verify reruns the bench cells of a notebook into a scratch store
// and tests, per guest, sweep point and metric, whether the stored figures
// still hold: repeat against repeat, by the Mann-Whitney U test of
// results.Compare, each judged holds, moved or inconclusive. The stored
// results are never touched.
//
// Run returns a typed Report; printing it is the command's business, as
// benchstat's main prints what internal/benchtab computed.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/internal/tmpdir"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

// Verdict is what a row says of its figure: results.Holds, Moved,
// Inconclusive or NotCompared, or RerunFailed for a cell whose rerun
// failed.
type Verdict = results.Verdict

// Verdicts.
const (
	Holds                = results.Holds        // within the noise, and the test could have seen a change
	Moved                = results.Moved        // p < alpha: changed beyond the noise
	Inconclusive         = results.Inconclusive // too few repeats or too much noise to tell (see Note)
	NotCompared          = results.NotCompared  // one run lacks the figure (see Note)
	RerunFailed  Verdict = "rerun failed"
)

// Options say what to verify and where the reruns' progress goes.
type Options struct {
	Only string // verify only this bench cell
	// Rule judges each figure: its alpha (p below it: moved) and its
	// tolerance (the largest minimum detectable effect at which a figure
	// may hold).
	Rule results.Rule
	// Noise is this machine's noise floor (benchbook calibrate), stored
	// with the reruns and used in the verdicts; nil when unknown.
	Noise *results.Noise
	// Metrics are the metrics to compare; none: each cell's default ones
	// (notebook.DefaultMetrics: its tool's primary metric, and the mean
	// and p99 latency where it has them).
	Metrics []string
	Version string // benchbook's version, stored with the reruns

	// Progress receives the reruns' progress (nil: none); Live as in
	// runner.Options.
	Progress io.Writer
	Live     bool

	// Notes receives, as they come up, what the reader should know beside
	// the table: cells without stored results, stale stored results, a
	// rerun on another machine, why a rerun failed. Nil: none.
	Notes io.Writer
}

// Row is one line of the report: one metric of one guest at one sweep
// point, or a cell whose rerun failed (Verdict RerunFailed, Failure set,
// no comparison).
type Row struct {
	Cell       string
	Comparison results.Comparison // guest, point, metric, medians, p-value, note
	Verdict    Verdict
	Failure    string // why the rerun failed
}

// Report is the outcome of a verification.
type Report struct {
	Rule    results.Rule
	Metrics []string // every metric compared, in the order first compared
	Rows    []Row

	Compared     int // figures both runs measured
	Holds        int // of those, figures that hold
	Moved        int // figures that moved
	Inconclusive int // figures the data cannot judge
	Failed       int // cells whose rerun failed
}

// OK reports whether every figure holds and every rerun succeeded.
func (r *Report) OK() bool { return r.Moved == 0 && r.Failed == 0 && r.Inconclusive == 0 }

// Run verifies the bench cells of nb that have stored results. A cancelled
// ctx stops the rerun in progress (every guest stopped) and returns the
// rows so far with an error wrapping ctx's.
func Run(ctx context.Context, nb *notebook.Notebook, opt Options) (*Report, error) {
	if opt.Notes == nil {
		opt.Notes = io.Discard
	}
	cells, err := plan(nb, opt)
	if err != nil {
		return nil, err
	}
	scratch, err := newScratch(opt.Notes)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	v := &verifier{
		nb:      nb,
		opt:     opt,
		scratch: results.Store{Dir: filepath.Join(scratch, "results")},
		report:  &Report{Rule: opt.Rule},
	}
	for _, c := range cells {
		v.metrics(c.cell) // listed even when a rerun fails
	}
	for _, c := range cells {
		if err := v.cell(ctx, c); err != nil {
			if ctx.Err() != nil {
				return v.report, fmt.Errorf("verify interrupted: %w", ctx.Err())
			}
			return nil, err
		}
	}
	return v.report, nil
}

// ScratchPrefix names the scratch folders in os.TempDir():
// benchbook-verify-PID-RANDOM.
const ScratchPrefix = "benchbook-verify"

// newScratch makes the folder the reruns go to, first removing those of
// verifications that were killed (their pid is dead): a cancelled ctx
// removes the folder on the way out, but SIGKILL leaves it.
func newScratch(notes io.Writer) (string, error) {
	removed, err := tmpdir.Sweep(ScratchPrefix)
	for _, p := range removed {
		fmt.Fprintf(notes, "removed %s: left by a verify that was killed\n", p)
	}
	if err != nil {
		fmt.Fprintf(notes, "benchbook verify: %v\n", err)
	}
	scratch, err := tmpdir.New(ScratchPrefix)
	if err != nil {
		return "", fmt.Errorf("scratch folder for the reruns: %w", err)
	}
	return scratch, nil
}

// stored is a bench cell to verify with its stored results.
type stored struct {
	cell *notebook.Cell
	file *results.File
}

// plan picks the bench cells that have stored results, saying which have
// none and which are stale.
func plan(nb *notebook.Notebook, opt Options) ([]stored, error) {
	store := results.ForNotebook(nb.Path)
	if opt.Only != "" && nb.Bench(opt.Only) == nil {
		return nil, fmt.Errorf("--only %s: %s has no bench cell %q", opt.Only, nb.Path, opt.Only)
	}
	var cells []stored
	for _, c := range nb.BenchCells() {
		if opt.Only != "" && c.ID != opt.Only {
			continue
		}
		f, err := store.Load(c.ID)
		switch {
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(opt.Notes, "%s: no stored results to verify (benchbook run %s makes them)\n", c.ID, nb.Path)
			continue
		case err != nil:
			return nil, err
		}
		if f.InputHash != nb.InputHash(c, nil) {
			fmt.Fprintf(opt.Notes, "%s: the stored results are stale (the cell, its guests, its load or its params changed): the rerun measures the notebook as it is now\n", c.ID)
		}
		cells = append(cells, stored{cell: c, file: f})
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("%s: nothing to verify: no bench cell has stored results", nb.Path)
	}
	return cells, nil
}

type verifier struct {
	nb      *notebook.Notebook
	opt     Options
	scratch results.Store
	report  *Report
}

// cell reruns one cell into the scratch store and adds its rows: one per
// comparison, or one saying the rerun failed. The error is for what stops
// the whole verification (an interrupt, an unreadable rerun).
func (v *verifier) cell(ctx context.Context, s stored) error {
	_, err := runner.Run(ctx, v.nb, v.scratch, runner.Options{
		Only:     s.cell.ID,
		Version:  v.opt.Version,
		Noise:    v.opt.Noise,
		Progress: v.opt.Progress,
		Live:     v.opt.Live,
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var rerun *results.File
	if err != nil {
		// A rerun in which some guests failed while others were measured
		// in full stores their figures (runner's keep going): those are
		// compared, the failed guests each get a row saying why.
		partial, lerr := v.scratch.Load(s.cell.ID)
		if lerr != nil || partial.Incomplete == "" {
			v.failed(s.cell.ID, err)
			return nil
		}
		rerun = partial
		v.report.Failed++
	} else if rerun, err = v.scratch.Load(s.cell.ID); err != nil {
		return fmt.Errorf("%s: reading the rerun: %w", s.cell.ID, err)
	}
	failed := map[string]bool{}
	for _, g := range rerun.Guests {
		if g.Status == results.StatusFailed {
			failed[g.Name] = true
			fmt.Fprintf(v.opt.Notes, "%s: rerun of guest %s failed: %s\n", s.cell.ID, g.Name, g.Reason)
			v.report.Rows = append(v.report.Rows, Row{Cell: s.cell.ID, Comparison: results.Comparison{Guest: g.Name}, Verdict: RerunFailed, Failure: g.Reason})
		}
	}
	noteMachine(v.opt.Notes, s.cell.ID, s.file, rerun)
	metrics := v.metrics(s.cell)
	for _, cmp := range results.Compare(s.file, rerun, metrics, v.opt.Rule) {
		if failed[cmp.Guest] {
			continue
		}
		v.report.Rows = append(v.report.Rows, Row{Cell: s.cell.ID, Comparison: cmp, Verdict: cmp.Verdict})
		if cmp.Comparable {
			v.report.Compared++
		}
		switch cmp.Verdict {
		case Holds:
			v.report.Holds++
		case Moved:
			v.report.Moved++
		case Inconclusive:
			v.report.Inconclusive++
		}
	}
	return nil
}

// metrics are the metrics compared for cell c: those asked for, or the
// cell's defaults; the report lists every one.
func (v *verifier) metrics(c *notebook.Cell) []string {
	metrics := v.opt.Metrics
	if len(metrics) == 0 {
		metrics = v.nb.DefaultMetrics(c)
	}
	for _, m := range metrics {
		if !slices.Contains(v.report.Metrics, m) {
			v.report.Metrics = append(v.report.Metrics, m)
		}
	}
	return metrics
}

// failed records a cell whose rerun failed. The scratch folder goes away:
// the note says what the rerun recorded.
func (v *verifier) failed(cell string, err error) {
	v.report.Failed++
	why := err.Error()
	if f, ferr := v.scratch.LoadFailure(cell); ferr == nil {
		why = f.Failure
		fmt.Fprintf(v.opt.Notes, "%s: rerun failed: %s\n", cell, f.Failure)
	}
	v.report.Rows = append(v.report.Rows, Row{Cell: cell, Verdict: RerunFailed, Failure: why})
}

// noteMachine says when the rerun ran somewhere else than the stored run:
// then a moved figure may be the machine's doing.
func noteMachine(w io.Writer, cell string, old, rerun *results.File) {
	var diffs []string
	if old.Env.CPUModel != rerun.Env.CPUModel {
		diffs = append(diffs, fmt.Sprintf("CPU %q, now %q", old.Env.CPUModel, rerun.Env.CPUModel))
	}
	if old.Env.Cores != rerun.Env.Cores {
		diffs = append(diffs, fmt.Sprintf("%d cores, now %d", old.Env.Cores, rerun.Env.Cores))
	}
	if old.Env.Kernel != rerun.Env.Kernel {
		diffs = append(diffs, fmt.Sprintf("kernel %s, now %s", old.Env.Kernel, rerun.Env.Kernel))
	}
	if len(diffs) > 0 {
		fmt.Fprintf(w, "%s: the stored results came from another machine (%s): a change may be the machine's\n", cell, strings.Join(diffs, "; "))
	}
}

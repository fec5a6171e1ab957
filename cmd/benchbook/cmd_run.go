package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/benchbook/benchbook/internal/buildinfo"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

type runOpts struct {
	force  bool
	only   string
	stale  string
	params multiFlag
	quiet  bool
	raw    int
}

func runCommand() *command {
	return &command{
		name:  "run",
		args:  "[-p key=value]... [--force | --only ID | --stale=env] NOTEBOOK",
		short: "run a notebook's stale bench cells and store their results",
		long: `Runs the bench cells of NOTEBOOK whose stored results are missing or
stale (their input hash -- the cell, its guests and load, the params they
use -- changed), and stores what they measured in NOTEBOOK.results/ as one
JSON file per cell, with the environment it came from. Cells that are up to
date are not run again.

--stale=env also reruns the cells whose inputs are unchanged but whose
environment is not: the load tool, redis or another known server, qemu,
the built-in image or a VM's disk, the kernel or the CPU differ from what
the stored results were measured with (benchbook status lists them, and
says how it finds out). The default, --stale=inputs, does not look.

Each repeat starts every guest in turn, waits until redis answers PING, runs
the load and stops the guest. A failed cell records its failure in
CELL.failed.json and never replaces the last good CELL.json. Every good
run is also appended to the cell's history, CELL.history.jsonl (benchbook
history shows it); the newest --keep-raw runs keep their raw repeats there,
older ones their summaries only. Ctrl-C stops
every guest and load, writes nothing half-done, and exits with status 130.

Example:

  benchbook run notebooks/unikernels-redis.toml
  benchbook run -p clients=50 --only throughput notebooks/unikernels-redis.toml
  benchbook run --stale=env notebooks/unikernels-redis.toml`,
		flags: func(fs *flag.FlagSet) any {
			o := &runOpts{}
			fs.BoolVar(&o.force, "force", false, "run every bench cell, even up-to-date ones")
			fs.StringVar(&o.only, "only", "", "run only the bench cell with this `id`")
			fs.StringVar(&o.stale, "stale", runner.StaleInputs, "which cells are stale: `inputs` (the input hash changed) or env (that, or the environment)")
			fs.Var(&o.params, "p", "override a param, as `key=value` (repeatable); the value keeps the param's type")
			fs.BoolVar(&o.quiet, "q", false, "print only failures")
			fs.IntVar(&o.raw, "keep-raw", results.DefaultKeepRaw, "how many of a cell's newest runs keep their raw repeats in its history (`N`; -1: all)")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			return runNotebook(ctx, env, opts.(*runOpts), args[0])
		},
	}
}

// runNotebook runs the stale cells of the notebook at path and says how it
// went.
func runNotebook(ctx context.Context, env *cmdEnv, o *runOpts, path string) error {
	if o.force && o.only != "" {
		return fmt.Errorf("--force and --only: choose one (--only always runs its cell)")
	}
	if err := checkStale(o); err != nil {
		return err
	}
	nb, err := parseValid(env, path)
	if err != nil {
		return err
	}
	if err := nb.Override(o.params); err != nil {
		return err
	}
	progress := env.stdout
	if o.quiet {
		progress = nil
	}
	if o.raw == 0 || o.raw < -1 {
		return fmt.Errorf("--keep-raw=%d: want a count of runs from 1, or -1 to keep every run's repeats", o.raw)
	}
	store := results.ForNotebook(nb.Path)
	store.KeepRaw = o.raw
	outcomes, err := runner.Run(ctx, nb, store, runner.Options{
		Force:    o.force,
		Only:     o.only,
		Stale:    o.stale,
		Version:  buildinfo.Version(),
		Progress: progress,
		Live:     !o.quiet && isTerminal(env.stdout),
		Noise:    loadNoise(env),
	})
	if ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "benchbook run: interrupted: every guest stopped; results of finished cells are kept, nothing was written for the cell in progress\n")
		return silent(130, ctx.Err())
	}
	ran, fresh := 0, 0
	for _, oc := range outcomes {
		switch oc.Status {
		case runner.Ran:
			ran++
		case runner.UpToDate:
			fresh++
		}
	}
	if errors.Is(err, runner.ErrFailed) {
		for _, oc := range outcomes {
			if oc.Err != nil {
				fmt.Fprintf(env.stderr, "benchbook run: cell %s failed: %v\n", oc.Cell, oc.Err)
			}
		}
		return silent(1, err)
	}
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(env.stdout, "ran %d, up to date %d\n", ran, fresh)
	}
	return nil
}

// checkStale refuses a --stale value run does not know, and one that
// --force or --only make moot.
func checkStale(o *runOpts) error {
	switch {
	case o.stale != runner.StaleInputs && o.stale != runner.StaleEnv:
		return fmt.Errorf("--stale=%s: want inputs (the default) or env", o.stale)
	case o.stale == runner.StaleEnv && (o.force || o.only != ""):
		return fmt.Errorf("--stale=env and --force or --only: choose one (those run their cells whatever their state)")
	}
	return nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == ""
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

type statusOpts struct {
	params multiFlag
}

func statusCommand() *command {
	return &command{
		name:  "status",
		args:  "[-p key=value]... NOTEBOOK...",
		short: "say which bench cells are fresh, stale and why, failed or never run",
		long: `Prints every bench cell of each NOTEBOOK (a notebook, or a folder of them)
with the state of its stored results, one line each:

  fresh                the results match the notebook and this machine
  stale (inputs)       the cell, its guests, its load or the params it uses
                       changed since the run (the input hash)
  stale (environment)  what the results were measured with differs from this
                       machine now; the line names each fact, old -> new
  failed               the newest run failed (CELL.failed.json); the report
                       shows the last good run, whose state the line adds
  never run            no stored results

The environment is the CPU model and the kernel, the load tool's version,
and per guest: redis's version (redis-server --version, for process guests
and the built-in image, which holds the host's redis-server), the version
of nginx, memcached or iperf3 run as a process guest (other programs are
not asked), qemu's version, the built-in image's digest and kernel, and
the digests of a VM's kernel, initrd and disk files. Only what both the
stored run and this machine tell is compared; a fact the run recorded that
this machine cannot tell now is listed as not checked. Finding them runs
those programs' version flags and reads the built-in image's inputs; it
starts no guest and writes nothing.

benchbook run --stale=env reruns the cells stale (environment). Rendering
and build never run a probe: reports show what the results recorded (see
docs/results.md).

The exit status is 0 when every cell is fresh, 1 when any is not (or a
notebook has problems), so CI can gate on it.

Example:

  benchbook status notebooks/unikernels-redis.toml
  throughput  stale (environment): kernel 6.1.0-56 → 6.1.0-57, redis 7.0.15 → 7.2.4 (host, linux)
  scaling     fresh
  status: 2 cells: 1 fresh, 1 stale (environment)`,
		flags: func(fs *flag.FlagSet) any {
			o := &statusOpts{}
			fs.Var(&o.params, "p", "override a param, as `key=value` (repeatable), as run -p does")
			return o
		},
		minArgs: 1, maxArgs: -1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			return runStatus(ctx, env, opts.(*statusOpts), args)
		},
	}
}

// runStatus prints the state of every bench cell of the notebooks of args.
func runStatus(ctx context.Context, env *cmdEnv, o *statusOpts, args []string) error {
	paths, err := notebookPaths(args)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	total, problems := 0, 0
	for _, p := range paths {
		nb, err := parseValid(env, p)
		if err == nil {
			err = nb.Override(o.params)
		}
		if err != nil {
			var ee *exitError
			if !errors.As(err, &ee) {
				fmt.Fprintf(env.stderr, "benchbook status: %s: %v\n", p, err)
			}
			problems++
			continue
		}
		states := runner.Status(ctx, nb, results.ForNotebook(nb.Path), runner.StatusOptions{})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		indent := ""
		if len(paths) > 1 {
			fmt.Fprintln(env.stdout, p)
			indent = "  "
		}
		printStates(env.stdout, indent, states)
		for _, st := range states {
			counts[st.Kind]++
		}
		total += len(states)
	}
	fmt.Fprintln(env.stdout, statusSummary(total, counts))
	switch {
	case problems > 0:
		return silent(1, fmt.Errorf("%s with problems", plural(problems, "notebook")))
	case counts[runner.KindFresh] < total:
		return silent(1, fmt.Errorf("%d of %d cells are not fresh", total-counts[runner.KindFresh], total))
	}
	return nil
}

// printStates writes one line per cell, the ids padded to one width.
func printStates(w io.Writer, indent string, states []runner.CellState) {
	if len(states) == 0 {
		fmt.Fprintf(w, "%sno bench cells\n", indent)
		return
	}
	width := 0
	for _, st := range states {
		width = max(width, len(st.Cell))
	}
	for _, st := range states {
		line := fmt.Sprintf("%s%-*s  %s", indent, width, st.Cell, st.Kind)
		if d := st.Detail(); d != "" {
			line += ": " + d
		}
		fmt.Fprintln(w, line)
	}
}

// statusKinds is the order the summary counts kinds in.
var statusKinds = []string{runner.KindFresh, runner.KindStaleInputs, runner.KindStaleEnv, runner.KindFailed, runner.KindNeverRun, runner.KindUnreadable}

// statusSummary is "status: 3 cells: 1 fresh, 1 stale (environment), 1 never run".
func statusSummary(total int, counts map[string]int) string {
	var parts []string
	for _, k := range statusKinds {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	s := "status: " + plural(total, "cell")
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

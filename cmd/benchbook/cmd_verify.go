package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/benchbook/benchbook/internal/buildinfo"
	"github.com/benchbook/benchbook/internal/numfmt"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/verify"
)

type verifyOpts struct {
	only    string
	alpha   float64
	metrics string
	quiet   bool
}

func verifyCommand() *command {
	return &command{
		name:  "verify",
		args:  "[--only ID] [--alpha 0.05] [--metrics a,b] NOTEBOOK",
		short: "rerun the bench cells and test whether the stored results still hold",
		long: `Reruns the bench cells of NOTEBOOK that have stored results, into a scratch
folder -- the stored results are never touched -- and compares each metric
of each guest (and sweep point) with them, repeat against repeat, by a
Mann-Whitney U test as benchstat does: no assumption of normality, a single
slow repeat cannot move it. One line per guest and metric gives the old and
new medians, the change, the p-value and the verdict: "moved" when p < alpha
(the figures have changed beyond the noise), else "holds". With few repeats
the test cannot tell a change at all (3 against 3 repeats never give p below
0.1); the line says so: run the cell with more repeats.

Without --metrics, each cell is compared on its load tool's primary metric
(ops_per_sec for the redis tools, iops for fio, events_per_sec for sysbench,
wall_ms for a command...), with latency_avg and latency_p99 where the tool
has them.

The exit status is 1 when a metric moved or a rerun failed, so CI can
check that a published write-up still reproduces.

The scratch folder is $TMPDIR/benchbook-verify-PID-*; verify removes it
when it ends, also on SIGINT, SIGTERM or SIGHUP (exit status 130). One
left by a verify that was killed outright is removed at the next start.

Example:

  benchbook verify notebooks/unikernels-redis.toml
  cell        guest  metric       old median    new median    delta  p-value  verdict
  throughput  host   ops_per_sec  61,234 ops/s  60,870 ops/s  -0.6%  p=0.690  holds
  throughput  host   latency_avg  160 µs        161 µs        +0.5%  p=0.841  holds
  ...
  verify: 0 of 9 figures moved (α = 0.05, ...); stored results untouched`,
		flags: func(fs *flag.FlagSet) any {
			o := &verifyOpts{}
			fs.StringVar(&o.only, "only", "", "verify only the bench cell with this `id`")
			fs.Float64Var(&o.alpha, "alpha", results.Alpha, "significance `level`: a p-value below it means the metric moved")
			fs.StringVar(&o.metrics, "metrics", "", "comma-separated `metrics` to compare (default: each cell's primary metrics)")
			fs.BoolVar(&o.quiet, "q", false, "no progress of the rerun, only the comparison")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*verifyOpts)
			if o.alpha <= 0 || o.alpha >= 1 {
				return fmt.Errorf("--alpha %g: want a level between 0 and 1, such as 0.05", o.alpha)
			}
			nb, err := parseValid(env, args[0])
			if err != nil {
				return err
			}
			metrics, err := verifyMetrics(nb, o)
			if err != nil {
				return err
			}
			// SIGHUP (the terminal went away) ends verify as SIGINT does:
			// guests stopped, scratch folder removed. Its default action
			// would kill benchbook on the spot and leave both behind.
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
			defer stop()
			return runVerify(ctx, env, nb, o, metrics)
		},
	}
}

// verifyMetrics are the metrics --metrics names, each one that a cell to
// verify produces; none when it is not given.
func verifyMetrics(nb *notebook.Notebook, o *verifyOpts) ([]string, error) {
	if strings.TrimSpace(o.metrics) == "" {
		return nil, nil
	}
	var cells []*notebook.Cell
	for _, c := range nb.BenchCells() {
		if o.only == "" || c.ID == o.only {
			cells = append(cells, c)
		}
	}
	metrics := strings.Split(o.metrics, ",")
	for i, m := range metrics {
		metrics[i] = strings.TrimSpace(m)
		problem := ""
		for j, c := range cells {
			msg := nb.UnknownMetric(c, metrics[i])
			if msg == "" {
				problem = ""
				break
			}
			if j == 0 {
				problem = msg
			}
		}
		if problem != "" {
			return nil, fmt.Errorf("--metrics: %s", problem)
		}
	}
	return metrics, nil
}

func runVerify(ctx context.Context, env *cmdEnv, nb *notebook.Notebook, o *verifyOpts, metrics []string) error {
	var progress io.Writer = env.stderr
	if o.quiet {
		progress = nil
	}
	report, err := verify.Run(ctx, nb, verify.Options{
		Only:     o.only,
		Alpha:    o.alpha,
		Metrics:  metrics,
		Version:  buildinfo.Version(),
		Progress: progress,
		Live:     progress != nil && isTerminal(env.stderr),
		Notes:    env.stderr,
	})
	if err != nil && ctx.Err() != nil && report != nil {
		printVerifyTable(env.stdout, report)
		fmt.Fprintf(env.stderr, "benchbook verify: interrupted: every guest stopped; the stored results are untouched\n")
		return silent(130, ctx.Err())
	}
	if err != nil {
		return err
	}
	printVerifyTable(env.stdout, report)
	summary := fmt.Sprintf("verify: %d of %s moved (α = %g, Mann-Whitney U on medians of %s); stored results untouched",
		report.Moved, plural(report.Compared, "figure"), report.Alpha, strings.Join(report.Metrics, ", "))
	if report.Failed > 0 {
		summary += fmt.Sprintf("; %s failed to rerun", plural(report.Failed, "cell"))
	}
	fmt.Fprintln(env.stdout, summary)
	if !report.OK() {
		return silent(1, errors.New(summary))
	}
	return nil
}

// printVerifyTable prints one line per row: the figure's medians, change,
// p-value and verdict, or why the cell's rerun failed.
func printVerifyTable(w io.Writer, report *verify.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tguest\tmetric\told median\tnew median\tdelta\tp-value\tverdict")
	for _, row := range report.Rows {
		if row.Verdict == verify.RerunFailed {
			fmt.Fprintf(tw, "%s\t(rerun failed: %s)\n", row.Cell, firstLine(row.Failure))
			continue
		}
		cmp := row.Comparison
		guest := cmp.Guest
		if cmp.Point != "" {
			guest += " [" + cmp.Point + "]"
		}
		note := ""
		if cmp.Note != "" {
			note = "\t(" + cmp.Note + ")"
		}
		if !cmp.Comparable {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t%s%s\n", row.Cell, guest, cmp.Metric, row.Verdict, note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\tp=%.3f\t%s%s\n", row.Cell, guest, cmp.Metric,
			figure(cmp.Unit, cmp.OldMedian), figure(cmp.Unit, cmp.NewMedian), percent(cmp.Delta), cmp.P, row.Verdict, note)
	}
	tw.Flush()
}

// figure formats a median with its unit, prefixed as reports write it
// (results.Scale): "61,234 ops/s", "160 µs", "123 MB/s".
func figure(unit string, v float64) string {
	div, unit := results.Scale(unit, v)
	v /= div
	var s string
	switch a := math.Abs(v); {
	case a >= 1000:
		s = numfmt.Group(int64(math.Round(v)))
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

func percent(d float64) string {
	if math.IsNaN(d) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", d*100)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

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
	only      string
	alpha     float64
	tolerance string
	metrics   string
	quiet     bool

	rule results.Rule // from alpha and tolerance, by checkVerify
}

func verifyCommand() *command {
	return &command{
		name:  "verify",
		args:  "[--only ID] [--alpha 0.05] [--tolerance 10%] [--metrics a,b] NOTEBOOK",
		short: "rerun the bench cells and test whether the stored results still hold",
		long: `Reruns the bench cells of NOTEBOOK that have stored results, into a scratch
folder -- the stored results are never touched -- and compares each metric
of each guest (and sweep point) with them, repeat against repeat, by a
Mann-Whitney U test as benchstat does: no assumption of normality, a single
slow repeat cannot move it. One line per guest and metric gives the old and
new medians, the change, the p-value and one of three verdicts:

  moved         p < alpha: the figure changed beyond the noise.
  holds         the test could have shown a change, and the change is
                within what the noise explains: under the minimum
                detectable effect (MDE, the change these repeats show 8
                times in 10 at the runs' spread, or this machine's noise
                floor from benchbook calibrate if larger), inside both
                medians' 95 % intervals, with an MDE under --tolerance.
  inconclusive  anything else, and the line says why: too few repeats
                (3 against 3 never give p below 0.1: "run at least 4 + 4"),
                too noisy ("only changes over 23 % would show"), or a
                change the noise does not explain that the test does not
                confirm ("run more repeats").

A -70 % change is never "holds". docs/results.md explains the rule.

Without --metrics, each cell is compared on its load tool's primary metric
(ops_per_sec for the redis tools, iops for fio, events_per_sec for sysbench,
wall_ms for a command...), with latency_avg and latency_p99 where the tool
has them.

The exit status is 1 when a metric moved or a rerun failed, 3 when none
did but some figures are inconclusive, and 0 only when every figure holds,
so CI can check that a published write-up still reproduces.

The scratch folder is $TMPDIR/benchbook-verify-PID-*; verify removes it
when it ends, also on SIGINT, SIGTERM or SIGHUP (exit status 130). One
left by a verify that was killed outright is removed at the next start.

Example:

  benchbook verify notebooks/unikernels-redis.toml
  cell        guest  metric       old median    new median    delta  p-value  verdict
  throughput  host   ops_per_sec  61,234 ops/s  60,870 ops/s  -0.6%  p=0.690  holds (changes over 4.1 % would show)
  throughput  osv    ops_per_sec  18,120 ops/s  5,310 ops/s   -70.7% p=0.100  inconclusive (3 + 3 repeats cannot show a change ...)
  ...
  verify: 9 figures: 0 moved, 6 hold, 3 inconclusive (α = 0.05, ...); stored results untouched`,
		flags: func(fs *flag.FlagSet) any {
			o := &verifyOpts{}
			fs.StringVar(&o.only, "only", "", "verify only the bench cell with this `id`")
			fs.Float64Var(&o.alpha, "alpha", results.Alpha, "significance `level`: a p-value below it means the metric moved")
			fs.StringVar(&o.tolerance, "tolerance", "10%", "the largest minimum detectable `effect` at which a figure may hold")
			fs.StringVar(&o.metrics, "metrics", "", "comma-separated `metrics` to compare (default: each cell's primary metrics)")
			fs.BoolVar(&o.quiet, "q", false, "no progress of the rerun, only the comparison")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: onNotebook(checkVerify, func(ctx context.Context, env *cmdEnv, o *verifyOpts, nb *notebook.Notebook) error {
			metrics, err := verifyMetrics(nb, o)
			if err != nil {
				return err
			}
			// SIGHUP (the terminal went away) ends verify as SIGINT does:
			// guests stopped, scratch folder removed. Its default action
			// would kill benchbook on the spot and leave both behind.
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
			defer stop()
			return runVerify(ctx, env, nb, o, o.rule, metrics)
		}),
	}
}

func checkVerify(o *verifyOpts) (err error) {
	o.rule, err = verifyRule(o)
	return err
}

// verifyRule checks --alpha and --tolerance: finite, between 0 and 1
// (NaN compares false with everything, so the test is written to refuse
// it).
func verifyRule(o *verifyOpts) (results.Rule, error) {
	if !(o.alpha > 0 && o.alpha < 1) {
		return results.Rule{}, fmt.Errorf("--alpha %g: want a level between 0 and 1, such as 0.05", o.alpha)
	}
	tol, err := parseFraction(o.tolerance)
	if err != nil || !(tol > 0 && tol <= 1) {
		return results.Rule{}, fmt.Errorf("--tolerance %q: want a percentage above 0 and at most 100%%, such as 10%%", o.tolerance)
	}
	return results.Rule{Alpha: o.alpha, Tolerance: tol}, nil
}

// parseFraction reads "10%" as 0.1, and "0.1" as it is.
func parseFraction(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		return v / 100, err
	}
	return strconv.ParseFloat(s, 64)
}

// verifyMetrics are the metrics --metrics names, each one that a cell to
// verify produces; none when it is not given.
func verifyMetrics(nb *notebook.Notebook, o *verifyOpts) ([]string, error) {
	if strings.TrimSpace(o.metrics) == "" {
		return nil, nil
	}
	cells := benchCellsOnly(nb, o.only)
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

func runVerify(ctx context.Context, env *cmdEnv, nb *notebook.Notebook, o *verifyOpts, rule results.Rule, metrics []string) error {
	var progress io.Writer = env.stderr
	if o.quiet {
		progress = nil
	}
	report, err := verify.Run(ctx, nb, verify.Options{
		Only:     o.only,
		Rule:     rule,
		Noise:    loadNoise(env),
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
	summary := verifySummary(report)
	fmt.Fprintln(env.stdout, summary)
	switch {
	case report.Moved > 0 || report.Failed > 0:
		return silent(1, errors.New(summary))
	case report.Inconclusive > 0:
		return silent(3, errors.New(summary))
	}
	return nil
}

// verifySummary is the last line: every verdict counted.
func verifySummary(r *verify.Report) string {
	holds := "hold"
	if r.Holds == 1 {
		holds = "holds"
	}
	s := fmt.Sprintf("verify: %s: %d moved, %d %s, %d inconclusive (α = %g, Mann-Whitney U on medians of %s); stored results untouched",
		plural(r.Compared, "figure"), r.Moved, r.Holds, holds, r.Inconclusive, r.Rule.Alpha, strings.Join(r.Metrics, ", "))
	if r.Failed > 0 {
		s += fmt.Sprintf("; %s failed to rerun", plural(r.Failed, "cell"))
	}
	return s
}

// printVerifyTable prints one line per row: the figure's medians, change,
// p-value and verdict, or why the cell's rerun failed.
func printVerifyTable(w io.Writer, report *verify.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tguest\tmetric\told median\tnew median\tdelta\tp-value\tverdict")
	for _, row := range report.Rows {
		if row.Verdict == verify.RerunFailed {
			if row.Comparison.Guest != "" {
				fmt.Fprintf(tw, "%s\t%s\t(rerun failed: %s)\n", row.Cell, row.Comparison.Guest, firstLine(row.Failure))
			} else {
				fmt.Fprintf(tw, "%s\t(rerun failed: %s)\n", row.Cell, firstLine(row.Failure))
			}
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

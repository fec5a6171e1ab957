package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// execute runs the cell's matrix: at each sweep point, rounds in which
// every guest still measured takes its turn (host, vm, host, vm... so slow
// drift of the machine spreads over all of them), a fixed count of them or,
// for an adaptive repeat, until its stop rule says enough. A guest that
// fails is given up once its retries are spent, and the others go on; the
// error then names every guest the cell needed that failed
// (*guestFailures). An interrupt returns ctx's error at once.
func (cr *cellRun) execute(ctx context.Context) error {
	if err := cr.prepare(ctx); err != nil {
		return err
	}
	defer func() {
		for gi := range cr.kept {
			cr.stopKept(ctx, gi)
		}
	}()
	cr.began = time.Now()
	for pi := range cr.points {
		if err := cr.point(ctx, pi); err != nil {
			return err
		}
	}
	return cr.failures.err()
}

// point runs the rounds of sweep point pi.
func (cr *cellRun) point(ctx context.Context, pi int) error {
	start, share := time.Now(), cr.budgetShare(pi)
	for round := 0; ; round++ {
		stop, done := cr.enough(pi, round, time.Since(start), share)
		if done {
			if stop != nil {
				cr.recordStop(pi, *stop, time.Since(start))
			}
			return nil
		}
		for gi := range cr.cell.Guests {
			if !cr.active[gi] {
				continue
			}
			if err := cr.attempt(ctx, gi, pi, round); err != nil {
				return err
			}
		}
	}
}

// enough says whether point pi is done after rounds rounds, spent time
// in them, and for an adaptive repeat why it stopped. A fixed count stops
// at its count; an adaptive repeat always runs min rounds, then stops once
// every guest's 95 % interval of the median of the primary metric is within
// ±target of it, or max rounds are done, or another round (as long as
// their mean so far) would overrun this point's share of the budget. No
// guest left to measure stops either.
func (cr *cellRun) enough(pi, rounds int, spent, share time.Duration) (*results.Stop, bool) {
	rule := cr.cell.Adaptive
	if rule == nil {
		return nil, rounds >= cr.cell.Repeat || !cr.anyActive()
	}
	metric := cr.primaryMetric(pi)
	stop := func(reason string, interval float64) (*results.Stop, bool) {
		return &results.Stop{Reason: reason, Rounds: rounds, Metric: metric, Target: rule.Target, Interval: interval}, true
	}
	if !cr.anyActive() {
		return nil, true // the failures say why
	}
	if rounds < rule.Min {
		return nil, false
	}
	w := cr.widest(pi, metric)
	switch {
	case rule.Target > 0 && w >= 0 && w <= rule.Target:
		return stop(results.StopTarget, w)
	case rounds >= rule.Max:
		return stop(results.StopMax, w)
	case rule.Budget > 0 && spent+spent/time.Duration(rounds) > share:
		return stop(results.StopBudget, w)
	}
	if rule.Target > 0 {
		cr.done("%s%s: round %d: %s, target ±%s %%", cr.cell.ID, describePoint(cr.points[pi]), rounds, results.IntervalText(w), figure(rule.Target*100))
	}
	return nil, false
}

// recordStop stores why point pi stopped on every guest measured there,
// each with its own interval, and says it in the progress with the widest.
func (cr *cellRun) recordStop(pi int, stop results.Stop, spent time.Duration) {
	stop.Seconds = spent.Seconds()
	for gi := range cr.cell.Guests {
		if cr.active[gi] {
			s := stop
			s.Interval = cr.interval(gi, pi, stop.Metric)
			cr.file.Guests[gi].Points[pi].Stop = &s
		}
	}
	cr.done("%s%s: %s", cr.cell.ID, describePoint(cr.points[pi]), stop)
}

// budgetShare is the time point pi may spend: what is left of the
// budget, shared equally by it and the points after it, so a point that
// needs fewer rounds leaves more to the others. Zero without a budget.
func (cr *cellRun) budgetShare(pi int) time.Duration {
	rule := cr.cell.Adaptive
	if rule == nil || rule.Budget == 0 {
		return 0
	}
	left := max(rule.Budget-time.Since(cr.began), 0)
	return left / time.Duration(len(cr.points)-pi)
}

// widest is the widest relative 95 % interval of the median of metric
// among the guests still measured at point pi, or -1 when one has none.
func (cr *cellRun) widest(pi int, metric string) float64 {
	w := 0.0
	for gi := range cr.cell.Guests {
		if !cr.active[gi] {
			continue
		}
		rel := cr.interval(gi, pi, metric)
		if rel < 0 {
			return -1
		}
		w = max(w, rel)
	}
	return w
}

// interval is guest gi's relative 95 % interval of its median of metric
// at point pi so far (results.RelativeInterval).
func (cr *cellRun) interval(gi, pi int, metric string) float64 {
	var xs []float64
	for _, r := range cr.file.Guests[gi].Points[pi].Repeats {
		if x, ok := r.Metrics[metric]; ok {
			xs = append(xs, x)
		}
	}
	return results.RelativeInterval(results.Summarize(xs))
}

// primaryMetric is the primary metric of the cell's tool at point pi (a
// swept param may switch tools), which an adaptive target is judged on.
func (cr *cellRun) primaryMetric(pi int) string {
	_, tool := cr.nb.MetricsAt(cr.cell, cr.vars(cr.points[pi], nil))
	if d := notebook.LoadTool(tool); d != nil {
		return d.Primary()
	}
	return ""
}

func (cr *cellRun) anyActive() bool {
	for _, a := range cr.active {
		if a {
			return true
		}
	}
	return false
}

// label names one try of a repeat in the progress: "tp: host repeat 2/5
// (7/10)" for a count, "tp: host repeat 7 (6 to 40)" for an adaptive
// repeat, with ", retry 1/2" for a retry.
func (cr *cellRun) label(gi, pi, rep, try int) string {
	c := cr.cell
	name := c.Guests[gi]
	var label string
	if c.Adaptive != nil {
		label = fmt.Sprintf("%s: %s%s repeat %d (%d to %d)", c.ID, name, describePoint(cr.points[pi]), rep+1, c.Adaptive.Min, c.Adaptive.Max)
	} else {
		label = fmt.Sprintf("%s: %s%s repeat %d/%d", c.ID, name, describePoint(cr.points[pi]), rep+1, c.Repeat)
		if total := len(cr.points) * c.Repeat; total > c.Repeat {
			label += fmt.Sprintf(" (%d/%d)", pi*c.Repeat+rep+1, total)
		}
	}
	if try > 0 {
		label += fmt.Sprintf(", retry %d/%d", try, c.Retry)
	}
	return label
}

package results

import (
	"fmt"
	"math"
)

// Timeline is how one repeat behaved second by second: its measured phase
// cut into intervals of IntervalS seconds (1 for the builtin load), each
// with the throughput and the p99 latency of the requests answered in it.
// The last, partial interval of a run is left out. Two parallel arrays keep
// a 60-second run to two short lines of JSON. A tool other than the redis
// ones keeps its series in Metrics, under its metrics' names (fio: iops,
// read_bw, write_clat_p99...); its throughput is "iops".
type Timeline struct {
	IntervalS  float64              `json:"interval_s"`
	OpsPerSec  []float64            `json:"ops_per_sec,omitempty"`
	LatencyP99 []float64            `json:"latency_p99,omitempty"` // µs
	Metrics    map[string][]float64 `json:"metrics,omitempty"`
}

// Series returns the timeline's figures of metric, or nil when it has
// none.
func (t *Timeline) Series(metric string) []float64 {
	if t == nil {
		return nil
	}
	switch metric {
	case "ops_per_sec":
		return t.OpsPerSec
	case "latency_p99":
		return t.LatencyP99
	}
	return t.Metrics[metric]
}

// throughput is the series Behaviour judges and the unit it words it in:
// requests per second, or fio's I/Os per second.
func (t *Timeline) throughput() ([]float64, string) {
	if len(t.OpsPerSec) > 0 {
		return t.OpsPerSec, "ops/s"
	}
	return t.Metrics["iops"], "IO/s"
}

// The rules of Behaviour, documented in docs/results.md.
const (
	// behaviourMinIntervals: shorter timelines are not judged; a fit over
	// a few seconds says little.
	behaviourMinIntervals = 6
	// warmupSlower: the first tenth of the run (at least one interval) is
	// this much below the median interval.
	warmupSlower = 0.10
	// driftChange: the linear fit's change over the run, relative to the
	// mean interval, beyond which throughput drifts...
	driftChange = 0.10
	// driftSigma: ...provided the slope is this many standard errors from
	// zero, so that a noisy run's random tilt is not called a drift.
	driftSigma = 3
)

// Behaviour judges a timeline's throughput: nil when it is steady, else
// why not, like "still warming up: the first 3 s at 61 % of the median
// second" or "throughput drifts (linear fit -24 % of the mean over the
// run): the median second falls from ...". Both rules need at least 6
// intervals. The fit leaves out the warm-up part when one is
// flagged, so that a slow start is not also called a drift.
func (t *Timeline) Behaviour() []string {
	if t == nil {
		return nil
	}
	ops, unit := t.throughput()
	if len(ops) < behaviourMinIntervals || t.IntervalS <= 0 {
		return nil
	}
	median := Summarize(ops).Median
	if median <= 0 {
		return nil
	}
	var out []string
	head := max(1, len(ops)/10)
	var sum float64
	for _, v := range ops[:head] {
		sum += v
	}
	if first := sum / float64(head); first < (1-warmupSlower)*median {
		out = append(out, fmt.Sprintf("still warming up: the first %s at %.0f %% of the median second", seconds(float64(head)*t.IntervalS), 100*first/median))
		ops = ops[head:]
	}
	if change, ok := drift(ops); ok {
		third := max(1, len(ops)/3)
		first, last := Summarize(ops[:third]).Median, Summarize(ops[len(ops)-third:]).Median
		way := "falls"
		if change > 0 {
			way = "rises"
		}
		out = append(out, fmt.Sprintf("throughput drifts (linear fit %+.0f %% of the mean over the run): the median second %s from %.0f %s in the first third to %.0f in the last", 100*change, way, first, unit, last))
	}
	return out
}

// drift fits ops against their index by least squares and returns the
// fitted change from the first interval to the last relative to their
// mean, and whether it is a drift by the rule above.
func drift(ops []float64) (float64, bool) {
	n := float64(len(ops))
	if len(ops) < behaviourMinIntervals-1 {
		return 0, false
	}
	var mx, my float64
	for i, v := range ops {
		mx += float64(i)
		my += v
	}
	mx, my = mx/n, my/n
	var sxx, sxy float64
	for i, v := range ops {
		dx := float64(i) - mx
		sxx += dx * dx
		sxy += dx * (v - my)
	}
	slope := sxy / sxx
	var sse float64
	for i, v := range ops {
		r := v - (my + slope*(float64(i)-mx))
		sse += r * r
	}
	se := math.Sqrt(sse / (n - 2) / sxx)
	if my <= 0 {
		return 0, false
	}
	change := slope * (n - 1) / my
	return change, math.Abs(change) > driftChange && math.Abs(slope) > driftSigma*se
}

func seconds(s float64) string {
	if s == math.Trunc(s) {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

// MedianTimeline is metric's series over the repeats' timelines: at each
// interval any of them has, the median of the repeats that reach it; nil
// when none has intervals.
func MedianTimeline(ts []*Timeline, metric string) []float64 {
	var out []float64
	for i := 0; ; i++ {
		var vs []float64
		for _, t := range ts {
			if s := t.Series(metric); i < len(s) {
				vs = append(vs, s[i])
			}
		}
		if len(vs) == 0 {
			return out
		}
		out = append(out, Summarize(vs).Median)
	}
}

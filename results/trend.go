package results

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// A trend is one figure of a cell over its runs: one guest's median of one
// metric at one sweep point, on one machine. Change points are looked for
// within a trend only, never across machines, whose figures differ for
// reasons of their own.
//
// The method (docs/history.md) is binary segmentation by least squares on
// the logarithm of the run medians, the split statistic of E-divisive means
// with the squared distance: the split of a segment that best separates its
// runs into two groups is a change point when the medians of the two groups
// differ by at least the threshold, and then each group is searched again.
// Each side of a change point has at least two runs, except that the
// newest run may be alone after one, so CI can gate on it.
// The threshold is the larger of a minimum relative change and twice the
// machine's noise floor of the metric (benchbook calibrate), so a change
// the machine's own scatter explains is never reported.

// Trend is one figure over the runs that measured it, oldest first.
type Trend struct {
	Machine string
	Guest   string
	Point   string // PointLabel of the sweep point; "" without a sweep
	Metric  string
	Runs    []TrendRun
	Changes []Change // found by FindChanges; oldest first
}

// TrendRun is one run's figure of a trend.
type TrendRun struct {
	Entry   int // index into the entries the trend was taken from
	ID      string
	Started time.Time
	Commit  string
	Median  float64
	N       int // repeats behind the median
}

// Change is a change point: the runs from At on differ from those before
// it (back to the previous change point) by Rel, relative to Before.
type Change struct {
	At            int // index into Trend.Runs of the first run after the change
	From          int // index of the first run of the segment before it
	Before, After float64
	Rel           float64 // (After-Before)/Before
	// Worse says the change goes against the metric's better direction;
	// false when the metric has none.
	Worse bool
}

// Trends are the trends of metric in a cell's history: one per machine,
// guest and sweep point that has it, ordered by machine (in the order
// machines first appear), then guest and point as the runs have them.
func Trends(entries []Entry, metric string) []*Trend {
	var trends []*Trend
	index := map[[3]string]*Trend{}
	for ei, e := range entries {
		for _, g := range e.Run.Guests {
			if g.Status != StatusOK {
				continue
			}
			for _, p := range g.Points {
				sm, ok := p.Summary[metric]
				if !ok || sm.N == 0 {
					continue
				}
				key := [3]string{e.Run.Env.Machine, g.Name, PointLabel(p.Params)}
				t := index[key]
				if t == nil {
					// Most trends have a run of every entry.
					t = &Trend{Machine: key[0], Guest: key[1], Point: key[2], Metric: metric, Runs: make([]TrendRun, 0, len(entries)-ei)}
					index[key] = t
					trends = append(trends, t)
				}
				t.Runs = append(t.Runs, TrendRun{Entry: ei, ID: e.ID, Started: e.Run.Started, Commit: e.Run.Commit, Median: sm.Median, N: sm.N})
			}
		}
	}
	firstSeen := map[string]int{}
	for i, t := range trends {
		if _, ok := firstSeen[t.Machine]; !ok {
			firstSeen[t.Machine] = i
		}
	}
	slices.SortStableFunc(trends, func(a, b *Trend) int { return cmp.Compare(firstSeen[a.Machine], firstSeen[b.Machine]) })
	return trends
}

// Threshold is the smallest relative change FindChanges reports: minChange,
// or twice the noise floor spread when that is larger.
func Threshold(minChange, noiseSpread float64) float64 {
	return math.Max(minChange, 2*noiseSpread)
}

// FindChanges fills t.Changes with the change points of at least
// threshold (relative); sign is the metric's better direction (Metric.Sign),
// which says whether a change is worse.
func (t *Trend) FindChanges(threshold float64, sign int) {
	values := make([]float64, len(t.Runs))
	for i, r := range t.Runs {
		values[i] = r.Median
	}
	cuts := ChangePoints(values, threshold)
	t.Changes = nil
	for i, at := range cuts {
		from, to := 0, len(values)
		if i > 0 {
			from = cuts[i-1]
		}
		if i+1 < len(cuts) {
			to = cuts[i+1]
		}
		before, after := median(values[from:at]), median(values[at:to])
		c := Change{At: at, From: from, Before: before, After: after, Rel: (after - before) / before}
		c.Worse = sign != 0 && float64(sign)*c.Rel < 0
		t.Changes = append(t.Changes, c)
	}
}

// Regression is the change point that makes the newest run a regression:
// the last one, when it is worse. Nil otherwise.
func (t *Trend) Regression() *Change {
	if len(t.Changes) == 0 {
		return nil
	}
	if c := &t.Changes[len(t.Changes)-1]; c.Worse {
		return c
	}
	return nil
}

// ChangePoints returns, ascending, the indexes at which values change by
// at least threshold relative to the values before: binary segmentation,
// each split where the two sides' log values are farthest apart by least
// squares, kept when the sides' medians differ by threshold or more.
// Values of 0 or below have no logarithm; a series holding any is searched
// on the values themselves.
func ChangePoints(values []float64, threshold float64) []int {
	xs := make([]float64, len(values))
	logs := true
	for _, v := range values {
		logs = logs && v > 0
	}
	for i, v := range values {
		xs[i] = v
		if logs {
			xs[i] = math.Log(v)
		}
	}
	var cuts []int
	var split func(lo, hi int)
	split = func(lo, hi int) {
		k := bestSplit(xs[lo:hi], hi == len(xs))
		if k < 0 {
			return
		}
		k += lo
		before, after := median(values[lo:k]), median(values[k:hi])
		if before == 0 || math.Abs(after-before)/math.Abs(before) < threshold {
			return
		}
		split(lo, k)
		cuts = append(cuts, k)
		split(k, hi)
	}
	split(0, len(values))
	return cuts
}

// minSegment is the fewest runs on either side of a change point, so one
// run thrown off by the machine cannot make two change points around it.
// Only the newest run may stand alone: it is what CI gates on.
const minSegment = 2

// bestSplit is the k maximising nL·nR/n·(meanL−meanR)² with at least
// minSegment values on each side (on the right only one when the segment
// ends with the newest run, last), or -1 when there is no such k or none
// separates anything.
func bestSplit(xs []float64, last bool) int {
	n := len(xs)
	right := minSegment
	if last {
		right = 1
	}
	total := 0.0
	for _, x := range xs {
		total += x
	}
	best, bestK, left := 0.0, -1, 0.0
	for k := 1; k <= n-right; k++ {
		left += xs[k-1]
		if k < minSegment {
			continue
		}
		nl, nr := float64(k), float64(n-k)
		d := left/nl - (total-left)/nr
		if s := nl * nr / float64(n) * d * d; s > best*(1+1e-12) {
			best, bestK = s, k
		}
	}
	return bestK
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// DefaultMinChange is the smallest relative change that is a change point
// where the noise floor does not ask for more: 10 %.
const DefaultMinChange = 0.10

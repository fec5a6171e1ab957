package load

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// TimelineInterval is the length of one interval of a builtin run's
// timeline.
const TimelineInterval = time.Second

// Timeline is a run's measured phase interval by interval: the throughput
// and p99 latency of the requests answered in each full interval (the last,
// partial one is left out). The builtin load fills OpsPerSec and
// LatencyP99; other tools fill Metrics, under the names of their metrics
// (fio: "iops", "read_clat_p99"...).
type Timeline struct {
	Interval   time.Duration        `json:"interval"`
	OpsPerSec  []float64            `json:"ops_per_sec,omitempty"`
	LatencyP99 []float64            `json:"latency_p99_us,omitempty"`
	Metrics    map[string][]float64 `json:"metrics,omitempty"`
}

// timeline gathers the clients' intervals. Each client adds what it
// answered in an interval when it notices the interval is over (at the
// start of its next batch, so a request is counted in the interval its
// batch was sent in), so the hot loop pays one time comparison per batch
// and a client never touches another's histograms.
type timeline struct {
	mu     sync.Mutex
	ops    []int64
	counts [][]int64 // per interval, the latency histogram's bucket counts
}

// clientTimeline is one client's side of the timeline.
type clientTimeline struct {
	tl      *timeline
	on      bool      // set for the measured phase only
	next    time.Time // end of the current interval
	idx     int       // current interval
	prevOps int64
	prev    []int64 // bucket counts at the last interval's end
}

// begin starts the timeline of the measured phase at start.
func (ct *clientTimeline) begin(start time.Time) {
	if ct.tl == nil {
		return
	}
	ct.on, ct.next, ct.idx, ct.prevOps = true, start.Add(TimelineInterval), 0, 0
	clear(ct.prev)
}

// due reports whether the current interval is over at now: the hot loop's
// only cost.
func (ct *clientTimeline) due(now time.Time) bool {
	return ct.on && !now.Before(ct.next)
}

// roll adds what c answered since the last interval's end to the current
// interval, and moves on to the interval now is in.
func (c *client) roll(now time.Time) {
	ct := &c.tl
	c.flushInterval()
	for !now.Before(ct.next) {
		ct.idx++
		ct.next = ct.next.Add(TimelineInterval)
	}
}

// endTimeline adds the last, partial interval, which measure leaves out
// but which keeps the counts consistent.
func (c *client) endTimeline() {
	if c.tl.on {
		c.flushInterval()
		c.tl.on = false
	}
}

// flushInterval adds the requests answered since the last flush to the
// current interval. The histograms' counts are only to be had as a copy
// (Export): the first op's copy is the sum the second's is added to, rather
// than a copy of the copy.
func (c *client) flushInterval() {
	ct := &c.tl
	var ops int64
	var cur []int64
	for op := range c.stats {
		ops += c.stats[op].ops
		counts := c.stats[op].hist.Export().Counts
		if cur == nil {
			cur = counts
			continue
		}
		for i, n := range counts {
			cur[i] += n
		}
	}
	if len(ct.prev) != len(cur) {
		ct.prev = make([]int64, len(cur))
	}
	ct.tl.add(ct.idx, ops-ct.prevOps, cur, ct.prev)
	ct.prevOps = ops
	ct.prev = cur
}

// add adds cur-prev to interval idx.
func (tl *timeline) add(idx int, ops int64, cur, prev []int64) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for len(tl.ops) <= idx {
		tl.ops = append(tl.ops, 0)
		tl.counts = append(tl.counts, nil)
	}
	tl.ops[idx] += ops
	if tl.counts[idx] == nil {
		tl.counts[idx] = make([]int64, len(cur))
	}
	for i := range cur {
		tl.counts[idx][i] += cur[i] - prev[i]
	}
}

// result is the timeline of a measured phase of duration d: its full
// intervals only; nil when it has none.
func (tl *timeline) result(d time.Duration) *Timeline {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := min(int(d/TimelineInterval), len(tl.ops))
	if n <= 0 {
		return nil
	}
	t := &Timeline{Interval: TimelineInterval}
	for i := range n {
		t.OpsPerSec = append(t.OpsPerSec, float64(tl.ops[i])/TimelineInterval.Seconds())
		p99 := 0.0
		if tl.counts[i] != nil {
			h := hdr.Import(&hdr.Snapshot{LowestTrackableValue: 1, HighestTrackableValue: histMaxUs, SignificantFigures: histSigFigs, Counts: tl.counts[i]})
			if h.TotalCount() > 0 {
				p99 = float64(h.ValueAtQuantile(99))
			}
		}
		t.LatencyP99 = append(t.LatencyP99, p99)
	}
	return t
}

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
	mu    sync.Mutex
	ops   []int64
	hists []*hdr.Histogram // per interval, the latencies of all clients
}

// clientTimeline is one client's side of the timeline.
type clientTimeline struct {
	tl      *timeline
	on      bool      // set for the measured phase only
	next    time.Time // end of the current interval
	idx     int       // current interval
	prevOps int64
	// hist holds the latencies of the current interval, recorded beside
	// the run's own histograms (sameLatency.flush). Copying a run's
	// histogram at every interval's end instead, to take the difference,
	// cost two 19 KB copies a client a second: a megabyte a second for 50
	// clients, and the collections that came with it.
	hist *hdr.Histogram
}

// begin starts the timeline of the measured phase at start.
func (ct *clientTimeline) begin(start time.Time) {
	if ct.tl == nil {
		return
	}
	ct.on, ct.next, ct.idx, ct.prevOps = true, start.Add(TimelineInterval), 0, 0
	if ct.hist == nil {
		ct.hist = hdr.New(1, histMaxUs, histSigFigs)
	}
	ct.hist.Reset()
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
// current interval.
func (c *client) flushInterval() {
	ct := &c.tl
	var ops int64
	for op := range c.stats {
		ops += c.stats[op].ops
	}
	ct.tl.add(ct.idx, ops-ct.prevOps, ct.hist)
	ct.prevOps = ops
	ct.hist.Reset()
}

// add adds ops and the latencies in h to interval idx.
func (tl *timeline) add(idx int, ops int64, h *hdr.Histogram) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for len(tl.ops) <= idx {
		tl.ops = append(tl.ops, 0)
		tl.hists = append(tl.hists, nil)
	}
	tl.ops[idx] += ops
	if tl.hists[idx] == nil {
		tl.hists[idx] = hdr.New(1, histMaxUs, histSigFigs)
	}
	tl.hists[idx].Merge(h)
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
		if h := tl.hists[i]; h != nil && h.TotalCount() > 0 {
			p99 = float64(h.ValueAtQuantile(99))
		}
		t.LatencyP99 = append(t.LatencyP99, p99)
	}
	return t
}

package load

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/redistest"
	"github.com/benchbook/benchbook/results"
)

// A timed run has one interval per full second of its measured phase, and
// the intervals hold the requests of the run.
func TestBuiltinTimeline(t *testing.T) {
	addr, _ := redistest.Start(t)
	s := Spec{Clients: 4, TestTime: 3500 * time.Millisecond, Warmup: 300 * time.Millisecond}
	m := runSaneWithin(t, 30*time.Second, ToolBuiltin, addr, s)
	tl := m.Timeline
	if tl == nil || len(tl.OpsPerSec) != 3 || len(tl.LatencyP99) != 3 || tl.Interval != time.Second {
		t.Fatalf("timeline %+v: want 3 intervals of 1s", tl)
	}
	var sum float64
	for i, ops := range tl.OpsPerSec {
		sum += ops
		if ops <= 0 || tl.LatencyP99[i] <= 0 || tl.LatencyP99[i] > m.Totals.LatencyMax {
			t.Errorf("interval %d: %g ops/s, p99 %g µs (max of the run %g)", i, ops, tl.LatencyP99[i], m.Totals.LatencyMax)
		}
	}
	// Three of the 3.5 seconds: between 3/3.5 of the ops, give or take a
	// batch per client at the edges, and all of them.
	total := float64(m.Totals.Ops)
	if sum > total || sum < 0.7*total {
		t.Errorf("intervals hold %g requests of the run's %g", sum, total)
	}
}

// A server that slows down steadily (SIGSTOPped from the third second on,
// for 1 ms more of every cycle each second) gives a timeline whose
// throughput drifts. A ramp, not a step: under CI's load the unthrottled
// seconds spiked to 2.5x their neighbours, and one step down at 7 s no
// longer stood 3 standard errors clear of that noise.
func TestBuiltinTimelineDrift(t *testing.T) {
	srv, err := redistest.Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return
		}
		for stop := time.Millisecond; ctx.Err() == nil; stop += time.Millisecond {
			sctx, scancel := context.WithTimeout(ctx, time.Second)
			throttle(sctx, srv.Pid(), stop, time.Millisecond)
			scancel()
		}
	}()
	s := Spec{Clients: 4, TestTime: 14 * time.Second}
	m, err := runWithin(ctx, t, time.Minute, ToolBuiltin, srv.Addr, s)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	tl := m.Timeline
	if tl == nil || len(tl.OpsPerSec) != 14 {
		t.Fatalf("timeline %+v: want 14 intervals", tl)
	}
	rt := results.Timeline{IntervalS: tl.Interval.Seconds(), OpsPerSec: tl.OpsPerSec, LatencyP99: tl.LatencyP99}
	got := strings.Join(rt.Behaviour(), "; ")
	t.Logf("ops/s %.0f: %s", tl.OpsPerSec, got)
	if !strings.Contains(got, "throughput drifts (linear fit -") {
		t.Errorf("behaviour %q of ops/s %.0f: want a downward drift", got, tl.OpsPerSec)
	}
}

// throttle stops the process pid for stop out of every stop+run until ctx
// ends, and leaves it running.
func throttle(ctx context.Context, pid int, stop, run time.Duration) {
	defer syscall.Kill(pid, syscall.SIGCONT)
	for ctx.Err() == nil {
		syscall.Kill(pid, syscall.SIGSTOP)
		time.Sleep(stop)
		syscall.Kill(pid, syscall.SIGCONT)
		time.Sleep(run)
	}
}

// BenchmarkBuiltinRunEnd measures what a run costs once its clients are
// done: each client's last timeline interval and measure's merge of their
// histograms, for 50 clients, as loadbench runs them.
func BenchmarkBuiltinRunEnd(b *testing.B) {
	s := Spec{Clients: 50, Pipeline: 16, Requests: 1}.WithDefaults()
	r := newBuiltinRun(Target{}, s)
	for i, c := range r.clients {
		for op := range c.stats {
			for us := int64(100); us < 5000; us += 37 {
				c.stats[op].hist.RecordValues(us+int64(i), 3)
				c.stats[op].ops += 3
			}
		}
	}
	start := time.Now()
	for _, c := range r.clients {
		c.tl.begin(start)
	}
	r.lastEnd = start.Add(2 * TimelineInterval)
	r.measureStart = start
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range r.clients {
			c.tl.on = true
			c.endTimeline()
		}
		var m Measurement
		r.measure(&m)
	}
}

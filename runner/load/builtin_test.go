package load

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/redistest"
)

func TestBuiltinTestTimeWarmupProgress(t *testing.T) {
	addr, _ := redistest.Start(t)
	var mu sync.Mutex
	var calls []Progress
	s := Spec{
		Clients: 3, TestTime: 600 * time.Millisecond, Warmup: 600 * time.Millisecond,
		Progress: func(p Progress) { mu.Lock(); calls = append(calls, p); mu.Unlock() },
	}
	start := time.Now()
	m, err := New(ToolBuiltin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Run(context.Background(), Target{Addr: addr}, s)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	checkSane(t, got, s)
	if got.Duration < 600*time.Millisecond || got.Duration > 900*time.Millisecond {
		t.Errorf("measured %s, want about the 600ms test time (warmup excluded)", got.Duration)
	}
	if took < time.Second {
		t.Errorf("run took %s, want warmup + test time", took)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) < 2 || !calls[0].Warmup || calls[len(calls)-1].Warmup {
		t.Fatalf("progress calls %+v: want warmup first, measuring last", calls)
	}
	if last := calls[len(calls)-1]; last.Ops != got.Totals.Ops {
		t.Errorf("last progress ops %d, measured %d", last.Ops, got.Totals.Ops)
	}
	if !strings.Contains(strings.Join(got.Command, " "), "--warmup=600ms") {
		t.Errorf("command %q lacks the warmup", got.Command)
	}
}

func TestBuiltinKeyPatterns(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	do := func(args ...string) string {
		t.Helper()
		v, err := redistest.Do(ctx, addr, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 4 clients x 250 SETs over keys 5000..5999.
	tests := []struct {
		pattern string
		keys    func(n int) bool // DBSIZE afterwards
		present []string
		absent  []string
	}{
		// Every client walks from the minimum.
		{"S:S", func(n int) bool { return n == 250 }, []string{"memtier-5000", "memtier-5249"}, []string{"memtier-5250", "memtier-4999"}},
		// Every client walks its own quarter.
		{"P:P", func(n int) bool { return n == 1000 }, []string{"memtier-5000", "memtier-5999"}, []string{"memtier-6000"}},
		{"G:G", func(n int) bool { return n > 100 && n < 1000 }, nil, []string{"memtier-6000", "memtier-4999"}},
		{"R:S", func(n int) bool { return n > 500 && n < 1000 }, nil, []string{"memtier-6000", "memtier-4999"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			do("FLUSHALL")
			s := Spec{Clients: 4, Requests: 500, Ratio: Ratio{1, 1}, KeyPattern: tt.pattern, KeyMinimum: 5000, KeyMaximum: 5999}
			m, err := builtin{}.Run(ctx, Target{Addr: addr}, s)
			if err != nil {
				t.Fatal(err)
			}
			checkSane(t, m, s)
			if m.Gets.Hits == 0 {
				t.Errorf("no GET hit on 1000 keys")
			}
			n, _ := strconv.Atoi(do("DBSIZE"))
			if !tt.keys(n) {
				t.Errorf("DBSIZE %d after %s", n, tt.pattern)
			}
			for _, k := range tt.present {
				if do("EXISTS", k) != "1" {
					t.Errorf("%s missing", k)
				}
			}
			for _, k := range tt.absent {
				if do("EXISTS", k) != "0" {
					t.Errorf("%s present, out of the key range", k)
				}
			}
		})
	}
}

// A SET refused by the server ("-OOM ...") is an error, not an op; a run
// where nothing succeeds is a failed run.
func TestBuiltinErrorReplies(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	if _, err := redistest.Do(ctx, addr, "CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	mixed := Spec{Clients: 2, Requests: 100, Ratio: Ratio{1, 1}}
	m, err := builtin{}.Run(ctx, Target{Addr: addr}, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if m.Errors != 100 || m.Sets.Ops != 0 || m.Gets.Ops != 100 || m.Gets.Misses != 100 {
		t.Errorf("errors %d, sets %d, gets %d (misses %d); want 100 refused SETs and 100 missed GETs", m.Errors, m.Sets.Ops, m.Gets.Ops, m.Gets.Misses)
	}
	_, err = builtin{}.Run(ctx, Target{Addr: addr}, Spec{Clients: 2, Requests: 10, Ratio: Ratio{1, 0}})
	if err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("all SETs refused: error %v, want one quoting the server's", err)
	}
}

func TestBuiltinCommandIsDescriptive(t *testing.T) {
	s := Spec{Threads: 2, Clients: 3, TestTime: time.Second}.WithDefaults()
	checkArgv(t, builtinArgv(Target{Addr: "127.0.0.1:1"}, s), nil, "benchbook-builtin --server=127.0.0.1:1 --threads=2 --clients=3 --test-time=1s --ratio=1:10 --data-size=32 --pipeline=1 --key-pattern=R:R --key-minimum=0 --key-maximum=10000000 --seed=0")
}

// hotClient returns a client of s connected to a real redis-server, ready
// for phase().
func hotClient(tb testing.TB, s Spec, queued bool) *client {
	tb.Helper()
	addr, _ := redistest.Start(tb)
	s = s.WithDefaults()
	r := newBuiltinRun(Target{Addr: addr}, s)
	c := r.clients[0]
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	c.attach(conn)
	// Waiting for replies as a run of many clients does: on the ready
	// queue, where there is one.
	if queued {
		if q, err := newReadyQueue(1); err == nil {
			tb.Cleanup(q.close)
			if err := q.add(c.w); err != nil {
				tb.Fatal(err)
			}
			go q.run()
		} else if !errors.Is(err, errors.ErrUnsupported) {
			tb.Fatal(err)
		}
	}
	// Reach steady state: every key length template used, buffers grown.
	if err := c.phase(time.Time{}, 2000); err != nil {
		tb.Fatal(err)
	}
	return c
}

// The request/reply loop must not allocate: that is what lets one Go client
// keep up with memtier. See also BenchmarkBuiltinLoop.
func TestBuiltinHotPathDoesNotAllocate(t *testing.T) {
	for _, queued := range []bool{false, true} {
		for _, pipeline := range []int{1, 16} {
			c := hotClient(t, Spec{Clients: 1, Pipeline: pipeline, KeyMaximum: 100000}, queued)
			allocs := testing.AllocsPerRun(20, func() {
				if err := c.phase(time.Time{}, 160); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("pipeline %d, ready queue %v: %g allocations per 160 requests, want 0", pipeline, queued, allocs)
			}
		}
	}
}

// BenchmarkBuiltinLoop measures one client's request/reply loop against a
// real redis-server; one op is one request.
func BenchmarkBuiltinLoop(b *testing.B) {
	for _, bc := range []struct {
		name   string
		spec   Spec
		queued bool
	}{
		{"pipeline=1", Spec{Clients: 1}, false},
		{"pipeline=1/queued", Spec{Clients: 1}, true},
		{"pipeline=16", Spec{Clients: 1, Pipeline: 16}, false},
		{"pipeline=16/queued", Spec{Clients: 1, Pipeline: 16}, true},
		{"pipeline=16/data=1024", Spec{Clients: 1, Pipeline: 16, DataSize: 1024}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := hotClient(b, bc.spec, bc.queued)
			b.ReportAllocs()
			b.ResetTimer()
			if err := c.phase(time.Time{}, b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// With no more clients than Ps the run has no ready queue (startReadyQueue)
// and its clients wait in the runtime's poller: the run must still count
// every request, and end cleanly.
func TestBuiltinOneClient(t *testing.T) {
	addr, _ := redistest.Start(t)
	for _, s := range []Spec{
		{Clients: 1, Requests: 200},
		{Clients: 1, Requests: 200, Pipeline: 16},
		{Clients: 1, Requests: 200, Rate: 2000},
	} {
		m, err := builtin{}.Run(context.Background(), Target{Addr: addr}, s)
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if m.Totals.Ops != 200 {
			t.Errorf("%+v: %d requests answered, want 200", s, m.Totals.Ops)
		}
	}
}

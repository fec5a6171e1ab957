package load

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/redistest"
)

// An open-loop run sends at the rate asked, whatever the server could do
// beyond it.
func TestBuiltinOpenLoopRate(t *testing.T) {
	addr, _ := redistest.Start(t)
	s := Spec{Clients: 20, Rate: 2000, TestTime: 3 * time.Second, Warmup: 300 * time.Millisecond}
	m := runSaneWithin(t, 30*time.Second, ToolBuiltin, addr, s)
	if got := m.Totals.OpsPerSec; got < 1900 || got > 2100 {
		t.Errorf("achieved %.0f ops/s, want 2000 within 5 %%", got)
	}
	if !strings.Contains(strings.Join(m.Command, " "), "--rate=2000") {
		t.Errorf("command %q lacks the rate", m.Command)
	}
	// Full seconds only: the last may end a hair after the run does.
	tl := m.Timeline
	if tl == nil || len(tl.OpsPerSec) < 2 || len(tl.OpsPerSec) > 3 {
		t.Fatalf("timeline %+v: want 2 or 3 intervals of a 3 s run", tl)
	}
	for i, ops := range tl.OpsPerSec {
		if ops < 1900 || ops > 2100 {
			t.Errorf("second %d: %v ops/s, want 2000 within 5 %%", i+1, ops)
		}
	}
}

// A server that stalls for 100 ms shows in an open loop's p99: the
// requests due during the stall are measured from when they were due. A
// closed loop sends nothing during the stall, so only its one request in
// flight per connection is slow, and its p99 does not see it -- although
// its max does, which shows the stall happened to it too.
func TestBuiltinOpenLoopStall(t *testing.T) {
	const stall = 100 * time.Millisecond
	run := func(t *testing.T, s Spec) Measurement {
		srv, err := redistest.Launch(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-time.After(s.Warmup + s.TestTime/2):
			case <-ctx.Done():
				return
			}
			syscall.Kill(srv.Pid(), syscall.SIGSTOP)
			time.Sleep(stall)
			syscall.Kill(srv.Pid(), syscall.SIGCONT)
		}()
		m, err := runWithin(ctx, t, 30*time.Second, ToolBuiltin, srv.Addr, s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := Spec{Clients: 10, TestTime: 3 * time.Second, Warmup: 200 * time.Millisecond}
	open := base
	open.Rate = 2000
	mo := run(t, open)
	mc := run(t, base)
	t.Logf("open loop: %.0f ops/s, p99 %.0f µs, max %.0f µs; closed loop: %.0f ops/s, p99 %.0f µs, max %.0f µs",
		mo.Totals.OpsPerSec, mo.Totals.LatencyP99, mo.Totals.LatencyMax, mc.Totals.OpsPerSec, mc.Totals.LatencyP99, mc.Totals.LatencyMax)
	// Of 6000 requests, 200 were due during the stall, waiting 0 to 100 ms:
	// the slowest 1 % waited 70 ms or more.
	if mo.Totals.LatencyP99 < 50000 {
		t.Errorf("open loop p99 %.0f µs: want the stall in it (>= 50 ms)", mo.Totals.LatencyP99)
	}
	if mc.Totals.LatencyMax < 90000 {
		t.Errorf("closed loop max %.0f µs: the stall did not reach it", mc.Totals.LatencyMax)
	}
	if mc.Totals.LatencyP99 >= 50000 {
		t.Errorf("closed loop p99 %.0f µs: want the stall hidden from it (< 50 ms)", mc.Totals.LatencyP99)
	}
}

// Only the builtin tool sends on a schedule.
func TestOpenLoopRateValidate(t *testing.T) {
	for _, tool := range []string{ToolRedisBenchmark, ToolMemtier} {
		err := Spec{Tool: tool, Rate: 1000}.WithDefaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "rate 1000: only the builtin tool") {
			t.Errorf("%s: %v", tool, err)
		}
	}
	if err := (Spec{Rate: 1000}).WithDefaults().Validate(); err != nil {
		t.Errorf("builtin: %v", err)
	}
}

// A stopped run wakes connections waiting for their next send at once,
// even at a rate that sends once a minute.
func TestBuiltinOpenLoopCancel(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	s := Spec{Clients: 2, Rate: 1, TestTime: time.Hour}
	start := time.Now()
	_, err := runWithin(ctx, t, 10*time.Second, ToolBuiltin, addr, s)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %s: want a cancelled run, quickly", err, time.Since(start))
	}
}

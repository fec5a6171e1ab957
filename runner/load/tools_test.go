package load

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/redistest"
)

// Tests every tool against a real redis-server. A short run each: the
// machine has two cores and the whole package must stay well under 30 s.

func toolsHere(t *testing.T) []string {
	tools := []string{ToolBuiltin, ToolRedisBenchmark}
	if _, err := Available(ToolMemtier); err == nil {
		tools = append(tools, ToolMemtier)
	} else {
		t.Logf("memtier: skipped, memtier_benchmark not on PATH (see benchbook doctor)")
	}
	return tools
}

func TestToolsRun(t *testing.T) {
	addr, _ := redistest.Start(t)
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			s := Spec{Tool: tool, Threads: 2, Clients: 5, Requests: 200, Ratio: Ratio{1, 4}, KeyMaximum: 99}
			m := runSane(t, tool, addr, s)
			if m.Tool != tool {
				t.Errorf("tool %q", m.Tool)
			}
			if m.Errors != 0 {
				t.Errorf("errors %d", m.Errors)
			}
			if tool == ToolRedisBenchmark {
				return // reports no hits, no KB/s
			}
			// 100 keys, 400 SETs first: most GETs hit.
			if m.Gets.Hits <= m.Gets.Misses {
				t.Errorf("gets hits %d, misses %d: want mostly hits on 100 keys", m.Gets.Hits, m.Gets.Misses)
			}
			if m.Totals.KBPerSec <= 0 {
				t.Errorf("KB/s %g", m.Totals.KBPerSec)
			}
			if tool == ToolMemtier && m.CPU <= 0 {
				t.Errorf("CPU %s", m.CPU)
			}
		})
	}
}

func TestToolsPipelineAndRatio(t *testing.T) {
	addr, _ := redistest.Start(t)
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			s := Spec{Tool: tool, Clients: 4, Requests: 500, Pipeline: 16, Ratio: Ratio{1, 1}, DataSize: 100}
			runSane(t, tool, addr, s)
		})
	}
}

func TestToolsClosedPort(t *testing.T) {
	addr := closedAddr(t)
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			s := Spec{Tool: tool, Clients: 5, Requests: 100, Timeout: 5 * time.Second}
			_, err := runWithin(context.Background(), t, 5*time.Second, tool, addr, s)
			if err == nil {
				t.Fatal("Run against a closed port succeeded")
			}
			if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
				t.Errorf("error %q: want the address and the cause", err)
			}
			if left := childrenNamed(t, tool[:7]); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

// longSpec keeps a tool busy for far longer than the tests wait.
func longSpec(tool string) Spec {
	if tool == ToolRedisBenchmark {
		return Spec{Tool: tool, Clients: 4, Requests: 10_000_000}
	}
	return Spec{Tool: tool, Clients: 4, TestTime: 30 * time.Second}
}

func TestToolsServerKilled(t *testing.T) {
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			addr, stop := redistest.Start(t)
			time.AfterFunc(700*time.Millisecond, stop)
			s := longSpec(tool)
			s.Timeout = 10 * time.Second
			_, err := runWithin(context.Background(), t, 9*time.Second, tool, addr, s)
			if err == nil {
				t.Fatal("Run succeeded although the server died")
			}
			t.Logf("error: %v", err)
			if left := childrenNamed(t, tool[:7]); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

func TestToolsCancel(t *testing.T) {
	addr, _ := redistest.Start(t)
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(700*time.Millisecond, cancel)
			_, err := runWithin(ctx, t, 3*time.Second, tool, addr, longSpec(tool))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if left := childrenNamed(t, tool[:7]); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

// A server that accepts connections but never answers (SIGSTOPped) must not
// hang a run past its Timeout.
func TestToolsHungServer(t *testing.T) {
	srv, err := redistest.Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	if err := syscall.Kill(srv.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for _, tool := range toolsHere(t) {
		t.Run(tool, func(t *testing.T) {
			s := Spec{Tool: tool, Clients: 2, Requests: 100, Timeout: 1500 * time.Millisecond}
			_, err := runWithin(context.Background(), t, 5*time.Second, tool, srv.Addr, s)
			if err == nil || !strings.Contains(err.Error(), "timeout") {
				t.Fatalf("error %v, want a timeout", err)
			}
			if left := childrenNamed(t, tool[:7]); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

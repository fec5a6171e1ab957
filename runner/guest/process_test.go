package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
)

// mustProcess is NewProcess for a config the test means to be valid.
func mustProcess(t *testing.T, cfg ProcessConfig) *Process {
	t.Helper()
	g, err := NewProcess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func redisCommand(t *testing.T, port int) []string {
	t.Helper()
	return []string{"redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
}

func needRedis(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
		t.Skip("redis-server is not installed (make setup installs it)")
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestProcessStartStop(t *testing.T) {
	needRedis(t)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "logs", "host.log")
	g := mustProcess(t, ProcessConfig{Name: "host", Command: redisCommand(t, port), Port: port, LogPath: logPath})
	t.Cleanup(func() { g.Stop(context.Background()) })
	ep, err := g.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Ping(context.Background(), ep.Addr); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	facts := g.Facts()
	if facts["redis_version"] == "" || facts["kind"] != "process" {
		t.Errorf("facts %v", facts)
	}
	pid := g.Pid()
	start := time.Now()
	if err := g.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v; redis should exit on SIGTERM at once", d)
	}
	if alive(pid) {
		t.Fatalf("pid %d still alive after Stop", pid)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "Ready to accept connections") {
		t.Errorf("log lacks redis's ready line:\n%s", log)
	}
}

func TestProcessNeverReady(t *testing.T) {
	port, _ := FreePort()
	g := mustProcess(t, ProcessConfig{
		Name:         "mute",
		Command:      []string{"sh", "-c", "echo booting slowly; exec sleep 60"},
		Port:         port,
		ReadyTimeout: 300 * time.Millisecond,
		LogPath:      filepath.Join(t.TempDir(), "mute.log"),
	})
	_, err := g.Start(context.Background())
	if !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
	if !strings.Contains(err.Error(), "booting slowly") {
		t.Errorf("error lacks the log tail: %v", err)
	}
	if alive(g.Pid()) {
		t.Errorf("process left running after a failed start")
	}
}

func TestProcessExitsEarly(t *testing.T) {
	port, _ := FreePort()
	g := mustProcess(t, ProcessConfig{
		Name:    "crash",
		Command: []string{"sh", "-c", "echo 'FATAL: bad config' >&2; exit 3"},
		Port:    port,
		LogPath: filepath.Join(t.TempDir(), "crash.log"),
	})
	start := time.Now()
	_, err := g.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exited before answering PING") || !strings.Contains(err.Error(), "FATAL: bad config") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a dead guest should fail fast, took %v", time.Since(start))
	}
}

func TestProcessMissingProgram(t *testing.T) {
	_, err := NewProcess(ProcessConfig{Name: "x", Command: []string{"no-such-redis-server"}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// A guest's children die with it: Stop kills the whole process group.
func TestProcessStopKillsGroup(t *testing.T) {
	needRedis(t)
	port, _ := FreePort()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := fmt.Sprintf("redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no & echo $! > %s; trap '' TERM; wait", port, pidFile)
	g := mustProcess(t, ProcessConfig{Name: "wrapper", Command: []string{"sh", "-c", script}, Port: port, Grace: 200 * time.Millisecond})
	if _, err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	fmt.Sscan(string(data), &child)
	g.Stop(context.Background())
	deadline := time.Now().Add(2 * time.Second)
	for alive(child) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(child) {
		t.Fatalf("child redis %d survived Stop", child)
	}
}

func TestCancelDuringStart(t *testing.T) {
	port, _ := FreePort()
	g := mustProcess(t, ProcessConfig{Name: "slow", Command: []string{"sleep", "60"}, Port: port, ReadyTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := g.Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if alive(g.Pid()) {
		t.Fatal("process left running after a cancelled start")
	}
}

func TestLogBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	l, err := NewLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.head, l.tailCap = 10, 10
	l.Write([]byte("0123456789abcdefghijklmnopqrstuvwxyz"))
	if got := l.Tail(5); got != "vwxyz" {
		t.Errorf("Tail = %q", got)
	}
	l.Close()
	data, _ := os.ReadFile(path)
	want := "0123456789\n[... 16 bytes left out ...]\nqrstuvwxyz"
	if string(data) != want {
		t.Errorf("log = %q, want %q", data, want)
	}
}

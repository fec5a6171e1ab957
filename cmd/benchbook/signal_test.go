package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// benchbookCmd runs this test binary as the benchbook command.
func benchbookCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BENCHBOOK_AS_MAIN=1")
	return cmd
}

// start starts cmd writing to stdout and stderr (nil: nowhere); the
// test's cleanup kills and reaps it if it still runs.
func start(t *testing.T, cmd *exec.Cmd, stdout, stderr io.Writer) *exec.Cmd {
	t.Helper()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

var longLoadNotebook = `title = "interrupt me"
` + nbtest.ProcessGuest("host", nbtest.RedisNoDisk) + `[loads.long]
tool = "builtin"
clients = 2
test_time = "60s"
` + nbtest.BenchCell("tp", "long", 1, "host")

var pidRE = regexp.MustCompile(`pid=(\d+)`)

// Ctrl-C (or SIGTERM) during a load stops the guest and the load, writes
// nothing, and exits 130; no redis-server is left behind.
func TestInterruptDuringLoad(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (make setup installs it)")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "nb.toml"), []byte(longLoadNotebook), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd := start(t, benchbookCmd(t, dir, "run", "nb.toml"), &stdout, &stderr)

			pid := waitForRedis(t, dir)
			time.Sleep(300 * time.Millisecond) // well into the load
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("benchbook did not exit 20s after %v\n%s\n%s", sig, stdout.String(), stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("exit: %v, want status 130\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			if syscall.Kill(pid, 0) == nil {
				t.Fatalf("redis-server pid %d still running after benchbook exited", pid)
			}
			if _, err := os.Stat(filepath.Join(dir, "nb.results", "tp.json")); !os.IsNotExist(err) {
				t.Errorf("an interrupted run wrote results: %v", err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "nb.results", ".run-*")); len(m) > 0 {
				t.Errorf("staging folders left: %v", m)
			}
		})
	}
}

// waitForRedis waits until the guest's log says redis is ready and returns
// its pid, read from redis's own start-up line.
func waitForRedis(t *testing.T, dir string) int {
	t.Helper()
	_, data := waitForGuestLog(t, runLogs(dir), func(log []byte) bool {
		return pidRE.Match(log) && bytes.Contains(log, []byte("Ready to accept connections"))
	}, "redis never became ready")
	pid, _ := strconv.Atoi(string(pidRE.FindSubmatch(data)[1]))
	return pid
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
)

// The fault matrix, the part that needs the real binary: SIGINT and
// SIGTERM while a guest boots, while the load runs and while the guest is
// torn down, and two `benchbook run` of one notebook at once. Each case
// asserts the exit status and message, that the previous results are
// byte-identical afterwards, and that no process is left: by redis's own
// pid, by a marker in the guests' environment, and as an orphan adopted by
// the test (see internal/proctest). runner/faults_test.go has the rest.

// phaseNotebook is a one-guest notebook; {cmd} is the guest's command,
// {load} the load's length, {marker} the test's folder.
var phaseNotebook = `title = "signals"
` + nbtest.ProcessGuest("host", "{cmd}") + `env = { BENCHBOOK_FAULT_MARKER = "{marker}" }
[loads.l]
tool = "builtin"
clients = 2
{load}
` + nbtest.BenchCell("tp", "l", 1, "host")

func phase(cmd, load, marker string) string {
	return strings.NewReplacer("{cmd}", cmd, "{load}", load, "{marker}", marker).Replace(phaseNotebook)
}

// quickNotebook measures briefly: the seed of every case.
func quickNotebook(marker string) string { return phase(nbtest.RedisNoDisk, "requests = 200", marker) }

func TestSignalFaults(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	phases := []struct {
		name    string
		cmd     string
		load    string
		trigger string        // in the guest's log: the phase has begun
		after   time.Duration // then wait this long
	}{
		{
			name:    "boot",
			cmd:     `["sh", "-c", "echo booting; sleep 5; exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no"]`,
			load:    "requests = 200",
			trigger: "booting",
		},
		{
			name:    "load",
			cmd:     nbtest.RedisNoDisk,
			load:    `test_time = "60s"`,
			trigger: "Ready to accept connections",
			after:   300 * time.Millisecond,
		},
		{
			// The guest takes a second to stop: the signal arrives while
			// the runner waits for it.
			name:    "teardown",
			cmd:     `["sh", "-c", "trap 'echo stopping; sleep 1; exit 0' TERM; redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & wait"]`,
			load:    "requests = 200",
			trigger: "stopping",
		},
	}
	seed := seedResults(t)
	for _, ph := range phases {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(sig.String()+" during "+ph.name, func(t *testing.T) {
				dir := t.TempDir()
				good := copyResults(t, seed, dir)
				nbtest.File(t, filepath.Join(dir, "nb.toml"), phase(ph.cmd, ph.load, dir))
				before := proctest.Children()

				var stdout, stderr bytes.Buffer
				cmd := start(t, benchbookCmd(t, dir, "run", "nb.toml"), &stdout, &stderr)
				pids := waitForLog(t, dir, ph.trigger)
				time.Sleep(ph.after)
				cmd.Process.Signal(sig)

				code, took := waitExit(t, cmd, 20*time.Second)
				out := stdout.String() + stderr.String()
				if code != 130 {
					t.Fatalf("exit status %d after %v, want 130\n%s", code, sig, out)
				}
				if !strings.Contains(stderr.String(), "interrupted: every guest stopped") {
					t.Errorf("stderr does not say what happened:\n%s", stderr.String())
				}
				t.Logf("%v during %s: exit 130 %v after the signal", sig, ph.name, took.Round(10*time.Millisecond))
				checkResults(t, dir, good)
				proctest.NoneLeft(t, before, dir, pids...)
			})
		}
	}
}

// Two runs of one notebook at once: the second refuses at once, naming the
// first, whose lock file is there; the first is not disturbed; once it is
// gone (interrupted, even) the lock is free again.
func TestTwoRunsAtOnce(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	dir := t.TempDir()
	good := copyResults(t, seedResults(t), dir)
	nbtest.File(t, filepath.Join(dir, "nb.toml"), phase(nbtest.RedisNoDisk, `test_time = "60s"`, dir))
	before := proctest.Children()

	var out1 bytes.Buffer
	first := start(t, benchbookCmd(t, dir, "run", "nb.toml"), &out1, &out1)
	pids := waitForLog(t, dir, "Ready to accept connections")

	lock, err := os.ReadFile(filepath.Join(dir, "nb.results", ".lock"))
	if err != nil || strings.TrimSpace(string(lock)) != fmt.Sprintf("pid %d", first.Process.Pid) {
		t.Errorf("lock file: %q, %v; want the first run's pid %d", lock, err, first.Process.Pid)
	}
	second := benchbookCmd(t, dir, "run", "nb.toml")
	start := time.Now()
	out2, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second run: %v, want exit status 1\n%s", err, out2)
	}
	want := fmt.Sprintf("benchbook: another benchbook run is using nb.results (pid %d); wait for it to finish or stop it\n", first.Process.Pid)
	if string(out2) != want {
		t.Errorf("second run said\n%s\nwant\n%s", out2, want)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the second run took %v to refuse", took)
	}
	if first.ProcessState != nil || !proctest.Alive(pids[0]) {
		t.Error("the first run or its guest did not survive the second")
	}

	first.Process.Signal(syscall.SIGINT)
	if code, _ := waitExit(t, first, 20*time.Second); code != 130 {
		t.Fatalf("first run: exit status %d, want 130\n%s", code, out1.String())
	}
	checkResults(t, dir, good)
	proctest.NoneLeft(t, before, dir, pids...)

	// The kernel dropped the lock with the process: a new run gets it.
	nbtest.File(t, filepath.Join(dir, "nb.toml"), quickNotebook(dir))
	if out, err := benchbookCmd(t, dir, "run", "nb.toml").CombinedOutput(); err != nil {
		t.Fatalf("a run after the interrupted one: %v\n%s", err, out)
	}
}

// render, build and serve never start a process: the notebook's guest
// would create a file, and after each of them the file does not exist.
func TestRenderBuildServeRunNothing(t *testing.T) {
	dir := t.TempDir()
	nbDir := filepath.Join(dir, "notebooks")
	ran := filepath.Join(dir, "ran")
	nbtest.File(t, filepath.Join(nbDir, "nb.toml"), phase(fmt.Sprintf(`["sh", "-c", "touch %s; exec redis-server --port {port}"]`, ran), "requests = 10", dir)+`
[[cells]]
kind = "plot"
from = "tp"
`)
	// A stale stored run, so pages show results as well as placeholders.
	nbtest.File(t, filepath.Join(nbDir, "nb.results", "tp.failed.json"), `{"schema": 1, "notebook": "nb.toml", "cell": "tp", "input_hash": "sha256:0",
"started": "2026-11-27T05:00:00Z", "finished": "2026-11-27T05:00:01Z", "env": {}, "guests": [], "failure": "it broke"}
`)
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{
		{"check", nbDir},
		{"render", filepath.Join(nbDir, "nb.toml"), "-o", filepath.Join(dir, "out")},
		{"build", nbDir, "-o", filepath.Join(dir, "public")},
		{"build", nbDir, "--format", "hugo", "-o", filepath.Join(dir, "hugo")},
	} {
		if err := run(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
	}

	sctx, cancel := context.WithCancel(ctx)
	var serveOut testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(sctx, []string{"serve", nbDir, "--port", "0"}, &serveOut, &serveOut) }()
	addr := waitFor(t, &serveOut, regexp.MustCompile(`on (http://127\.0\.0\.1:\d+/)`))
	for _, page := range []string{"", "nb/"} {
		resp, err := http.Get(addr + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("signals")) {
			t.Errorf("GET %s%s: %s\n%.300s", addr, page, resp.Status, body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, serveOut.String())
	}
	if _, err := os.Stat(ran); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the guest's command ran (%s exists)", ran)
	}
	if _, err := os.Stat(filepath.Join(nbDir, "nb.results", "tp.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("results appeared")
	}
}

func needRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (make setup installs it)")
	}
}

// seedResults runs quickNotebook once and returns its results folder: the
// previous results every case starts from.
func seedResults(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	nbtest.File(t, filepath.Join(dir, "nb.toml"), quickNotebook(dir))
	if out, err := benchbookCmd(t, dir, "run", "nb.toml").CombinedOutput(); err != nil {
		t.Fatalf("seed run: %v\n%s", err, out)
	}
	return filepath.Join(dir, "nb.results")
}

// copyResults copies a results folder into dir/nb.results and returns its
// files.
func copyResults(t *testing.T, src, dir string) map[string][]byte {
	t.Helper()
	dst := filepath.Join(dir, "nb.results")
	testutil.CopyDir(t, src, dst)
	return testutil.ReadFiles(t, dst, ".lock")
}

// checkResults asserts that the results folder holds exactly the files it
// held before, byte for byte: an interrupted run writes nothing.
func checkResults(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	now := testutil.ReadFiles(t, filepath.Join(dir, "nb.results"), ".lock")
	for name, data := range before {
		if !bytes.Equal(now[name], data) {
			t.Errorf("%s changed", name)
		}
	}
	for name := range now {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "nb.results", ".run-*")); len(m) > 0 {
		t.Errorf("staging folders left: %v", m)
	}
}

var redisPidRE = regexp.MustCompile(`Redis version=\S+, bits=\d+, commit=\S+, modified=\d+, pid=(\d+)`)

// waitForLog waits until a guest log of the run in progress holds trigger
// and returns the pids redis printed there so far.
func waitForLog(t *testing.T, dir, trigger string) []int {
	t.Helper()
	_, data := waitForGuestLog(t, runLogs(dir), func(log []byte) bool { return bytes.Contains(log, []byte(trigger)) },
		fmt.Sprintf("no guest log says %q", trigger))
	var pids []int
	for _, m := range redisPidRE.FindAllSubmatch(data, -1) {
		pid, _ := strconv.Atoi(string(m[1]))
		pids = append(pids, pid)
	}
	return pids
}

// waitExit waits for cmd and returns its exit status and how long it took.
func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), time.Since(start)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("benchbook did not exit within %v", limit)
		return 0, 0
	}
}

func waitFor(t *testing.T, b *testutil.SyncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s in:\n%s", re, b.String())
	return ""
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/results"
)

// Stored figures a thousand times what this machine measures have moved,
// whatever its noise (ten times was not enough: with the machine busy, the
// stored run measured a fifth of what verify's rerun did): verify says so per guest and metric, with p below
// alpha, exits 1, and leaves the stored files byte-identical.
func TestVerifyMoved(t *testing.T) {
	needRedisServer(t)
	path, store := runThenEdit(t, 4, func(m map[string]float64) {
		m["ops_per_sec"] *= 1000
		m["latency_avg"] /= 1000
	})
	before := testutil.ReadFiles(t, store.Dir)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"verify", "-q", path}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`(?m)^tp +host +ops_per_sec +[0-9,]+ ops/s +[0-9,]+ ops/s +-[0-9]+\.[0-9]% +p=0\.029 +moved$`,
		`(?m)^tp +host +latency_avg +[0-9.,]+ µs +[0-9.,]+ µs +\+[0-9.]+% +p=0\.029 +moved$`,
		`(?m)^tp +host +latency_p99 +.* p=[01]\.[0-9]{3} +(holds|moved|inconclusive)`,
		`(?m)^verify: 3 figures: [23] moved, `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	if after := testutil.ReadFiles(t, store.Dir); !maps.EqualFunc(before, after, bytes.Equal) {
		t.Error("verify changed the stored results")
	}
}

// With 3 + 3 repeats no change can show (the smallest p is 0.1): stored
// figures ten times what this machine measures, or a rerun 70 % slower
// than the stored run, are inconclusive, never "holds"; the exit status
// is 3 and the summary counts them.
func TestVerifyInconclusive(t *testing.T) {
	needRedisServer(t)
	for _, tt := range []struct {
		name string
		k    float64 // stored figures = measured × k
	}{
		{"stored figures ×10", 10},
		{"a rerun 70 % slower", 1 / 0.3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := runThenEdit(t, 3, func(m map[string]float64) {
				m["ops_per_sec"] *= tt.k
				m["latency_avg"] /= tt.k
				m["latency_p99"] /= tt.k
			})
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"verify", "-q", path}, &stdout, &stderr)
			out := stdout.String()
			if code := exitCode(err, &stderr); code != 3 {
				t.Fatalf("exit status %d, want 3\n%s\n%s", code, out, stderr.String())
			}
			for _, m := range []string{"ops_per_sec", "latency_avg", "latency_p99"} {
				// p is 0.100 when the six repeats do not interleave, larger
				// on a machine busy enough to blur a 70 % change.
				re := `(?m)^tp +host +` + m + ` +.* p=[01]\.[0-9]{3} +inconclusive +\(3 \+ 3 repeats cannot show a change at α = 0\.05 \(p ≥ 0\.100\): run at least 4 \+ 4\)$`
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("no inconclusive line for %s:\n%s", m, out)
				}
			}
			if strings.Contains(out, "holds") || !strings.Contains(out, "verify: 3 figures: 0 moved, 0 hold, 3 inconclusive (α = 0.05") {
				t.Errorf("output:\n%s", out)
			}
		})
	}
}

// runThenEdit runs, in a fresh folder, the phase notebook's redis cell with
// repeat repeats, then rewrites its stored figures: edit changes each
// repeat's metrics, and the summary is made again. It returns the
// notebook's path and its results store.
func runThenEdit(t *testing.T, repeat int, edit func(metrics map[string]float64)) (string, results.Store) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "nb.toml")
	nbtest.File(t, path, strings.Replace(phase(nbtest.RedisNoDisk, "requests = 300", dir), "repeat = 1", fmt.Sprintf("repeat = %d", repeat), 1))
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"run", "-q", path}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	store := results.ForNotebook(path)
	f, err := store.Load("tp")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Guests[0].Points[0].Repeats {
		edit(r.Metrics)
	}
	f.Summarize()
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	return path, store
}

// verifyCmd starts the real binary's verify of dir/nb.toml with its
// temporary folder in dir/tmp.
func verifyCmd(t *testing.T, dir string, out *bytes.Buffer, notebook string) *exec.Cmd {
	t.Helper()
	cmd := benchbookCmd(t, dir, "verify", "-q", notebook)
	cmd.Env = append(cmd.Env, "TMPDIR="+filepath.Join(dir, "tmp"))
	return start(t, cmd, out, out)
}

// scratchFolders lists verify's scratch folders in dir/tmp.
func scratchFolders(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "tmp", "benchbook-verify-*"))
	return m
}

// waitForVerifyGuest waits until the rerun's guest (of the verify with pid
// pid) answers and returns redis's pid.
func waitForVerifyGuest(t *testing.T, dir string, pid int) []int {
	t.Helper()
	pattern := filepath.Join(dir, "tmp", fmt.Sprintf("benchbook-verify-%d-*", pid), "results", ".run-*", "logs", "*.log")
	l, _ := waitForGuestLog(t, pattern, func(log []byte) bool { return bytes.Contains(log, []byte("Ready to accept connections")) },
		fmt.Sprintf("no rerun guest of verify pid %d answered", pid))
	return proctest.RedisPids(filepath.Dir(l))
}

// seedVerify stores quick results for dir/nb.toml, then makes its load a
// minute long: a verify of it is still rerunning when a test signals it.
func seedVerify(t *testing.T, dir string) {
	t.Helper()
	nbtest.File(t, filepath.Join(dir, "nb.toml"), quickNotebook(dir))
	var out bytes.Buffer
	if err := run(context.Background(), []string{"run", "-q", filepath.Join(dir, "nb.toml")}, &out, &out); err != nil {
		t.Fatalf("seed run: %v\n%s", err, out.String())
	}
	nbtest.File(t, filepath.Join(dir, "nb.toml"), phase(nbtest.RedisNoDisk, `test_time = "60s"`, dir))
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// SIGINT, SIGTERM and SIGHUP (the terminal closed) end a verify in the
// middle of its rerun with status 130, its guests stopped and its scratch
// folder removed; the stored results are untouched.
func TestVerifySignalsRemoveScratch(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			seedVerify(t, dir)
			stored := testutil.ReadFiles(t, filepath.Join(dir, "nb.results"), ".lock")
			before := proctest.Children()
			var out bytes.Buffer
			cmd := verifyCmd(t, dir, &out, "nb.toml")
			pids := waitForVerifyGuest(t, dir, cmd.Process.Pid)
			if len(scratchFolders(dir)) != 1 {
				t.Fatalf("scratch folders while verifying: %v", scratchFolders(dir))
			}
			cmd.Process.Signal(sig)
			if code, _ := waitExit(t, cmd, 20*time.Second); code != 130 {
				t.Errorf("exit status %d after %v, want 130\n%s", code, sig, out.String())
			}
			if left := scratchFolders(dir); len(left) > 0 {
				t.Errorf("scratch folders left after %v: %v", sig, left)
			}
			checkResults(t, dir, stored)
			proctest.NoneLeft(t, before, dir, pids...)
		})
	}
}

// A verify killed outright (SIGKILL) cannot clean up: the next verify
// removes its scratch folder, whose pid is dead, and says so; a verify
// started meanwhile leaves alone the folder of the one still running.
func TestVerifyRemovesScratchOfKilled(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	dir := t.TempDir()
	seedVerify(t, dir)
	before := proctest.Children()

	var killedOut bytes.Buffer
	killed := verifyCmd(t, dir, &killedOut, "nb.toml")
	pids := waitForVerifyGuest(t, dir, killed.Process.Pid)
	killed.Process.Kill()
	waitExit(t, killed, 20*time.Second)
	proctest.Kill(proctest.Left(before, dir, pids...)) // its guest: SIGKILL stops nothing
	leftover := scratchFolders(dir)
	if len(leftover) != 1 {
		t.Fatalf("after SIGKILL, scratch folders %v, want the killed one's", leftover)
	}

	var liveOut bytes.Buffer
	live := verifyCmd(t, dir, &liveOut, "nb.toml")
	pids = append(pids, waitForVerifyGuest(t, dir, live.Process.Pid)...)
	if _, err := os.Stat(leftover[0]); !os.IsNotExist(err) {
		t.Errorf("the killed verify's %s is still there once the next one runs", leftover[0])
	}

	// A quick notebook with the same stored results verifies to the end
	// beside the live one.
	nbtest.File(t, filepath.Join(dir, "quick.toml"), quickNotebook(dir))
	testutil.CopyDir(t, filepath.Join(dir, "nb.results"), filepath.Join(dir, "quick.results"))
	var out bytes.Buffer
	next := verifyCmd(t, dir, &out, "quick.toml")
	// 0 holds, 1 moved, 3 inconclusive (one repeat each): all mean it ran to
	// the end; 2 is a usage error, 130 an interrupt.
	if code, _ := waitExit(t, next, 60*time.Second); code != 0 && code != 1 && code != 3 {
		t.Fatalf("quick verify: exit status %d\n%s", code, out.String())
	}
	now := scratchFolders(dir)
	if len(now) != 1 || !strings.HasPrefix(filepath.Base(now[0]), fmt.Sprintf("benchbook-verify-%d-", live.Process.Pid)) {
		t.Errorf("scratch folders %v, want only the live verify's (pid %d)", now, live.Process.Pid)
	}
	if strings.Contains(out.String(), "removed ") {
		t.Errorf("the quick verify removed something:\n%s", out.String())
	}

	live.Process.Signal(syscall.SIGINT)
	if code, _ := waitExit(t, live, 20*time.Second); code != 130 {
		t.Errorf("live verify: exit status %d, want 130\n%s", code, liveOut.String())
	}
	if want := "removed " + leftover[0] + ": left by a verify that was killed\n"; !strings.Contains(liveOut.String(), want) {
		t.Errorf("the verify after the killed one did not say %q:\n%s", want, liveOut.String())
	}
	if left := scratchFolders(dir); len(left) > 0 {
		t.Errorf("scratch folders left: %v", left)
	}
	proctest.NoneLeft(t, before, dir, pids...)
}

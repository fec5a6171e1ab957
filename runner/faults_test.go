package runner

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/results"
)

// The fault matrix: each case breaks one thing a real run meets -- a guest
// that never answers, dies mid-load, refuses requests, a missing program, a
// results folder that cannot be written -- and asserts the same three
// things: the outcome and its message, the previous results byte-identical
// afterwards, and no process left behind (by pid, by marker, and as an
// orphan adopted by the test). Signals and two runs at once need the real
// binary: cmd/benchbook/faults_test.go.

// faultNotebook is hostNotebook with {cmd} for the guest's command and
// {load} for extra load keys; {marker} is replaced by the case's folder, set
// as an environment variable of the guest so even a process that rewrote
// its command line can be found.
var faultNotebook = `title = "fault"
` + nbtest.ProcessGuest("host", "{cmd}") + `env = { BENCHBOOK_FAULT_MARKER = "{marker}" }
ready_timeout = "{ready}"
[loads.quick]
tool = "{tool}"
clients = 2
{load}
` + nbtest.BenchCell("tp", "quick", 2, "host")

const redisArgs = `"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"`

type fault struct {
	name    string
	cmd     string // TOML array; {port} is the runner's
	ready   string // ready_timeout
	tool    string
	load    string
	fs      string                         // "readonly", "full" or "fills": the results folder is on a small tmpfs
	fillAt  string                         // with fs "fills": after the last repeat's trace event of this name, the disk is full
	setup   func(t *testing.T, dir string) // before the run
	wantErr error                          // errors.Is; nil: any error
	want    []string                       // in the error (or the failure record, when one is written); "a|b": either
	record  bool                           // a CELL.failed.json is written
	within  time.Duration
}

func (f fault) notebook(marker string) string {
	r := strings.NewReplacer(
		"{cmd}", f.cmd,
		"{ready}", cmp.Or(f.ready, "10s"),
		"{tool}", cmp.Or(f.tool, "builtin"),
		"{load}", cmp.Or(f.load, "requests = 200"),
		"{marker}", marker,
	)
	return r.Replace(faultNotebook)
}

var plainRedis = `["redis-server", "--port", "{port}", ` + redisArgs + `]`

func TestFaultMatrix(t *testing.T) {
	needRedis(t)
	proctest.Adopt(t)
	faults := []fault{
		{
			name:    "guest never ready",
			cmd:     `["sh", "-c", "echo listening soon; exec sleep 30"]`,
			ready:   "300ms",
			wantErr: ErrFailed, record: true,
			want: []string{"guest host", "guest not ready", "within 300ms", "listening soon"},
		},
		{
			name:    "guest exits during boot",
			cmd:     `["redis-server", "--port", "{port}", "--no-such-option", "1"]`,
			wantErr: ErrFailed, record: true,
			want: []string{"guest host", "exited before answering PING", "no-such-option"},
		},
		{
			name:    "guest dies during the load",
			cmd:     `["sh", "-c", "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & sleep 0.5; kill -9 $!; wait"]`,
			load:    `test_time = "20s"`,
			wantErr: ErrFailed, record: true, within: 10 * time.Second,
			// Whichever the runner notices first: the exit, or the silence.
			want: []string{"guest host, repeat 1", "exited during the load|no longer answers PING"},
		},
		{
			name:    "server answers errors (maxmemory reached)",
			cmd:     `["redis-server", "--port", "{port}", "--maxmemory", "1", "--maxmemory-policy", "noeviction", ` + redisArgs + `]`,
			wantErr: ErrFailed, record: true,
			want: []string{"guest host, repeat 1", "requests with an error", "OOM command not allowed", "maxmemory"},
		},
		{
			name:    "guest program missing from PATH",
			cmd:     `["no-such-redis-server", "--port", "{port}"]`,
			wantErr: ErrFailed, record: true,
			want: []string{"guest host", "no-such-redis-server not found on PATH"},
		},
		{
			name:    "load tool missing from PATH",
			cmd:     plainRedis,
			tool:    "redis-benchmark",
			setup:   pathWithout("redis-benchmark"),
			wantErr: ErrFailed, record: true,
			want: []string{"load quick", "redis-benchmark not on PATH"},
		},
		{
			name: "results folder not writable",
			cmd:  plainRedis,
			fs:   "readonly",
			want: []string{"read-only file system"},
		},
		{
			// The last repeat is measured, then nothing can be saved: the
			// new logs must not replace the ones the stored results name.
			name:    "disk fills during the run",
			cmd:     plainRedis,
			fs:      "fills",
			fillAt:  "load-done",
			wantErr: ErrFailed,
			// Storing the figures fails, or -- when the guest's log fills
			// the disk first, as it stops -- recording that failure does.
			want: []string{"store results|record the failure", "no space left on device"},
		},
		{
			// The guest's log cannot be written either: the first line of
			// the message blames the guest, the rest says why.
			name:    "disk full",
			cmd:     plainRedis,
			fs:      "full",
			wantErr: ErrFailed,
			want:    []string{"no space left on device"},
		},
	}
	seed := seedRun(t)
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			dir := t.TempDir()
			if f.fs != "" {
				dir = tmpfs(t, "64k")
			}
			store, good := seedFaultResults(t, seed, dir)
			marker := dir
			before := proctest.Children()
			nb := nbtest.Write(t, dir, f.notebook(marker))
			if f.setup != nil {
				f.setup(t, dir)
			}
			switch f.fs {
			case "readonly":
				if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
					t.Fatalf("remount read-only: %v", err)
				}
				t.Cleanup(func() { syscall.Mount("", dir, "", syscall.MS_REMOUNT, "") })
			case "full":
				fill(t, dir)
			}

			opt := Options{Force: true, Version: "test"}
			if f.fillAt != "" {
				n := 0
				opt.Trace = func(event string) {
					if event == f.fillAt {
						if n++; n == nb.Bench("tp").Repeat {
							fill(t, dir)
						}
					}
				}
			}
			var out bytes.Buffer
			opt.Progress = &out
			start := time.Now()
			_, err := Run(context.Background(), nb, store, opt)
			took := time.Since(start)

			if err == nil {
				t.Fatalf("the run succeeded:\n%s", out.String())
			}
			if f.wantErr != nil && !errors.Is(err, f.wantErr) {
				t.Errorf("err = %v, want %v", err, f.wantErr)
			}
			if f.within > 0 && took > f.within {
				t.Errorf("the failure took %v to notice, want < %v", took.Round(time.Millisecond), f.within)
			}
			msg := err.Error() + "\n" + out.String()
			if rec, rerr := store.LoadFailure("tp"); f.record {
				if rerr != nil {
					t.Fatalf("no failure record: %v", rerr)
				}
				msg = rec.Failure
			} else if rerr == nil {
				t.Errorf("a failure was recorded: %s", rec.Failure)
			}
			for _, w := range f.want {
				if !containsAny(msg, strings.Split(w, "|")) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			t.Logf("outcome: %s", firstLine(errors.New(msg)))

			checkUntouched(t, store, good)
			pids := proctest.RedisPids(store.Dir)
			proctest.NoneLeft(t, before, marker, pids...)
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// seedRun runs the plain notebook once in dir: the good result every case
// starts from.
func seedRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	nb := nbtest.Write(t, dir, fault{cmd: plainRedis}.notebook(dir))
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, results.ForNotebook(nb.Path), Options{Version: "test", Progress: &out}); err != nil {
		t.Fatalf("seed run: %v\n%s", err, out.String())
	}
	return results.ForNotebook(nb.Path).Dir
}

// seedFaultResults copies the seeded results folder (good result and logs)
// into dir's and returns the store and its files as they are now.
func seedFaultResults(t *testing.T, seed, dir string) (results.Store, map[string][]byte) {
	t.Helper()
	store := results.ForNotebook(filepath.Join(dir, "nb.toml"))
	testutil.CopyDir(t, seed, store.Dir)
	return store, snapshot(t, store.Dir)
}

// snapshot reads every file of a results folder but its lock.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	return testutil.ReadFiles(t, dir, ".lock")
}

// checkUntouched asserts that every file of before is byte-identical, and
// that what is new is only a failure record and its logs: no temporary
// file, no staging folder.
func checkUntouched(t *testing.T, store results.Store, before map[string][]byte) {
	t.Helper()
	now := snapshot(t, store.Dir)
	for name, data := range before {
		if !bytes.Equal(now[name], data) {
			t.Errorf("%s changed", name)
		}
	}
	var extra []string
	for name := range now {
		if _, ok := before[name]; ok || name == "tp.failed.json" || strings.HasPrefix(name, "logs/failed/") {
			continue
		}
		extra = append(extra, name)
	}
	entries, _ := os.ReadDir(store.Dir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".run-") {
			extra = append(extra, e.Name()+"/")
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("left in the results folder: %v", extra)
	}
}

// pathWithout sets PATH to a folder holding only redis-server and sh, so
// that prog cannot be found.
func pathWithout(prog string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		bin := t.TempDir()
		for _, p := range []string{"redis-server", "sh"} {
			path, err := exec.LookPath(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(path, filepath.Join(bin, p)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(filepath.Join(bin, prog)); err == nil {
			t.Fatalf("%s is in %s", prog, bin)
		}
		t.Setenv("PATH", bin)
	}
}

// tmpfs mounts a small tmpfs for a case that needs a file system it can
// fill or make read-only; that needs root (CAP_SYS_ADMIN).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (mount -t tmpfs -o size=" + size + "): run the tests as root, as CI does")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): a container without CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file until the file system of dir has no space left.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// A guest's start is a list of named steps with an undo stack: the trace
// shows a failed start undone by the stack, and a good one stopped the
// same way, and nothing is left either time.
func TestGuestStepsTraced(t *testing.T) {
	needRedis(t)
	proctest.Adopt(t)
	tests := []struct {
		name string
		f    fault
		want []string // the guest's trace events of the first repeat
	}{
		{
			name: "never ready",
			f:    fault{cmd: `["sh", "-c", "echo listening soon; exec sleep 30"]`, ready: "300ms"},
			want: []string{
				"guest-step host process", "guest-step-done host process",
				"guest-step host ping", "guest-step-failed host ping",
				"guest-undo host process", "guest-undo-done host process",
			},
		},
		{
			name: "good",
			f:    fault{cmd: plainRedis},
			want: []string{
				"guest-step host process", "guest-step-done host process",
				"guest-step host ping", "guest-step-done host ping",
				"guest-step host info", "guest-step-done host info",
				"guest-ready",
				"guest-undo host process", "guest-undo-done host process",
				"guest-stopped",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			before := proctest.Children()
			nb := nbtest.Write(t, dir, tt.f.notebook(dir))
			var events []string
			opt := Options{Force: true, Version: "test", Progress: &bytes.Buffer{}}
			opt.Trace = func(ev string) {
				if strings.HasPrefix(ev, "guest-") && ev != "guest-starting" {
					events = append(events, ev)
				}
			}
			store := results.ForNotebook(nb.Path)
			_, err := Run(context.Background(), nb, store, opt)
			if (err == nil) != (tt.name == "good") {
				t.Fatalf("run: %v", err)
			}
			if got := events[:min(len(events), len(tt.want))]; strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(events, "\n"), strings.Join(tt.want, "\n"))
			}
			if err != nil {
				rec, rerr := store.LoadFailure("tp")
				if rerr != nil {
					t.Fatalf("no failure record: %v", rerr)
				}
				if !strings.Contains(rec.Failure, "guest host: start: step ping: guest not ready") {
					t.Errorf("the failure does not name the step: %s", rec.Failure)
				}
			}
			proctest.NoneLeft(t, before, dir)
		})
	}
}

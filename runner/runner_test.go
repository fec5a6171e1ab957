package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed (make setup installs it)")
	}
}

var hostNotebook = `title = "runner test"
[params]
clients = 2
` + nbtest.ProcessGuest("host", nbtest.RedisNoDisk) + `[loads.quick]
tool = "builtin"
clients = "{clients}"
requests = 300
` + nbtest.BenchCell("tp", "quick", 2, "host")

func runOpts(buf *bytes.Buffer) Options {
	return Options{Version: "test", Progress: buf}
}

// writeNotebook writes src as dir/nb.toml, as nbtest.Write does, and
// returns it with its results store.
func writeNotebook(t *testing.T, dir, src string) (*notebook.Notebook, results.Store) {
	t.Helper()
	nb := nbtest.Write(t, dir, src)
	return nb, results.ForNotebook(nb.Path)
}

func TestRunStoresAndSkipsFresh(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	nb, store := writeNotebook(t, dir, hostNotebook)
	var out bytes.Buffer
	outcomes, err := Run(context.Background(), nb, store, runOpts(&out))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(outcomes) != 1 || outcomes[0].Status != Ran {
		t.Fatalf("outcomes %+v", outcomes)
	}
	f := mustLoad(t, store, "tp")
	g := f.Guest("host")
	if g == nil || g.Status != results.StatusOK || len(g.Points) != 1 || len(g.Points[0].Repeats) != 2 {
		t.Fatalf("stored guest: %+v", g)
	}
	sum := g.Points[0].Summary["ops_per_sec"]
	if sum.N != 2 || sum.Median <= 0 {
		t.Errorf("ops_per_sec summary %+v", sum)
	}
	if g.Facts["redis_version"] == "" || f.Env.Tools["builtin"] == "" || f.Env.CPUModel == "" {
		t.Errorf("facts %v tools %v", g.Facts, f.Env.Tools)
	}
	if len(g.Commands) < 2 || !strings.HasPrefix(g.Commands[0], "redis-server --port ") {
		t.Errorf("commands %q", g.Commands)
	}
	if log := g.Points[0].Repeats[0].Log; log == "" {
		t.Error("no log recorded")
	} else if _, err := os.Stat(store.Resolve(log)); err != nil {
		t.Errorf("log file: %v", err)
	}
	before, _ := os.ReadFile(store.Path("tp"))

	// Nothing changed: nothing runs, nothing is written.
	out.Reset()
	outcomes, err = Run(context.Background(), nb, store, runOpts(&out))
	if err != nil || outcomes[0].Status != UpToDate {
		t.Fatalf("second run: %+v %v", outcomes, err)
	}
	if !strings.Contains(out.String(), "tp: up to date") {
		t.Errorf("progress does not say up to date: %q", out.String())
	}
	after, _ := os.ReadFile(store.Path("tp"))
	if !bytes.Equal(before, after) {
		t.Error("an up-to-date run rewrote the results")
	}
	for _, st := range State(nb, store) {
		if !st.Fresh {
			t.Errorf("state %+v", st)
		}
	}

	// A referenced param changes: the cell is stale again.
	if err := nb.Override([]string{"clients=3"}); err != nil {
		t.Fatal(err)
	}
	if st := State(nb, store); st[0].Fresh || !strings.Contains(st[0].Reason, "inputs changed") {
		t.Errorf("after override: %+v", st)
	}
}

// A sweep runs every point; guests take turns within each repeat.
func TestRunSweepInterleaves(t *testing.T) {
	needRedis(t)
	src := strings.Replace(hostNotebook, "[loads.quick]", nbtest.ProcessGuest("other", nbtest.RedisNoDisk)+"[loads.quick]", 1)
	src = strings.Replace(src, `guests = ["host"]`, `guests = ["host", "other"]`+"\nsweep = { clients = [1, 2] }", 1)
	nb := nbtest.Write(t, t.TempDir(), src)
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, results.ForNotebook(nb.Path), runOpts(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var order []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, " ops/s") {
			order = append(order, strings.Fields(line)[1])
		}
	}
	want := "host other host other host other host other"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("run order %q, want %q\n%s", got, want, out.String())
	}
	f, _ := results.ForNotebook(nb.Path).Load("tp")
	if pts := f.Guest("other").Points; len(pts) != 2 || pts[1].Params["clients"] != int64(2) || len(pts[1].Repeats) != 2 {
		t.Errorf("points %+v", pts)
	}
}

// seed runs hostNotebook once so a good result exists, and returns its bytes.
func seed(t *testing.T, dir string) (results.Store, []byte) {
	t.Helper()
	nb, store := writeNotebook(t, dir, hostNotebook)
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("seed run: %v\n%s", err, out.String())
	}
	good, err := os.ReadFile(store.Path("tp"))
	if err != nil {
		t.Fatal(err)
	}
	return store, good
}

// checkGoodKept fails t unless cell tp's results are still good, the bytes
// seed returned, and its history still holds only that one run.
func checkGoodKept(t *testing.T, store results.Store, good []byte) {
	t.Helper()
	if now, _ := os.ReadFile(store.Path("tp")); !bytes.Equal(now, good) {
		t.Error("a failed run changed the last good results")
	}
	if entries, err := store.History("tp"); err != nil || len(entries) != 1 {
		t.Errorf("a failed run changed the history: %d runs, %v; want the good one", len(entries), err)
	}
}

func TestGuestNeverReadyKeepsGoodResults(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	store, good := seed(t, dir)
	src := strings.Replace(hostNotebook, `command = ["redis-server"`, `ready_timeout = "400ms"`+"\n"+`command = ["sh", "-c", "echo listening soon; exec sleep 30", "redis-server"`, 1)
	nb := nbtest.Write(t, dir, src)
	var out bytes.Buffer
	_, err := Run(context.Background(), nb, store, runOpts(&out))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	failure, ferr := store.LoadFailure("tp")
	if ferr != nil {
		t.Fatal(ferr)
	}
	for _, want := range []string{"guest not ready", "within 400ms", "listening soon"} {
		if !strings.Contains(failure.Failure, want) {
			t.Errorf("failure %q lacks %q", failure.Failure, want)
		}
	}
	// The message names the log where it is kept, not the staging folder
	// that the end of the run removes.
	m := regexp.MustCompile(`last lines of (\S+):`).FindStringSubmatch(failure.Failure)
	if m == nil {
		t.Fatalf("failure %q names no log", failure.Failure)
	}
	if strings.Contains(m[1], ".run-") {
		t.Errorf("failure names the staging log %s", m[1])
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Errorf("the log the failure names is not there: %v", err)
	}
	for _, msg := range []string{failure.Failure, err.Error()} {
		if strings.Contains(msg, ".run-") {
			t.Errorf("message names a staging folder: %s", msg)
		}
	}
	checkGoodKept(t, store, good)
}

// Every good run is kept in the cell's history with the machine's id;
// CELL.json is the newest of them.
func TestRunAppendsHistory(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	nb, store := writeNotebook(t, dir, hostNotebook)
	var out bytes.Buffer
	for range 2 {
		opt := runOpts(&out)
		opt.Force = true
		if _, err := Run(context.Background(), nb, store, opt); err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
	}
	entries, err := store.History("tp")
	if err != nil || len(entries) != 2 {
		t.Fatalf("history: %d runs, %v; want 2", len(entries), err)
	}
	cur, _ := store.Load("tp")
	for i, e := range entries {
		if e.Run.Env.Machine == "" || e.Run.Env.Machine != cur.Env.Machine {
			t.Errorf("run %d: machine %q, CELL.json's %q", i, e.Run.Env.Machine, cur.Env.Machine)
		}
		if n := len(e.Run.Guest("host").Points[0].Repeats); n != 2 {
			t.Errorf("run %d keeps %d repeats, want 2", i, n)
		}
	}
	if entries[1].ID != results.RunID(cur) || entries[0].ID == entries[1].ID {
		t.Errorf("ids %s, %s; CELL.json's %s", entries[0].ID, entries[1].ID, results.RunID(cur))
	}
}

func TestServerKilledMidLoad(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	store, good := seed(t, dir)
	// The guest kills its redis 0.8 s into a 20 s load.
	src := strings.Replace(hostNotebook, `command = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]`,
		`command = ["sh", "-c", "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & sleep 0.8; kill -9 $!; wait"]`, 1)
	src = strings.Replace(src, "requests = 300", `test_time = "20s"`, 1)
	nb := nbtest.Write(t, dir, src)
	var out bytes.Buffer
	start := time.Now()
	_, err := Run(context.Background(), nb, store, runOpts(&out))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("the failure took %v to notice", time.Since(start))
	}
	failure, _ := store.LoadFailure("tp")
	if failure == nil || !strings.Contains(failure.Failure, "guest host") || !(strings.Contains(failure.Failure, "no longer answers PING") || strings.Contains(failure.Failure, "exited during the load")) {
		t.Fatalf("failure record: %+v", failure)
	}
	t.Logf("failure message: %s", failure.Failure)
	checkGoodKept(t, store, good)
}

func TestOptionalAndUnavailableGuests(t *testing.T) {
	needRedis(t)
	src := strings.Replace(hostNotebook, "[loads.quick]", `[guests.vm]
kind = "qemu"
optional = true
kernel = "images/missing-vmlinuz"
initrd = "images/missing-initrd"
[guests.gone]
kind = "process"
optional = true
command = ["no-such-redis-server", "--port", "{port}"]
[loads.quick]`, 1)
	src = strings.Replace(src, `guests = ["host"]`, `guests = ["host", "vm", "gone"]`, 1)
	nb, store := writeNotebook(t, t.TempDir(), src)
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	f, _ := store.Load("tp")
	if g := f.Guest("vm"); g.Status != results.StatusSkipped || !strings.Contains(g.Reason, "images/missing-vmlinuz is missing (see docs/guests/linux.md") {
		t.Errorf("vm: %+v", g)
	}
	if g := f.Guest("gone"); g.Status != results.StatusSkipped || !strings.Contains(g.Reason, "no-such-redis-server not found") {
		t.Errorf("gone: %+v", g)
	}
	if g := f.Guest("host"); g.Status != results.StatusOK {
		t.Errorf("host: %+v", g)
	}
}

func TestMissingRequiredProgramFailsFast(t *testing.T) {
	src := strings.Replace(hostNotebook, `command = ["redis-server"`, `command = ["no-such-redis-server"`, 1)
	nb := nbtest.Write(t, t.TempDir(), src)
	_, err := Run(context.Background(), nb, results.ForNotebook(nb.Path), runOpts(&bytes.Buffer{}))
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	f, _ := results.ForNotebook(nb.Path).LoadFailure("tp")
	if f == nil || !strings.Contains(f.Failure, "no-such-redis-server not found on PATH") {
		t.Fatalf("failure %+v", f)
	}
}

func TestOnlyUnknownCell(t *testing.T) {
	nb := nbtest.Write(t, t.TempDir(), hostNotebook)
	_, err := Run(context.Background(), nb, results.ForNotebook(nb.Path), Options{Only: "tpp"})
	if err == nil || !strings.Contains(err.Error(), `no bench cell "tpp" (bench cells: tp)`) {
		t.Fatalf("err = %v", err)
	}
}

func TestLockRefusesSecondRun(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lock(dir)
	if err == nil || !strings.Contains(err.Error(), "another benchbook run is using") || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := lock(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

func TestSweepPoints(t *testing.T) {
	pts := sweepPoints([]notebook.SweepAxis{{Param: "a", Values: []any{1, 2}}, {Param: "b", Values: []any{"x", "y"}}})
	var got []string
	for _, p := range pts {
		got = append(got, describePoint(p))
	}
	want := " [a=1 b=x]| [a=1 b=y]| [a=2 b=x]| [a=2 b=y]"
	if strings.Join(got, "|") != want {
		t.Errorf("points %q", got)
	}
	if pts := sweepPoints(nil); len(pts) != 1 || len(pts[0]) != 0 {
		t.Errorf("no sweep: %v", pts)
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"redis-server", "--save", "", "--dir", "/tmp/a b", "it's"})
	want := `redis-server --save '' --dir '/tmp/a b' 'it'\''s'`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// mustLoad loads the stored results of cell, which must be there.
func mustLoad(t *testing.T, store results.Store, cell string) *results.File {
	t.Helper()
	f, err := store.Load(cell)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

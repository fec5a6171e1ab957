package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/results"
)

// twoGuests measures a good redis and guest "other", whose command is
// {other}, two repeats each, retrying a failed repeat {retry} times.
var twoGuests = `title = "keep going"
` + nbtest.ProcessGuest("host", nbtest.RedisNoDisk) + nbtest.ProcessGuest("other", "{other}") + `[loads.quick]
tool = "builtin"
clients = 2
requests = 300
` + nbtest.BenchCell("tp", "quick", 2, "host", "other") + `retry = {retry}
`

func twoGuestsNotebook(other, retry string) string {
	return strings.NewReplacer("{other}", other, "{retry}", retry).Replace(twoGuests)
}

// A redis that dies as soon as it has answered its first PING: whether
// the runner's ready check or its load comes second, the repeat fails.
const diesAfterPong = `["sh", "-c", "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no & until redis-cli -p {port} ping >/dev/null 2>&1; do sleep 0.01; done; kill -9 $!; echo killed after the first PONG; exit 1"]`

// A guest that fails does not throw the others away: the cell measures
// them in full and stores their figures, the failed guest marked with
// its failure and keeping its figures of the last run that measured it,
// and the run fails.
func TestKeepGoingAfterAGuestFails(t *testing.T) {
	needRedis(t)
	proctest.Adopt(t)
	dir := t.TempDir()
	before := proctest.Children()
	nb, store := writeNotebook(t, dir, twoGuestsNotebook(plainRedis, "0"))
	if _, err := Run(context.Background(), nb, store, runOpts(&bytes.Buffer{})); err != nil {
		t.Fatalf("seed run: %v", err)
	}
	seed, _ := store.Load("tp")
	seedLogs := snapshot(t, store.LogsDir())

	nb = nbtest.Write(t, dir, twoGuestsNotebook(diesAfterPong, "0"))
	var out bytes.Buffer
	outcomes, err := Run(context.Background(), nb, store, runOpts(&out))
	if !errors.Is(err, ErrFailed) || len(outcomes) != 1 || outcomes[0].Status != Failed {
		t.Fatalf("err = %v, outcomes %+v\n%s", err, outcomes, out.String())
	}
	for _, want := range []string{"guest other, repeat 1: ", "the other guests' figures are stored in " + store.Path("tp") + "; other keeps its figures of the run of "} {
		if !strings.Contains(outcomes[0].Err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, outcomes[0].Err)
		}
	}
	if !strings.Contains(out.String(), "tp: guest other failed at repeat 1, going on with the other guests: ") {
		t.Errorf("the progress does not say the cell goes on:\n%s", out.String())
	}
	f, lerr := store.Load("tp")
	if lerr != nil {
		t.Fatal(lerr)
	}
	if _, ferr := store.LoadFailure("tp"); ferr == nil {
		t.Error("a failure file was written beside the results")
	}
	if !strings.HasPrefix(f.Incomplete, "guest other, repeat 1: ") {
		t.Errorf("incomplete = %q", f.Incomplete)
	}
	if g := f.Guest("host"); g.Status != results.StatusOK || len(g.Points[0].Repeats) != 2 || g.Points[0].Summary["ops_per_sec"].N != 2 || !f.Started.After(seed.Started) {
		t.Errorf("host: %+v", g)
	}
	g := f.Guest("other")
	if g.Status != results.StatusFailed || len(g.Failures) != 1 || g.Failures[0].Repeat != 0 || g.Failures[0].Retried || g.Reason != g.Failures[0].Reason {
		t.Fatalf("other: %+v", g)
	}
	if !strings.HasPrefix(g.FailureText(), "1 failure in 1 repeat, given up at repeat 1: ") {
		t.Errorf("failure text %q", g.FailureText())
	}
	checkKept(t, g, seed)
	checkFailureLog(t, store, g.Failures[0], "killed after the first PONG")
	// The logs the kept figures name are the seed run's, untouched.
	for name, data := range seedLogs {
		if now, _ := os.ReadFile(filepath.Join(store.LogsDir(), name)); strings.HasPrefix(name, "tp.other.") && !bytes.Equal(now, data) {
			t.Errorf("logs/%s changed", name)
		}
	}
	proctest.NoneLeft(t, before, dir)

	// The cell is not up to date: it runs again. A second failed run keeps
	// the same figures: those of the last run that measured the guest, not
	// of the run that failed.
	if st := State(nb, store)[0]; st.Fresh || st.Kind != KindFailed || !strings.HasPrefix(st.Reason, "the stored run is incomplete: guest other, repeat 1: ") ||
		!strings.Contains(st.Detail(), "is incomplete: guest other") {
		t.Errorf("state %+v, detail %q", st, st.Detail())
	}
	out.Reset()
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); !errors.Is(err, ErrFailed) || !strings.Contains(out.String(), "tp: running (the stored run is incomplete: ") {
		t.Fatalf("second failed run: %v\n%s", err, out.String())
	}
	f, _ = store.Load("tp")
	checkKept(t, f.Guest("other"), seed)
}

// checkKept asserts that g keeps its figures of the seed run.
func checkKept(t *testing.T, g *results.Guest, seed *results.File) {
	t.Helper()
	k := g.Kept
	if k == nil {
		t.Fatal("the failed guest keeps no figures")
	}
	want := seed.Guest(g.Name)
	if !k.Started.Equal(seed.Started) || k.InputHash != seed.InputHash || len(k.Points) != 1 || len(k.Points[0].Repeats) != 2 ||
		k.Points[0].Summary["ops_per_sec"].Median != want.Points[0].Summary["ops_per_sec"].Median || k.Facts["redis_version"] == "" {
		t.Errorf("kept %+v, want the seed's %+v", k, want)
	}
}

// checkFailureLog asserts that a failure names its log where it is kept,
// under logs/, never the staging folder, and that the log holds want.
func checkFailureLog(t *testing.T, store results.Store, f results.Failure, want string) {
	t.Helper()
	if strings.Contains(f.Reason, ".run-") {
		t.Errorf("the reason names the staging folder: %s", f.Reason)
	}
	data, err := os.ReadFile(store.Resolve(f.Log))
	if err != nil || !strings.Contains(string(data), want) {
		t.Errorf("log %q: %v\n%s", f.Log, err, data)
	}
	if m := regexp.MustCompile(`last lines of (\S+):`).FindStringSubmatch(f.Reason); m != nil && m[1] != store.Resolve(f.Log) {
		t.Errorf("the reason names %s, the failure %s", m[1], f.Log)
	}
}

// retry = N runs a failed repeat again with a fresh boot: a guest that
// fails once, then works, has its figures complete, the failure counted,
// and the run is good. A guest that fails every time is given up after
// its retries, each failure counted.
func TestRetry(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "booted-once")
	flaky := `["sh", "-c", "if [ -e ` + marker + ` ]; then exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no; fi; touch ` + marker + `; echo the first boot fails; exit 3"]`
	nb, store := writeNotebook(t, dir, twoGuestsNotebook(flaky, "2"))
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	f, _ := store.Load("tp")
	g := f.Guest("other")
	if g.Status != results.StatusOK || len(g.Points[0].Repeats) != 2 || len(g.Failures) != 1 || !g.Failures[0].Retried || g.Failures[0].Attempt != 0 || f.Incomplete != "" {
		t.Fatalf("other: %+v", g)
	}
	if !strings.HasPrefix(g.FailureText(), "1 failure in 2 repeats, retried: ") || !strings.Contains(g.FailureText(), "exited before answering PING") {
		t.Errorf("failure text %q", g.FailureText())
	}
	if g.Failures[0].Log != "logs/tp.other.p0.r0.failed1.log" {
		t.Errorf("failure log %q", g.Failures[0].Log)
	}
	checkFailureLog(t, store, g.Failures[0], "the first boot fails")
	if !strings.Contains(out.String(), "tp: other repeat 1/2: failed: ") || !strings.Contains(out.String(), "trying again with a fresh boot (retry 1/2)") ||
		!strings.Contains(out.String(), "tp: other repeat 1/2, retry 1/2: ") {
		t.Errorf("progress:\n%s", out.String())
	}

	t.Run("given up after its retries", func(t *testing.T) {
		nb, store := writeNotebook(t, t.TempDir(), twoGuestsNotebook(`["sh", "-c", "echo never; exit 3"]`, "1"))
		if _, err := Run(context.Background(), nb, store, runOpts(&bytes.Buffer{})); !errors.Is(err, ErrFailed) {
			t.Fatalf("err = %v", err)
		}
		f, _ := store.Load("tp")
		g := f.Guest("other")
		if g.Status != results.StatusFailed || len(g.Failures) != 2 || g.Kept != nil {
			t.Fatalf("other: %+v", g)
		}
		if s := g.FailureText(); !strings.HasPrefix(s, "2 failures in 1 repeat (1 retried), given up at repeat 1: ") {
			t.Errorf("failure text %q", s)
		}
		for _, fl := range g.Failures {
			checkFailureLog(t, store, fl, "never")
		}
	})
}

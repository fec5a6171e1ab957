package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/machine"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/load"
)

// A run's results are fresh for Status right after it (what the run
// recorded is what Status probes); a faked redis upgrade, kernel and load
// generator make the cell stale (environment) naming each version; a plain
// run leaves it, --stale=env (Options.Stale) reruns exactly that cell.
func TestStatusEnvironment(t *testing.T) {
	needRedis(t)
	dir := t.TempDir()
	nb, store := writeNotebook(t, dir, hostNotebook+strings.ReplaceAll(hostNotebook[strings.Index(hostNotebook, "[[cells]]"):], `"tp"`, `"other"`))
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, st := range Status(context.Background(), nb, store, StatusOptions{}) {
		if st.Kind != KindFresh || len(st.Env) > 0 || st.Detail() != "" {
			t.Fatalf("right after the run: %s %s: %s", st.Cell, st.Kind, st.Detail())
		}
	}

	f := mustLoad(t, store, "tp")
	redis := f.Guest("host").Facts["redis_version"]
	f.Guest("host").Facts["redis_version"] = "6.0.0"
	kernel := f.Env.Kernel
	f.Env.Kernel = "5.10.0-old"
	f.Env.Tools["builtin"] = "1"
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	st := Status(context.Background(), nb, store, StatusOptions{})
	want := "kernel 5.10.0-old → " + kernel + ", builtin 1 → " + load.BuiltinVersion + ", redis 6.0.0 → " + redis + " (host)"
	if st[0].Kind != KindStaleEnv || st[0].Detail() != want || !st[0].Fresh {
		t.Errorf("after the fake upgrade: %s: %q\nwant %s: %q", st[0].Kind, st[0].Detail(), KindStaleEnv, want)
	}
	if st[1].Kind != KindFresh {
		t.Errorf("the other cell: %s %s", st[1].Kind, st[1].Detail())
	}
	// State reads files only: it cannot tell.
	if s := State(nb, store); s[0].Kind != KindFresh {
		t.Errorf("State: %s", s[0].Kind)
	}

	out.Reset()
	oc, err := Run(context.Background(), nb, store, runOpts(&out))
	if err != nil || oc[0].Status != UpToDate || oc[1].Status != UpToDate {
		t.Fatalf("plain run: %+v %v", oc, err)
	}
	out.Reset()
	opt := runOpts(&out)
	opt.Stale = StaleEnv
	oc, err = Run(context.Background(), nb, store, opt)
	if err != nil || oc[0].Status != Ran || oc[1].Status != UpToDate {
		t.Fatalf("--stale=env: %+v %v\n%s", oc, err, out.String())
	}
	if !strings.Contains(out.String(), "tp: running (environment changed: "+want+")") {
		t.Errorf("progress does not say why:\n%s", out.String())
	}
	if st := Status(context.Background(), nb, store, StatusOptions{}); st[0].Kind != KindFresh {
		t.Errorf("after the rerun: %s %s", st[0].Kind, st[0].Detail())
	}
}

// Never run, failed (a failure newer than the good run, or alone), stale
// inputs, unreadable: State tells each from the files.
func TestStateKinds(t *testing.T) {
	src := hostNotebook
	for _, id := range []string{"failed", "onlyfailed", "changed", "broken"} {
		src += strings.ReplaceAll(hostNotebook[strings.Index(hostNotebook, "[[cells]]"):], `"tp"`, `"`+id+`"`)
	}
	dir := t.TempDir()
	nb, store := writeNotebook(t, dir, src)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	file := func(id string, started time.Time, failure string) *results.File {
		return &results.File{Notebook: "nb.toml", Cell: id, InputHash: nb.InputHash(nb.Bench(id), nil), Started: started, Finished: started, Failure: failure,
			Guests: []results.Guest{{Name: "host", Kind: "process", Status: results.StatusOK, Points: []results.Point{{}}}}}
	}
	save := func(f *results.File) {
		t.Helper()
		var err error
		if f.Failure != "" {
			err = store.SaveFailure(f)
		} else {
			err = store.Save(f)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	save(file("failed", at, ""))
	save(file("failed", at.Add(time.Hour), "guest host, repeat 1: not ready\nlog tail"))
	save(file("onlyfailed", at, "redis-server not found on PATH"))
	changed := file("changed", at, "")
	changed.InputHash = "sha256:old"
	save(changed)
	if err := os.WriteFile(store.Path("broken"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"tp":         {KindNeverRun, ""},
		"failed":     {KindFailed, "the newest run (2026-12-01 11:00 UTC) failed: guest host, repeat 1: not ready; the last good run is fresh"},
		"onlyfailed": {KindFailed, "the newest run (2026-12-01 10:00 UTC) failed: redis-server not found on PATH"},
		"changed":    {KindStaleInputs, "the cell, its guests, its load or the params it uses changed"},
		"broken":     {KindUnreadable, "stored results unreadable: "},
	}
	for _, st := range State(nb, store) {
		w := want[st.Cell]
		if st.Kind != w[0] || !strings.HasPrefix(st.Detail(), w[1]) || (w[1] == "" && st.Detail() != "") {
			t.Errorf("%s: %s %q, want %s %q", st.Cell, st.Kind, st.Detail(), w[0], w[1])
		}
	}
}

// A VM guest's disk beside the notebook is recorded by its digest at run
// time; rewriting the file makes the cell stale (environment), naming it.
func TestStatusDiskDigest(t *testing.T) {
	dir := t.TempDir()
	nb := nbtest.Write(t, dir, `title = "disk"
[guests.vm]
kind = "qemu"
flavor = "osv"
disk = "osv.img"
[loads.l]
tool = "builtin"
`+nbtest.BenchCell("tp", "l", 0, "vm"))
	img := filepath.Join(dir, "osv.img")
	if err := os.WriteFile(img, []byte("version one"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := results.ForNotebook(nb.Path)
	env := machine.Collect(context.Background(), "test")
	f := &results.File{Notebook: "nb.toml", Cell: "tp", InputHash: nb.InputHash(nb.Bench("tp"), nil), Env: env,
		Guests: []results.Guest{{Name: "vm", Kind: "qemu", Status: results.StatusOK, Facts: map[string]string{"kind": "qemu"}, Points: []results.Point{{}}}}}
	cr := &cellRun{run: &run{nb: nb, store: store}, cell: nb.Bench("tp"), file: f, points: sweepPoints(nil)}
	cr.recordEnvFacts(context.Background())

	facts := f.Guests[0].Facts
	if facts["disk_file"] != "osv.img" || !strings.HasPrefix(facts["disk_digest"], "sha256:") || len(facts["disk_digest"]) != len("sha256:")+64 {
		t.Fatalf("recorded facts %v", facts)
	}
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	if st := Status(context.Background(), nb, store, StatusOptions{}); st[0].Kind != KindFresh {
		t.Errorf("same disk: %s %s", st[0].Kind, st[0].Detail())
	}
	if err := os.WriteFile(img, []byte("version two"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := Status(context.Background(), nb, store, StatusOptions{})
	old := facts["disk_digest"][:19]
	if st[0].Kind != KindStaleEnv || !strings.HasPrefix(st[0].Detail(), "disk osv.img "+old+" → sha256:") || !strings.HasSuffix(st[0].Detail(), " (vm)") {
		t.Errorf("rewritten disk: %s %q", st[0].Kind, st[0].Detail())
	}
	// A disk gone cannot be compared: the status says so, and is not stale
	// for it.
	os.Remove(img)
	st = Status(context.Background(), nb, store, StatusOptions{})
	if st[0].Kind != KindFresh || !strings.Contains(st[0].Detail(), "not checked: disk osv.img (vm): open ") {
		t.Errorf("disk gone: %s %q", st[0].Kind, st[0].Detail())
	}
}

// The programs benchbook knows answer their version flag as it reads them;
// the real programs, where installed.
func TestProgramVersions(t *testing.T) {
	p := newProber(StatusOptions{}.Image)
	for prog := range knownPrograms {
		t.Run(prog, func(t *testing.T) {
			needTool(t, prog)
			v, err := p.programVersion(context.Background(), prog)
			if err != nil || v == "" || strings.ContainsAny(v, " \n") || !strings.ContainsAny(v[:1], "0123456789") {
				t.Errorf("%s: version %q, %v", prog, v, err)
			}
		})
	}
	if _, err := p.programVersion(context.Background(), "/nonexistent/nginx"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing program: %v", err)
	}
}

// The built-in micro-VM's run records what Status finds again (its digest,
// its kernel, the redis it holds, qemu's version): fresh right after; a
// changed image digest and guest kernel make it stale (environment).
func TestStatusMicroVM(t *testing.T) {
	needVM(t)
	nb, store := writeNotebook(t, t.TempDir(), strings.Replace(vmNotebook, "repeat = 2", "repeat = 1", 1))
	var out bytes.Buffer
	opt := vmOpts(t, &out, t.TempDir())
	if _, err := Run(context.Background(), nb, store, opt); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	sopt := StatusOptions{Image: opt.Image}
	if st := Status(context.Background(), nb, store, sopt); st[0].Kind != KindFresh || st[0].Detail() != "" {
		t.Fatalf("right after the run: %s %q", st[0].Kind, st[0].Detail())
	}
	f := mustLoad(t, store, "tp")
	g := f.Guest("linux")
	digest, kernel := g.Facts["image_digest"], g.Facts["kernel_version"]
	g.Facts["image_digest"] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	g.Facts["kernel_version"] = "6.1.0-1-cloud-amd64"
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	st := Status(context.Background(), nb, store, sopt)
	want := "guest kernel 6.1.0-1-cloud-amd64 → " + kernel + " (linux), image linux-redis sha256:0123456789ab → " + digest[:19] + " (linux)"
	if st[0].Kind != KindStaleEnv || st[0].Detail() != want {
		t.Errorf("got  %s %q\nwant %s %q", st[0].Kind, st[0].Detail(), KindStaleEnv, want)
	}
}

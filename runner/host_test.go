package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// hostGuestNotebook runs {load} against the machine itself, its scratch
// folders made in {base}.
var hostGuestNotebook = `title = "host loads"
[guests.box]
kind = "host"
dir_base = "{base}"
[loads.l]
{load}
` + nbtest.BenchCell("tp", "l", 2, "box")

func hostGuest(base, load string) string {
	return strings.NewReplacer("{base}", base, "{load}", load).Replace(hostGuestNotebook)
}

func needTool(t *testing.T, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("%s is not installed (make setup installs it)", prog)
	}
}

// Each load that needs no server runs end to end against a host guest: its
// figures stored, its scratch folder the load's {dir}, gone after each
// repeat; no boot time, since nothing boots.
func TestHostGuestLoads(t *testing.T) {
	tests := []struct {
		name, prog, load string
		metric           string
	}{
		{
			name: "fio", prog: "fio", metric: "iops",
			load: `tool = "fio"
rw = "randwrite"
bs = "4k"
size = "2M"
runtime = "1s"
time_based = true`,
		},
		{
			name: "sysbench fileio", prog: "sysbench", metric: "events_per_sec",
			load: `tool = "sysbench"
test = "fileio"
time = "1s"
file_total_size = "4M"
file_num = 4
file_test_mode = "rndwr"`,
		},
		{
			// {dir} resolved by the runner: the host guest's folder.
			name: "command", prog: "sh", metric: "wall_ms",
			load: `tool = "command"
command = ["sh", "-c", "test -d {dir} && test \"$PWD\" = {dir} && head -c 65536 /dev/zero > {dir}/f && wc -c < {dir}/f"]
runs = 3
metrics = { bytes = { regex = "([0-9]+)", unit = "bytes" } }`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needTool(t, tt.prog)
			base := t.TempDir()
			nb, store := writeNotebook(t, t.TempDir(), hostGuest(base, tt.load))
			var out bytes.Buffer
			var dirs []string
			opt := runOpts(&out)
			opt.Trace = func(ev string) {
				if ev == "load-started" {
					entries, _ := os.ReadDir(base)
					for _, e := range entries {
						dirs = append(dirs, e.Name())
					}
				}
			}
			if _, err := Run(context.Background(), nb, store, opt); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			f := mustLoad(t, store, "tp")
			g := f.Guest("box")
			if g == nil || g.Status != results.StatusOK || len(g.Points[0].Repeats) != 2 {
				t.Fatalf("stored guest %+v", g)
			}
			for _, r := range g.Points[0].Repeats {
				if r.Metrics[tt.metric] <= 0 {
					t.Errorf("repeat %d: %s = %v", r.Index, tt.metric, r.Metrics[tt.metric])
				}
				if _, ok := r.Metrics["boot_ms"]; ok {
					t.Errorf("repeat %d: boot_ms recorded for the host", r.Index)
				}
			}
			if tt.name == "command" && g.Points[0].Repeats[0].Metrics["bytes"] != 65536 {
				t.Errorf("the command did not write into {dir}: %v", g.Points[0].Repeats[0].Metrics)
			}
			if g.Kind != "host" || g.Facts["kind"] != "host" || g.Facts["scratch_fs"] == "" || g.Facts["scratch_mount_options"] == "" {
				t.Errorf("kind %q, facts %v", g.Kind, g.Facts)
			}
			if len(dirs) != 2 || dirs[0] == dirs[1] {
				t.Errorf("scratch folders seen during the loads: %v, want a fresh one per repeat", dirs)
			}
			if left, _ := os.ReadDir(base); len(left) > 0 {
				t.Errorf("left in the scratch base: %v", left)
			}
		})
	}
}

// A host guest serves nothing: a load of a server is refused before
// anything starts, saying what to do.
func TestHostGuestRefusesServerLoad(t *testing.T) {
	nb := nbtest.Write(t, t.TempDir(), hostGuest(t.TempDir(), `tool = "builtin"
requests = 10`))
	if msg := failure(t, nb); !strings.Contains(msg, `guest box is the host itself (kind = "host"), which serves nothing for the builtin tool`) {
		t.Fatalf("failure: %s", msg)
	}
}

// failure runs nb, which must fail, and returns its stored failure.
func failure(t *testing.T, nb *notebook.Notebook) string {
	t.Helper()
	var out bytes.Buffer
	store := results.ForNotebook(nb.Path)
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed\n%s", err, out.String())
	}
	rec, err := store.LoadFailure("tp")
	if err != nil {
		t.Fatalf("no failure record: %v", err)
	}
	return rec.Failure
}

// nginx, started as a process guest from a configuration beside the
// notebook with the port filled in, ready when GET / answers, measured
// with a command load that fetches a page from it.
func TestProcessGuestNginx(t *testing.T) {
	needTool(t, "nginx")
	needTool(t, "curl")
	proctest.Adopt(t)
	dir := t.TempDir()
	conf, err := os.ReadFile(filepath.Join("guest", "testdata", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	nb := nbtest.Write(t, dir, `title = "nginx"
[guests.web]
kind = "process"
command = ["nginx", "-p", "{dir}", "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"]
files = ["nginx.conf"]
ready = "http:/health"
[loads.get]
tool = "command"
command = ["curl", "-fsS", "-o", "{dir}/page", "http://127.0.0.1:{port}/"]
runs = 5
`+nbtest.BenchCell("tp", "get", 2, "web"))
	before := proctest.Children()
	store := results.ForNotebook(nb.Path)
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	f := mustLoad(t, store, "tp")
	g := f.Guest("web")
	for _, r := range g.Points[0].Repeats {
		if r.Metrics["wall_ms"] <= 0 || r.Metrics["boot_ms"] <= 0 {
			t.Errorf("repeat %d: %v", r.Index, r.Metrics)
		}
	}
	if _, ok := g.Facts["redis_version"]; ok || g.Facts["program"] != "nginx" {
		t.Errorf("facts %v", g.Facts)
	}
	if len(g.Commands) < 2 || !strings.HasPrefix(g.Commands[0], "nginx -p '{dir}' ") || !strings.Contains(g.Commands[1], "curl") {
		t.Errorf("commands %q", g.Commands)
	}
	proctest.NoneLeft(t, before, dir)
}

// A ready key whose regular expression cannot compile fails the cell
// before anything starts.
func TestReadyBadRegex(t *testing.T) {
	nb := nbtest.Write(t, t.TempDir(), strings.Replace(hostGuest("", `tool = "builtin"`),
		`kind = "host"`+"\n"+`dir_base = ""`, `kind = "process"`+"\n"+`command = ["sleep", "10"]`+"\n"+`ready = "log:(["`, 1))
	if msg := failure(t, nb); !strings.Contains(msg, `guest box: ready = "log:([": error parsing regexp`) {
		t.Fatalf("failure: %s", msg)
	}
}

// A run cancelled anywhere in a host guest's repeat -- as its scratch
// folder is made, once it is, as the load starts -- leaves no scratch
// folder and writes nothing for the cell.
func TestHostGuestCancelled(t *testing.T) {
	needTool(t, "sh")
	for _, at := range []string{"guest-step box scratch", "guest-step-done box scratch", "guest-ready", "load-started"} {
		t.Run(at, func(t *testing.T) {
			base := t.TempDir()
			nb := nbtest.Write(t, t.TempDir(), hostGuest(base, `tool = "command"
command = ["sleep", "5"]`))
			store := results.ForNotebook(nb.Path)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opt := runOpts(&bytes.Buffer{})
			seen := false
			opt.Trace = func(ev string) {
				if ev == at {
					seen = true
					cancel()
				}
			}
			_, err := Run(ctx, nb, store, opt)
			if !seen || !errors.Is(err, context.Canceled) {
				t.Fatalf("seen %v, err = %v; want a cancelled run", seen, err)
			}
			if left, _ := os.ReadDir(base); len(left) > 0 {
				t.Errorf("left in the scratch base: %v", left)
			}
			checkUntouched(t, store, nil)
			if _, err := os.Stat(store.Path("tp")); err == nil {
				t.Error("results written for a cancelled run")
			}
		})
	}
}

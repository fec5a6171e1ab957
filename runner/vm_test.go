package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
)

var (
	initOnce sync.Once
	initPath string
	initErr  error
)

// staticInit builds the guest init as a static program: the test binary
// (linked with cgo) cannot be the guest's /init the way benchbook is.
func staticInit(t *testing.T) string {
	t.Helper()
	initOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchbook-test-init-")
		if err != nil {
			initErr = err
			return
		}
		initPath = filepath.Join(dir, "init")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-o", initPath, "./runner/image/initrd/init")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			initErr = err
			initPath = string(out)
		}
	})
	if initErr != nil {
		t.Fatalf("build the test init: %v\n%s", initErr, initPath)
	}
	return initPath
}

// vmOpts is runOpts for a notebook of builtin images, which are built
// into cache with the static init.
func vmOpts(t *testing.T, progress *bytes.Buffer, cache string) Options {
	t.Helper()
	opt := runOpts(progress)
	opt.Image = image.BuildOptions{CacheDir: cache, InitBinary: staticInit(t)}
	return opt
}

func needVM(t *testing.T) {
	t.Helper()
	needRedis(t)
	if _, err := exec.LookPath(guest.QemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make setup installs it)")
	}
	if _, err := image.NewestCloudKernel("/boot", "/lib/modules"); err != nil {
		t.Skipf("no cloud kernel for the micro-VM (make setup installs linux-image-cloud-amd64): %v", err)
	}
}

const vmNotebook = `title = "micro-VM"
[guests.linux]
kind   = "qemu"
flavor = "linux"
image  = "builtin:linux-redis"
memory = "256M"
[loads.quick]
tool     = "builtin"
clients  = 4
requests = 300
[[cells]]
kind   = "bench"
id     = "tp"
guests = ["linux"]
load   = "quick"
repeat = 2
`

// runCancelled runs nb with a context the test cancels meanwhile (from
// opt.Trace, say): Run must return within limit, interrupted.
// opt.Progress is a *bytes.Buffer (runOpts), shown when it fails.
func runCancelled(ctx context.Context, t *testing.T, nb *notebook.Notebook, store results.Store, opt Options, limit time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, nb, store, opt); done <- err }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		t.Fatal("Run did not return after cancel")
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v\n%s", err, opt.Progress)
	}
}

// bootedTwice is the stored guest name of cell tp, which must have run:
// both its repeats booted (boot_ms) and measured ops_per_sec.
func bootedTwice(t *testing.T, store results.Store, name string) *results.Guest {
	t.Helper()
	g := mustLoad(t, store, "tp").Guest(name)
	if g.Status != results.StatusOK {
		t.Fatalf("guest: %+v", g)
	}
	s := g.Points[0].Summary
	if s["boot_ms"].N != 2 || s["boot_ms"].Median <= 0 || s["ops_per_sec"].Median <= 0 {
		t.Errorf("summary: boot %+v ops %+v", s["boot_ms"], s["ops_per_sec"])
	}
	return g
}

// noDomainsLeft fails when libvirt still lists a domain of guest name of
// a cell of a notebook nb.toml. Only this test's domains: other packages'
// tests may run beside it.
func noDomainsLeft(t *testing.T, cell, name string) {
	t.Helper()
	if b, _ := exec.Command("virsh", "list", "--all", "--name").Output(); strings.Contains(string(b), strings.TrimSuffix(guest.DomainName("nb", cell, name, 0), "0")) {
		t.Errorf("domains left behind:\n%s", b)
	}
}

// CI boots the built-in micro-VM under TCG and loads it: the stored results
// carry boot_ms and accel tcg, and nothing is left behind.
func TestRunMicroVM(t *testing.T) {
	needVM(t)
	nb, store := writeNotebook(t, t.TempDir(), vmNotebook)
	var out bytes.Buffer
	cache := t.TempDir()
	opt := vmOpts(t, &out, cache)
	var steps []string
	opt.Trace = func(ev string) {
		if strings.HasPrefix(ev, "guest-step ") || strings.HasPrefix(ev, "guest-undo ") {
			steps = append(steps, ev)
		}
	}
	start := time.Now()
	if _, err := Run(context.Background(), nb, store, opt); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("two boots and loads in %v:\n%s", time.Since(start), out.String())
	// Each boot: the guest's network, qemu and the waits for it, as named
	// steps; Stop undoes what they made in reverse.
	network := []string{"guest-step linux port"}
	private := netns.Available() == nil
	if private {
		network = []string{"guest-step linux namespace", "guest-step linux bridge", "guest-step linux tap"}
	}
	want := append(network, "guest-step linux run-dir", "guest-step linux qemu", "guest-step linux ready-line", "guest-step linux ping", "guest-step linux info", "guest-step linux net-facts",
		"guest-undo linux qemu", "guest-undo linux run-dir")
	if private {
		want = append(want, "guest-undo linux tap", "guest-undo linux bridge", "guest-undo linux namespace")
	}
	if got := strings.Join(steps, "\n"); got != strings.Join(append(want, want...), "\n") {
		t.Errorf("steps of two boots:\n%s\nwant twice:\n%s", got, strings.Join(want, "\n"))
	}
	g := bootedTwice(t, store, "linux")
	for k, want := range map[string]string{"accel": "tcg", "flavor": "linux", "kind": "qemu"} {
		if g.Facts[k] != want {
			t.Errorf("fact %s = %q, want %q (facts %v)", k, g.Facts[k], want, g.Facts)
		}
	}
	if g.Facts["redis_version"] == "" || g.Facts["image_digest"] == "" || g.Facts["qemu_version"] == "" {
		t.Errorf("facts %v", g.Facts)
	}
	if !strings.Contains(g.Commands[0], "qemu-system-x86_64") {
		t.Errorf("command %q", g.Commands[0])
	}
	if os.Geteuid() == 0 && !strings.Contains(g.Facts["network"], "private network namespace") {
		t.Errorf("as root the guest should run in a private namespace: %v", g.Facts["network"])
	}
	assertNothingLeft(t, cache)
}

// assertNothingLeft checks that no qemu booted from this test's image cache
// (its path is on qemu's command line) and no namespace of this process
// remains.
func assertNothingLeft(t *testing.T, cache string) {
	t.Helper()
	for _, ns := range netns.Leftovers() {
		if strings.HasPrefix(ns, netns.Prefix+strconv.Itoa(os.Getpid())+"-") {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	if out, err := exec.Command("pgrep", "-a", "-f", cache).Output(); err == nil && len(out) > 0 {
		t.Errorf("processes left behind:\n%s", out)
	}
}

// Cancelling (what SIGINT and SIGTERM do) during the boot and during the
// load stops qemu and removes the namespace, and writes no results.
func TestCancelVM(t *testing.T) {
	needVM(t)
	for _, when := range []string{"boot", "load"} {
		t.Run(when, func(t *testing.T) {
			src := strings.Replace(vmNotebook, "requests = 300", `test_time = "60s"`, 1)
			nb, store := writeNotebook(t, t.TempDir(), src)
			cache := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out bytes.Buffer
			opt := vmOpts(t, &out, cache)
			// Build the image first, so "boot" means qemu is booting.
			if _, err := image.Build(ctx, opt.Image); err != nil {
				t.Fatal(err)
			}
			opt.Trace = func(ev string) {
				if (when == "boot" && ev == "guest-starting") || (when == "load" && ev == "load-started") {
					time.AfterFunc(300*time.Millisecond, cancel)
				}
			}
			runCancelled(ctx, t, nb, store, opt, 3*time.Minute)
			if _, err := store.Load("tp"); err == nil {
				t.Error("an interrupted run stored results")
			}
			assertNothingLeft(t, cache)
		})
	}
}

// The same micro-VM through libvirt: the runner boots it as a transient
// domain, loads it, and leaves no benchbook domain behind.
func TestRunLibvirt(t *testing.T) {
	needVM(t)
	libvirttest.Need(t)
	src := strings.Replace(vmNotebook, `kind   = "qemu"`, `kind   = "libvirt"
network = "user"`, 1)
	src = strings.Replace(src, "repeat = 2", "repeat = 1", 1)
	nb, store := writeNotebook(t, t.TempDir(), src)
	var out bytes.Buffer
	cache := t.TempDir()
	opt := vmOpts(t, &out, cache)
	if _, err := Run(context.Background(), nb, store, opt); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	f := mustLoad(t, store, "tp")
	g := f.Guest("linux")
	if g.Status != results.StatusOK || g.Facts["uri"] != guest.DefaultLibvirtURI || !strings.Contains(g.Facts["domain_xml"], "<domain") || g.Facts["libvirt_version"] == "" {
		t.Fatalf("guest %+v", g)
	}
	noDomainsLeft(t, "tp", "linux")
	assertNothingLeft(t, cache)
}

// TestMain removes the static init staticInit built, which outlives any
// one test: without it every run of this package left a folder in /tmp.
func TestMain(m *testing.M) {
	code := m.Run()
	if initPath != "" && initErr == nil {
		os.RemoveAll(filepath.Dir(initPath))
	}
	os.Exit(code)
}

package guest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/runner/guest"
)

// needMode skips a mode this machine cannot run, saying what is missing.
func needMode(t *testing.T, mode string) {
	t.Helper()
	m, _ := guest.NetModeOf(mode)
	if m.Private {
		if err := netns.Available(); err != nil {
			t.Skipf("network %s needs a private namespace: %v", mode, err)
		}
	}
	if mode == "passt" {
		if _, err := exec.LookPath(guest.PasstBinary); err != nil {
			t.Skip("passt is not installed (make setup installs it)")
		}
	}
}

// newMode is the micro-VM on a network mode, not started.
func newMode(t *testing.T, mode string, trace func(guest.StepEvent)) *guest.Qemu {
	t.Helper()
	im := microVM(t)
	nw, _ := guest.PlanQemuNetwork(mode)
	q, err := guest.NewQemu(guest.QemuConfig{
		Name: "linux", Boot: linuxBoot(t, im), Accel: "tcg", Net: nw, RunDir: t.TempDir(),
		ConsolePath: filepath.Join(t.TempDir(), "console.log"), ReadyTimeout: 3 * time.Minute, Trace: trace,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	return q
}

// Every network mode boots the micro-VM under TCG and carries a load, and
// the result's facts say what the path was. Stop leaves nothing behind.
func TestQemuNetModes(t *testing.T) {
	for _, mode := range guest.NetModeNames() {
		t.Run(mode, func(t *testing.T) {
			needMode(t, mode)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			before := netLeftovers(t)
			q := newMode(t, mode, nil)
			ep, err := q.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pid := q.PID()
			ops := quickLoad(t, ep)
			f := q.Facts()
			t.Logf("%s: boot %.0f ms, %.0f ops/s\n  path %s\n  netdev %s\n  device %s\n  vhost %s\n  mtu %s\n  offloads %s",
				mode, q.BootMs(), ops, f[guest.FactNetPath], f[guest.FactNetNetdev], f[guest.FactNetDevice], f[guest.FactNetVhost], f[guest.FactNetMTU], f[guest.FactNetOffloads])
			if f[guest.FactNetMode] != mode || f[guest.FactNetPath] != guest.NetPath(mode, false) && mode != "vhost" {
				t.Errorf("facts %v", f)
			}
			if !strings.Contains(f[guest.FactNetOffloads], "negotiated by the guest") || !strings.Contains(f[guest.FactNetMTU], "guest ") {
				t.Errorf("the guest's NIC line was not read: mtu %q offloads %q", f[guest.FactNetMTU], f[guest.FactNetOffloads])
			}
			if cmd := strings.Join(q.Command(), " "); !strings.Contains(cmd, f[guest.FactNetNetdev]) || !strings.Contains(cmd, f[guest.FactNetDevice]) {
				t.Errorf("netdev %q / device %q not on the command line %s", f[guest.FactNetNetdev], f[guest.FactNetDevice], cmd)
			}
			if mode == "vhost" && !strings.HasPrefix(f[guest.FactNetVhost], "on") && !strings.Contains(f[guest.FactNetVhost], "off: ") {
				t.Errorf("vhost fact %q says neither on nor why not", f[guest.FactNetVhost])
			}
			if err := q.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			assertGone(t, before, pid, mode == "passt")
		})
	}
}

// A boot cancelled in each mode, at each step of its start, leaves no
// tap, bridge, macvtap, passt or qemu behind.
func TestQemuNetModesCancel(t *testing.T) {
	for _, mode := range guest.NetModeNames() {
		t.Run(mode, func(t *testing.T) {
			needMode(t, mode)
			before := netLeftovers(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var q *guest.Qemu
			pid := make(chan int, 1)
			trace := func(e guest.StepEvent) {
				// Cancel once qemu runs: every network step has made its
				// devices by then.
				if e.Step == "qemu" && e.Done && !e.Undo && e.Err == nil {
					pid <- q.PID()
					time.AfterFunc(200*time.Millisecond, cancel)
				}
			}
			q = newMode(t, mode, trace)
			_, err := q.Start(ctx)
			if err == nil {
				t.Fatal("a cancelled start succeeded")
			}
			if !strings.Contains(err.Error(), "context canceled") {
				t.Errorf("err = %v", err)
			}
			var qemuPid int
			select {
			case qemuPid = <-pid:
			default:
				t.Fatal("qemu never started")
			}
			if qemuPid <= 0 {
				t.Fatal("no qemu pid")
			}
			assertGone(t, before, qemuPid, mode == "passt")
		})
	}
}

// netLeftovers are this process's namespaces and passt processes.
func netLeftovers(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	entries, _ := os.ReadDir(netns.Dir)
	mine := netns.Prefix + strconv.Itoa(os.Getpid()) + "-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), mine) {
			out["netns "+e.Name()] = true
		}
	}
	for _, pid := range childrenNamed(guest.PasstBinary) {
		out["passt "+pid] = true
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "benchbook-passt-*"))
	for _, d := range dirs {
		out["dir "+d] = true
	}
	return out
}

// childrenNamed are the pids of processes with that name whose parent is
// this test.
func childrenNamed(name string) []string {
	out, _ := exec.Command("pgrep", "-x", "-P", strconv.Itoa(os.Getpid()), name).Output()
	return strings.Fields(string(out))
}

// assertGone checks that nothing made since before is left: no namespace
// (with its bridge, tap, veth or macvtap), no passt, no qemu pid.
func assertGone(t *testing.T, before map[string]bool, qemuPid int, passt bool) {
	t.Helper()
	for k := range netLeftovers(t) {
		if !before[k] {
			t.Errorf("left behind: %s", k)
		}
	}
	if qemuPid > 0 {
		if _, err := os.Stat("/proc/" + strconv.Itoa(qemuPid)); err == nil {
			if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(qemuPid) + "/comm"); strings.HasPrefix(string(comm), "qemu") {
				t.Errorf("qemu pid %d still runs", qemuPid)
			}
		}
	}
	// The devices by name, on the host too: none of them may have leaked
	// out of a namespace.
	out, _ := exec.Command("ip", "-o", "link").Output()
	for _, dev := range []string{"tap0", "br0", "macvtap0", "veth0", "veth1"} {
		if strings.Contains(string(out), " "+dev+":") || strings.Contains(string(out), " "+dev+"@") {
			t.Errorf("device %s on the host", dev)
		}
	}
}

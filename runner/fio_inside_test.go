package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/guestexec"
	"github.com/benchbook/benchbook/runner/image"
	"github.com/benchbook/benchbook/runner/image/guestinit"
	"github.com/benchbook/benchbook/runner/load"
)

// bootExecVM boots the builtin:linux image with fio and mkfs.ext4 under
// TCG, with the exec port and the given scratch disks, and returns it
// started; its Stop is the test's cleanup.
func bootExecVM(t *testing.T, im *image.Image, scratch []guest.Scratch) (*guest.Qemu, guest.Endpoint) {
	t.Helper()
	boot, err := guest.PlanBoot(guest.VMSpec{Name: "vm", Kernel: im.Kernel, Initrd: im.Initrd, Memory: "1G", Scratch: scratch, Exec: true})
	if err != nil {
		t.Fatal(err)
	}
	nw, _ := guest.PlanQemuNetwork("user")
	q, err := guest.NewQemu(guest.QemuConfig{
		Name: "vm", Boot: boot, Accel: "tcg", Net: nw, ReadyTimeout: 3 * time.Minute,
		ConsolePath: t.TempDir() + "/console.log",
		Ready:       guest.Ready{Check: guest.ReadyLog, Line: regexp.MustCompile(regexp.QuoteMeta(guestinit.Marker) + ".*" + regexp.QuoteMeta(guestinit.ReadyMarker))},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	ep, err := q.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ep.Exec == nil {
		t.Fatal("no exec port on a VM booted with Exec")
	}
	return q, ep
}

func execImage(t *testing.T) *image.Image {
	t.Helper()
	needScratchVM(t)
	if _, err := os.Stat("/usr/bin/fio"); err != nil {
		t.Skip("fio not installed (apt-get install fio)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	im, err := image.Build(ctx, image.BuildOptions{CacheDir: t.TempDir(), InitBinary: staticInit(t), Programs: []string{"fio", "mkfs.ext4"}})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestFioInsideByHand runs one fio job inside the micro-VM, on its ext4
// scratch disk, alternately through benchbook's fio load (at = "guest")
// and by hand (the same argv sent raw over the exec port, its JSON read
// here): benchbook adds nothing to what fio measures. Under TCG the
// rounds are noisy: with BENCHBOOK_FIO_FIGURES=N it runs N rounds, logs
// the ratio and asserts a wide band around 1.
func TestFioInsideByHand(t *testing.T) {
	im := execImage(t)
	// The scratch file in memory (/dev/shm, cache unsafe): this machine's
	// disk is shared and swings by 2× from run to run, which would hide
	// what is compared here; the guest's ext4 and block layer are the same.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "benchbook-test-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(shm) })
		t.Setenv("TMPDIR", shm)
	}
	_, ep := bootExecVM(t, im, []guest.Scratch{{Size: "2G", FS: "ext4", Mount: "/data", Cache: "unsafe", AIO: "threads"}})
	values := notebook.Values{"tool": "fio", "rw": "randwrite", "bs": "4k", "size": "16M", "ioengine": "psync", "iodepth": int64(1), "direct": true, "directory": "/data", "runtime": "3s", "time_based": true}
	ctx := context.Background()
	var via, byHand []float64
	var argv []string
	viaBenchbook := func(round int) float64 {
		m, err := load.Run(ctx, load.Target{Guest: ep.Exec}, values)
		if err != nil {
			t.Fatalf("round %d through benchbook: %v", round, err)
		}
		argv = m.Command
		return m.Metrics["write_iops"]
	}
	viaHand := func(round int) float64 {
		rep, err := ep.Exec.Exec(ctx, guestexec.Request{Argv: argv, Dir: "/data", StdoutLimit: 4 << 20, StderrTail: 4096, Timeout: time.Minute})
		if err != nil || !rep.Success() {
			t.Fatalf("round %d by hand: %v %+v %s", round, err, rep.ExitText(), rep.Stderr)
		}
		var out struct {
			Jobs []struct {
				Write struct {
					IOPS float64 `json:"iops"`
				} `json:"write"`
			} `json:"jobs"`
		}
		js := rep.Stdout[max(0, strings.Index(string(rep.Stdout), "{")):]
		if err := json.Unmarshal(js, &out); err != nil || len(out.Jobs) == 0 {
			t.Fatalf("round %d by hand: %v", round, err)
		}
		return out.Jobs[0].Write.IOPS
	}
	// A first, unmeasured run lays out fio's file on the fresh disk.
	viaBenchbook(-1)
	// ABBA: neither way always runs first. The ratio is a figure for the
	// closing note, measured on a quiet machine: BENCHBOOK_FIO_FIGURES=10
	// asks for 10 rounds and judges the ratio. Without it (CI, where the
	// other packages' tests run beside it and swing rounds by 3x) one
	// round each shows both ways run the same job and measure it.
	rounds, figures := 1, false
	if n, err := strconv.Atoi(os.Getenv("BENCHBOOK_FIO_FIGURES")); err == nil && n > 0 {
		rounds, figures = n, true
	}
	for round := range rounds {
		if round%2 == 0 {
			via = append(via, viaBenchbook(round))
			byHand = append(byHand, viaHand(round))
		} else {
			byHand = append(byHand, viaHand(round))
			via = append(via, viaBenchbook(round))
		}
	}
	// Rounds drift (the host's disk is shared): the median of each
	// round's ratio cancels what a round's two runs share.
	var ratios []float64
	for i := range via {
		ratios = append(ratios, via[i]/byHand[i])
	}
	ratio := median(ratios)
	t.Logf("fio %s inside the guest (accel tcg, ext4 scratch in host memory, %d alternating rounds): benchbook median %.0f IOPS %v, by hand median %.0f IOPS %v: median of the rounds' ratios %.3f",
		strings.Join(argv[1:], " "), rounds, median(via), rounded(via), median(byHand), rounded(byHand), ratio)
	for i := range via {
		if via[i] <= 0 || byHand[i] <= 0 {
			t.Errorf("round %d: %.0f IOPS through benchbook, %.0f by hand", i, via[i], byHand[i])
		}
	}
	if figures && (ratio < 0.8 || ratio > 1.25) {
		t.Errorf("benchbook's fio inside the guest %.3f× of fio by hand", ratio)
	}
}

// TestScratchBootCost boots the same image with and without a 2 GiB ext4
// scratch disk, alternately, and logs what the disk and its mkfs add to
// boot_ms.
func TestScratchBootCost(t *testing.T) {
	im := execImage(t)
	var bare, disk []float64
	for range 3 {
		q, _ := bootExecVM(t, im, nil)
		bare = append(bare, q.BootMs())
		q.Stop(context.Background())
		q, _ = bootExecVM(t, im, []guest.Scratch{{Size: "2G", FS: "ext4", Mount: "/data", Cache: "none", AIO: "threads"}})
		disk = append(disk, q.BootMs())
		if f := q.Facts()["scratch_fs"]; f != "ext4" {
			t.Errorf("scratch_fs %q", f)
		}
		q.Stop(context.Background())
	}
	delta := median(disk) - median(bare)
	t.Logf("boot_ms (accel tcg, 3 alternating boots): without scratch %v median %.0f, with a 2 GiB ext4 scratch disk %v median %.0f: +%.0f ms", rounded(bare), median(bare), rounded(disk), median(disk), delta)
	if median(disk) <= 0 || median(bare) <= 0 {
		t.Errorf("no boot times")
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 0:
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func rounded(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

const insideNotebook = `title = "redis-benchmark inside the guest"
[guests.vm]
kind     = "qemu"
image    = "builtin:linux"
programs = ["redis-server", "redis-benchmark"]
ready_timeout = "5m"
[guests.loop]
kind     = "qemu"
image    = "builtin:linux"
programs = ["redis-server", "redis-benchmark"]
network  = "loopback"
ready_timeout = "5m"
[loads.net]
tool     = "redis-benchmark"
clients  = 10
requests = 2000
[loads.inside]
tool     = "redis-benchmark"
clients  = 10
requests = 2000
at       = "guest"
[[cells]]
kind   = "bench"
id     = "net"
guests = ["vm"]
load   = "net"
repeat = 1
[[cells]]
kind   = "bench"
id     = "inside"
guests = ["vm"]
load   = "inside"
repeat = 1
[[cells]]
kind   = "bench"
id     = "loop"
guests = ["loop"]
load   = "net"
repeat = 1
`

// redis-benchmark by default loads a builtin:linux guest's redis from this
// machine, through the network path; with at = "guest" it runs inside the
// guest against the same redis over loopback: the baseline without the
// network. network = "loopback" makes that the guest's only path.
func TestRedisBenchmarkInside(t *testing.T) {
	needVM(t)
	if _, err := exec.LookPath("redis-benchmark"); err != nil {
		t.Skip("redis-benchmark not installed (apt-get install redis-tools)")
	}
	store := runVM(t, insideNotebook, staticInit(t), 10*time.Minute, nil)
	for _, tt := range []struct {
		cell, guest, at, host string
	}{{"net", "vm", "", ""}, {"inside", "vm", "guest", "-h 127.0.0.1 -p 6379 "}, {"loop", "loop", "guest", "-h 127.0.0.1 -p 6379 "}} {
		f := mustLoad(t, store, tt.cell)
		g := f.Guest(tt.guest)
		ops := g.Points[0].Repeats[0].Metrics["ops_per_sec"]
		cmd := g.Commands[len(g.Commands)-1]
		if ops <= 0 || g.Facts["load_at"] != tt.at || !strings.Contains(cmd, tt.host) {
			t.Errorf("%s: %.0f ops/s, load_at %q, command %q", tt.cell, ops, g.Facts["load_at"], cmd)
		}
		t.Logf("%s: %.0f ops/s (%s)", tt.cell, ops, cmd)
	}
}

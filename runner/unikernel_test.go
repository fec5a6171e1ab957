package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
)

// The unikernel images are built outside this repository (docs/guests/osv.md
// and rumprun.md say how, in about 20 minutes each); these tests boot them
// when their paths are given and skip, naming the variable, when not.
//
//	BENCHBOOK_OSV_DISK=…/usr.img [BENCHBOOK_OSV_KERNEL=…/loader-stripped.elf]
//	BENCHBOOK_RUMPRUN_KERNEL=…/redis-server.bin BENCHBOOK_RUMPRUN_DISK=…/data.iso
func TestRunUnikernels(t *testing.T) {
	needRedis(t)
	if _, err := exec.LookPath(guest.QemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make setup installs it)")
	}
	osvDisk, osvKernel := os.Getenv("BENCHBOOK_OSV_DISK"), os.Getenv("BENCHBOOK_OSV_KERNEL")
	rrKernel, rrDisk := os.Getenv("BENCHBOOK_RUMPRUN_KERNEL"), os.Getenv("BENCHBOOK_RUMPRUN_DISK")
	type image struct {
		name, need, guest string
	}
	var cases []image
	for _, tc := range []image{
		{"osv-disk", "BENCHBOOK_OSV_DISK", fmt.Sprintf("flavor = \"osv\"\ndisk = %q\nmemory = \"1G\"", osvDisk)},
		{"osv-direct", "BENCHBOOK_OSV_DISK and BENCHBOOK_OSV_KERNEL", fmt.Sprintf("flavor = \"osv\"\ndisk = %q\nkernel = %q\ncmdline = \"--rootfs=rofs /redis-server redis.conf\"\nmemory = \"1G\"", osvDisk, osvKernel)},
		{"rumprun", "BENCHBOOK_RUMPRUN_KERNEL and BENCHBOOK_RUMPRUN_DISK", fmt.Sprintf("flavor = \"rumprun\"\nkernel = %q\ncmdline = [\"redis-server\", \"/data/conf/redis.conf\"]\ndisks = [%q]\nmemory = \"256M\"", rrKernel, rrDisk)},
	} {
		// Each image through both launchers: qemu directly, and libvirt.
		for _, launcher := range []string{"qemu", "libvirt"} {
			cases = append(cases, image{tc.name + "/" + launcher, tc.need, "kind = \"" + launcher + "\"\n" + tc.guest})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.guest, `""`) {
				t.Skipf("%s not set: build the image (docs/guests/) and point the variables at it", tc.need)
			}
			if strings.HasSuffix(tc.name, "/libvirt") {
				libvirttest.Need(t)
			}
			src := "title = \"unikernel\"\n[guests.uk]\nready_timeout = \"5m\"\n" + tc.guest + `
[loads.quick]
tool     = "builtin"
clients  = 4
requests = 500
[[cells]]
kind   = "bench"
id     = "tp"
guests = ["uk"]
load   = "quick"
repeat = 2
`
			nb, store := writeNotebook(t, t.TempDir(), src)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := Run(ctx, nb, store, runOpts(&out)); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			g := bootedTwice(t, store, "uk")
			s := g.Points[0].Summary
			t.Logf("%s: boot %.0f ms, %.0f ops/s, accel %s, network %s", tc.name, s["boot_ms"].Median, s["ops_per_sec"].Median, g.Facts["accel"], g.Facts["network"])
			noDomainsLeft(t, "tp", "uk")
			// The image path is on qemu's command line: no qemu may keep it.
			for _, p := range []string{osvDisk, rrKernel} {
				if p == "" {
					continue
				}
				if left, err := exec.Command("pgrep", "-a", "-f", p).Output(); err == nil && len(left) > 0 {
					t.Errorf("processes left behind:\n%s", left)
				}
			}
		})
	}
}

// TestUnikernelCellsInARow runs the seed experiment's cell -- the host, OSv
// from its disk and rumprun, each loaded by the builtin generator for 10 s,
// twice -- ten times in a row, and fails if one cell loses a repeat. Under
// TCG with a single CPU, qemu 7.2 dropped the guest's memory barriers, and
// OSv's virtio-net receive thread then missed a notification and slept with
// packets in its ring: the guest answered PING at ready and then nothing,
// mid-load (docs/guests/osv.md, "When OSv stops receiving"). It needs the
// three images and about 20 minutes:
//
//	BENCHBOOK_OSV_DISK=… BENCHBOOK_RUMPRUN_KERNEL=… BENCHBOOK_RUMPRUN_DISK=… \
//	  go test ./runner -run TestUnikernelCellsInARow -timeout 45m -v
//
// BENCHBOOK_UNIKERNEL_CELLS changes the number of cells. Every cell runs,
// whatever the one before it did, so a failure says how many of the cells
// lost a repeat.
func TestUnikernelCellsInARow(t *testing.T) {
	needRedis(t)
	if _, err := exec.LookPath(guest.QemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make setup installs it)")
	}
	env := map[string]string{}
	var missing []string
	for _, v := range []string{"BENCHBOOK_OSV_DISK", "BENCHBOOK_RUMPRUN_KERNEL", "BENCHBOOK_RUMPRUN_DISK"} {
		if env[v] = os.Getenv(v); env[v] == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		t.Skipf("%s not set: build the images (docs/guests/osv.md, rumprun.md) and point the variables at them", strings.Join(missing, ", "))
	}
	cells := 10
	if s := os.Getenv("BENCHBOOK_UNIKERNEL_CELLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BENCHBOOK_UNIKERNEL_CELLS=%q: want a positive count", s)
		}
		cells = n
	}
	// About 100 s a cell on a quiet 2-core machine under TCG.
	if d, ok := t.Deadline(); ok && time.Until(d) < time.Duration(cells)*3*time.Minute {
		t.Skipf("%d cells need about %d minutes: run with -timeout %dm", cells, cells*2, cells*4+5)
	}
	nb, store := writeNotebook(t, t.TempDir(), seedCell(env["BENCHBOOK_OSV_DISK"], env["BENCHBOOK_RUMPRUN_KERNEL"], env["BENCHBOOK_RUMPRUN_DISK"]))
	lost := 0
	for i := range cells {
		start := time.Now()
		if problem := runSeedCell(nb, store); problem != "" {
			lost++
			t.Errorf("cell %d of %d: %s", i+1, cells, problem)
			continue
		}
		f, _ := store.Load("tp")
		t.Logf("cell %d of %d in %s: osv %.0f ops/s, rumprun %.0f ops/s", i+1, cells, time.Since(start).Round(time.Second),
			f.Guest("osv").Points[0].Summary["ops_per_sec"].Median, f.Guest("rumprun").Points[0].Summary["ops_per_sec"].Median)
	}
	if lost > 0 {
		t.Errorf("%d of %d cells lost a repeat", lost, cells)
	}
}

// seedCell is the seed experiment's notebook (issue 12, item 9): the host,
// OSv from its disk and rumprun, the builtin load for 10 s, twice.
func seedCell(osvDisk, rrKernel, rrDisk string) string {
	return fmt.Sprintf(`title = "unikernels in a row"
[guests.host]
kind    = "process"
command = ["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
[guests.osv]
kind          = "qemu"
flavor        = "osv"
disk          = %q
memory        = "1G"
ready_timeout = "5m"
[guests.rumprun]
kind          = "qemu"
flavor        = "rumprun"
kernel        = %q
cmdline       = ["redis-server", "/data/conf/redis.conf"]
disks         = [%q]
memory        = "256M"
ready_timeout = "5m"
[loads.seed]
tool        = "builtin"
threads     = 1
clients     = 10
test_time   = "10s"
ratio       = "1:10"
data_size   = 32
key_maximum = 10000
[[cells]]
kind   = "bench"
id     = "tp"
guests = ["host", "osv", "rumprun"]
load   = "seed"
repeat = 2
`, osvDisk, rrKernel, rrDisk)
}

// runSeedCell runs the cell once, forced, and says what it lost: "" when
// every guest measured both repeats with no failed try.
func runSeedCell(nb *notebook.Notebook, store results.Store) string {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts := runOpts(&out)
	opts.Force = true
	if _, err := Run(ctx, nb, store, opts); err != nil {
		return fmt.Sprintf("%v\n%s", err, out.String())
	}
	f, err := store.Load("tp")
	if err != nil {
		return err.Error()
	}
	if f.Incomplete != "" {
		return "incomplete: " + f.Incomplete + "\n" + out.String()
	}
	for _, name := range []string{"host", "osv", "rumprun"} {
		g := f.Guest(name)
		if g == nil {
			return "no figures for guest " + name
		}
		if g.Status != results.StatusOK || len(g.Points) != 1 || len(g.Points[0].Repeats) != 2 || len(g.Failures) > 0 {
			return fmt.Sprintf("guest %s: status %s, %d failed tries (%s)\n%s", name, g.Status, len(g.Failures), g.Reason, out.String())
		}
	}
	return ""
}

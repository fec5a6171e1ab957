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
			nb := writeNotebook(t, t.TempDir(), src)
			store := results.ForNotebook(nb.Path)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if _, err := Run(ctx, nb, store, runOpts(&out)); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			f, err := store.Load("tp")
			if err != nil {
				t.Fatal(err)
			}
			g := f.Guest("uk")
			if g.Status != results.StatusOK {
				t.Fatalf("guest: %+v", g)
			}
			s := g.Points[0].Summary
			if s["boot_ms"].N != 2 || s["boot_ms"].Median <= 0 || s["ops_per_sec"].Median <= 0 {
				t.Errorf("summary: boot %+v ops %+v", s["boot_ms"], s["ops_per_sec"])
			}
			t.Logf("%s: boot %.0f ms, %.0f ops/s, accel %s, network %s", tc.name, s["boot_ms"].Median, s["ops_per_sec"].Median, g.Facts["accel"], g.Facts["network"])
			if b, _ := exec.Command("virsh", "list", "--all", "--name").Output(); strings.Contains(string(b), strings.TrimSuffix(guest.DomainName("nb", "tp", "uk", 0), "0")) {
				t.Errorf("domains left behind:\n%s", b)
			}
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
// TCG with a single CPU, qemu used to drop the guest's memory barriers, and
// OSv's virtio-net receive thread then missed a notification and slept with
// packets in its ring: in 3 of 5 such cells one OSv repeat stopped answering
// mid-load. It needs all three images and about 20 minutes:
//
//	BENCHBOOK_OSV_DISK=… BENCHBOOK_RUMPRUN_KERNEL=… BENCHBOOK_RUMPRUN_DISK=… \
//	  go test ./runner -run TestUnikernelCellsInARow -timeout 45m -v
//
// BENCHBOOK_UNIKERNEL_CELLS changes the number of cells.
func TestUnikernelCellsInARow(t *testing.T) {
	needRedis(t)
	if _, err := exec.LookPath(guest.QemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make setup installs it)")
	}
	osvDisk := os.Getenv("BENCHBOOK_OSV_DISK")
	rrKernel, rrDisk := os.Getenv("BENCHBOOK_RUMPRUN_KERNEL"), os.Getenv("BENCHBOOK_RUMPRUN_DISK")
	if osvDisk == "" || rrKernel == "" || rrDisk == "" {
		t.Skip("BENCHBOOK_OSV_DISK, BENCHBOOK_RUMPRUN_KERNEL and BENCHBOOK_RUMPRUN_DISK not all set: build the images (docs/guests/) and point the variables at them")
	}
	cells := 10
	if s := os.Getenv("BENCHBOOK_UNIKERNEL_CELLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("BENCHBOOK_UNIKERNEL_CELLS=%q: want a positive count", s)
		}
		cells = n
	}
	// About 100 s a cell on a 2-core machine under TCG.
	if d, ok := t.Deadline(); ok && time.Until(d) < time.Duration(cells)*3*time.Minute {
		t.Skipf("%d cells need about %d minutes: run with -timeout %dm", cells, cells*2, cells*4+5)
	}
	src := fmt.Sprintf(`title = "unikernels in a row"
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
	nb := writeNotebook(t, t.TempDir(), src)
	store := results.ForNotebook(nb.Path)
	for i := range cells {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		opts := runOpts(&out)
		opts.Force = true
		_, err := Run(ctx, nb, store, opts)
		cancel()
		if err != nil {
			t.Fatalf("cell %d of %d: %v\n%s", i+1, cells, err, out.String())
		}
		f, err := store.Load("tp")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"host", "osv", "rumprun"} {
			g := f.Guest(name)
			if g.Status != results.StatusOK || len(g.Points[0].Repeats) != 2 {
				t.Fatalf("cell %d of %d: guest %s: status %s, %d repeats (%s)\n%s", i+1, cells, name, g.Status, len(g.Points[0].Repeats), g.Reason, out.String())
			}
		}
		t.Logf("cell %d of %d: osv %.0f ops/s, rumprun %.0f ops/s", i+1, cells,
			f.Guest("osv").Points[0].Summary["ops_per_sec"].Median, f.Guest("rumprun").Points[0].Summary["ops_per_sec"].Median)
	}
}

package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/image"
)

const scratchNotebook = `title = "scratch disks"
[guests.ext4]
kind     = "qemu"
ready_timeout = "5m"
image    = "builtin:linux"
programs = ["fio", "mkfs.ext4", "mkfs.xfs"]
[[guests.ext4.scratch]]
size      = "2G"
fs        = "ext4"
mount     = "/data"
mkfs      = ["-m", "0"]
cache     = "none"
aio       = "threads"
scheduler = "mq-deadline"
[guests.xfs]
kind     = "qemu"
ready_timeout = "5m"
image    = "builtin:linux"
programs = ["fio", "mkfs.ext4", "mkfs.xfs"]
[[guests.xfs.scratch]]
size          = "2G"
fs            = "xfs"
mount_options = ["noatime"]
cache         = "writeback"
scheduler     = "bfq"
# Inside the guest (the default for fio on a builtin:linux VM), on the
# scratch disk its init formatted and mounted.
[loads.fio]
tool      = "fio"
rw        = "randwrite"
bs        = "4k"
size      = "8M"
ioengine  = "libaio"
iodepth   = 8
direct    = true
directory = "/data"
runtime   = "3s"
time_based = true
[[cells]]
kind   = "bench"
id     = "disks"
guests = ["ext4", "xfs"]
load   = "fio"
repeat = 1
`

func needScratchVM(t *testing.T) {
	t.Helper()
	needVM(t)
	for _, p := range []string{"mkfs.ext4", "mkfs.xfs"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (apt-get install e2fsprogs xfsprogs)", p)
		}
	}
}

// scratchLeft lists the qemu run folders and scratch files left in tmp.
func scratchLeft(tmp string) []string {
	left, _ := filepath.Glob(filepath.Join(tmp, "bb-qemu-*"))
	more, _ := filepath.Glob(filepath.Join(tmp, "*", "scratch*.raw"))
	return append(left, more...)
}

// TestScratchDisks boots the micro-VM twice under TCG, with a 2 GiB ext4
// and a 2 GiB xfs scratch disk formatted and mounted by its init, and runs
// fio inside it on the disk; the stored facts name the file system, mkfs,
// scheduler and cache mode, and no scratch file is left.
func TestScratchDisks(t *testing.T) {
	needScratchVM(t)
	initBin := staticInit(t) // before TMPDIR moves: the init is shared by the package's tests
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	store := runVM(t, scratchNotebook, initBin, 12*time.Minute, nil)
	f := mustLoad(t, store, "disks")
	want := map[string]map[string]string{
		"ext4": {"scratch_fs": "ext4", "scratch_cache": "none", "scratch_aio": "threads", "scratch_scheduler": "mq-deadline", "scratch_size_bytes": "2147483648", "scratch_mkfs_options": "-m 0", "accel": "tcg"},
		"xfs":  {"scratch_fs": "xfs", "scratch_cache": "writeback", "scratch_scheduler": "bfq", "scratch_size_bytes": "2147483648"},
	}
	for _, g := range f.Guests {
		for k, v := range want[g.Name] {
			if g.Facts[k] != v {
				t.Errorf("%s: fact %s = %q, want %q", g.Name, k, g.Facts[k], v)
			}
		}
		if !strings.Contains(g.Facts["scratch_mkfs"], "mk") || !strings.Contains(g.Facts["scratch_mount_options"], "rw") {
			t.Errorf("%s: mkfs %q, mount options %q", g.Name, g.Facts["scratch_mkfs"], g.Facts["scratch_mount_options"])
		}
		t.Logf("%s: mkfs %s ms (%s), mount options %s", g.Name, g.Facts["scratch_mkfs_ms"], g.Facts["scratch_mkfs"], g.Facts["scratch_mount_options"])
		if g.Facts["load_at"] != "guest" {
			t.Errorf("%s: load_at %q, want guest", g.Name, g.Facts["load_at"])
		}
		// Placed on a CPU of its own, the VM still runs its load on its
		// vCPU, and the facts say so rather than naming the idle load CPU.
		if strings.HasPrefix(g.Facts["placement"], "on CPU") && g.Facts["load_placement"] != "inside the guest, on its vCPUs" {
			t.Errorf("%s: placement %q, load_placement %q", g.Name, g.Facts["placement"], g.Facts["load_placement"])
		}
		r := g.Points[0].Repeats[0]
		if r.Metrics["write_iops"] <= 0 || r.Metrics["write_clat_p99"] <= 0 {
			t.Errorf("%s: fio in the guest measured %v", g.Name, r.Metrics)
		}
		// fio ran in the guest: the argv names the guest's fio and disk,
		// and this machine has no /data of the guest's.
		if cmd := g.Commands[len(g.Commands)-1]; !strings.HasPrefix(cmd, "fio ") || !strings.Contains(cmd, "--directory=/data") {
			t.Errorf("%s: load command %q", g.Name, cmd)
		}
		t.Logf("%s: fio inside: %.0f write IOPS, p99 %.0f µs", g.Name, r.Metrics["write_iops"], r.Metrics["write_clat_p99"])
		// Its histogram logs came back over the exec port: a timeline. On
		// a busy host a TCG guest can complete nothing in some second (a
		// CI run saw 16 IOPS in all), so only some second must show writes.
		positive := func(v float64) bool { return v > 0 }
		if s := r.Timeline.Series("write_iops"); !slices.ContainsFunc(s, positive) || len(r.Timeline.Series("write_clat_p99")) != len(s) {
			t.Errorf("%s: timeline %+v", g.Name, r.Timeline)
		} else {
			t.Logf("%s: timeline write IOPS %.0f, p99 %.0f µs", g.Name, s, r.Timeline.Series("write_clat_p99"))
		}
	}
	if !strings.Contains(f.Guests[1].Facts["scratch_mount_options"], "noatime") {
		t.Errorf("xfs mount options %q lack noatime", f.Guests[1].Facts["scratch_mount_options"])
	}
	if left := scratchLeft(tmp); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestCancelScratchBoot cancels a run once the scratch file exists and
// qemu is booting: no scratch file, run folder or qemu is left.
func TestCancelScratchBoot(t *testing.T) {
	needScratchVM(t)
	initBin := staticInit(t) // before TMPDIR moves: the init is shared by the package's tests
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	nb, store := writeNotebook(t, t.TempDir(), scratchNotebook)
	cache := t.TempDir()
	var out bytes.Buffer
	opt := runOpts(&out)
	opt.Image = image.BuildOptions{CacheDir: cache, InitBinary: initBin}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sawFile := make(chan bool, 1)
	opt.Trace = func(ev string) {
		if strings.HasPrefix(ev, "guest-step-done ext4 qemu") {
			sawFile <- len(scratchLeft(tmp)) > 0
			time.AfterFunc(300*time.Millisecond, cancel)
		}
	}
	runCancelled(ctx, t, nb, store, opt, 5*time.Minute)
	select {
	case saw := <-sawFile:
		if !saw {
			t.Error("no scratch file while qemu booted: the test proves nothing")
		}
	default:
		t.Fatal("the run never started qemu")
	}
	if left := scratchLeft(tmp); len(left) > 0 {
		t.Errorf("left behind after cancel: %v", left)
	}
	assertNothingLeft(t, tmp)
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal(err)
	}
}

// TestScratchDisksLibvirt runs the ext4 guest of scratchNotebook as a
// libvirt domain: the same disk, formatted by the same init, fio inside
// it over the exec port, the same facts, and no scratch file, run folder
// or domain left.
func TestScratchDisksLibvirt(t *testing.T) {
	needScratchVM(t)
	libvirttest.Need(t)
	initBin := staticInit(t) // before TMPDIR moves: the init is shared by the package's tests
	tmp := libvirttest.EnterableTMPDIR(t)
	src := strings.Replace(scratchNotebook, "kind     = \"qemu\"", "kind     = \"libvirt\"\nnetwork  = \"user\"", 1)
	src = strings.Replace(src, `guests = ["ext4", "xfs"]`, `guests = ["ext4"]`, 1)
	var steps []string
	store := runVM(t, src, initBin, 10*time.Minute, func(ev string) {
		if s, ok := strings.CutPrefix(ev, "guest-step-done ext4 "); ok {
			steps = append(steps, s)
		}
	})
	f := mustLoad(t, store, "disks")
	g := f.Guest("ext4")
	for k, v := range map[string]string{"kind": "libvirt", "scratch_fs": "ext4", "scratch_cache": "none", "scratch_aio": "threads", "scratch_scheduler": "mq-deadline", "scratch_size_bytes": "2147483648", "scratch_mkfs_options": "-m 0", "load_at": "guest"} {
		if g.Facts[k] != v {
			t.Errorf("fact %s = %q, want %q", k, g.Facts[k], v)
		}
	}
	if !strings.Contains(g.Facts["domain_xml"], "<serial>scratch0</serial>") {
		t.Errorf("domain XML lacks the scratch disk:\n%s", g.Facts["domain_xml"])
	}
	for _, s := range []string{"run-dir", "scratch", "exec-port", "scratch-facts"} {
		if !slices.Contains(steps, s) {
			t.Errorf("steps %v lack %s", steps, s)
		}
	}
	r := g.Points[0].Repeats[0]
	if r.Metrics["write_iops"] <= 0 {
		t.Errorf("fio in the guest measured %v", r.Metrics)
	}
	if cmd := g.Commands[len(g.Commands)-1]; !strings.HasPrefix(cmd, "fio ") || !strings.Contains(cmd, "--directory=/data") {
		t.Errorf("load command %q", cmd)
	}
	t.Logf("libvirt: fio inside: %.0f write IOPS; mkfs %s ms", r.Metrics["write_iops"], g.Facts["scratch_mkfs_ms"])
	if left, _ := filepath.Glob(filepath.Join(tmp, "bb-libvirt-run-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// nbtest.Write names the notebook nb.toml: its domains are named after "nb".
	noDomainsLeft(t, "disks", "ext4")
}

// runVM runs notebook src (booting builtin images with the test init
// initBin and a fresh image cache) within timeout, trace seeing its
// events when set, and returns its store.
func runVM(t *testing.T, src, initBin string, timeout time.Duration, trace func(string)) results.Store {
	t.Helper()
	nb, store := writeNotebook(t, t.TempDir(), src)
	var out bytes.Buffer
	opt := runOpts(&out)
	opt.Image = image.BuildOptions{CacheDir: t.TempDir(), InitBinary: initBin}
	opt.Trace = trace
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := Run(ctx, nb, store, opt); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	return store
}

package guest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/golden"
)

// TestQemuCommandLines pins the qemu command line of every flavor and
// network mode, so a change to what benchbook runs shows in review.
func TestQemuCommandLines(t *testing.T) {
	tests := []struct {
		name string
		spec VMSpec
		net  Network
	}{
		{"linux-microvm-user", VMSpec{Name: "linux", Flavor: "linux", Kernel: "images/vmlinuz", Initrd: "images/initrd.cpio"}, Network{Mode: "user", HostPort: 40001}},
		{"linux-pc-tap-netns", VMSpec{Name: "linux", Flavor: "linux", Kernel: "images/vmlinuz", Initrd: "images/initrd.cpio", Machine: "pc", Memory: "512M", CPUs: 2}, Network{Mode: "tap", Tap: "tap0", Netns: "benchbook-1-1"}},
		{"osv-disk-user", VMSpec{Name: "osv", Flavor: "osv", Disk: "images/osv/usr.img"}, Network{Mode: "user", HostPort: 40002}},
		{"osv-direct-user", VMSpec{Name: "osv", Flavor: "osv", Disk: "images/osv/usr.img", Kernel: "images/osv/loader-stripped.elf", Cmdline: []string{"--rootfs=rofs", "/redis-server", "redis.conf"}}, Network{Mode: "user", HostPort: 40003}},
		{"osv-disk-tap", VMSpec{Name: "osv", Flavor: "osv", Disk: "images/osv/usr.img"}, Network{Mode: "tap", Tap: "tap0", Netns: "benchbook-1-2"}},
		{"rumprun-user", VMSpec{Name: "rumprun", Flavor: "rumprun", Kernel: "images/rumprun/redis-server.bin", Cmdline: []string{"redis-server", "/data/conf/redis.conf"}, Disks: []string{"images/rumprun/data.iso"}}, Network{Mode: "user", HostPort: 40004}},
		{"rumprun-tap", VMSpec{Name: "rumprun", Flavor: "rumprun", Kernel: "images/rumprun/redis-server.bin", Cmdline: []string{"redis-server", "/data/conf/redis.conf"}, Disks: []string{"images/rumprun/data.iso"}}, Network{Mode: "tap", Tap: "tap0", Netns: "benchbook-1-3"}},
		{"raw-user", VMSpec{Name: "mine", Flavor: "raw", QemuArgs: []string{"-cdrom", "my.iso", "-boot", "d"}}, Network{Mode: "user", HostPort: 40005}},
	}
	var got strings.Builder
	for _, tt := range tests {
		b := goldenBoot(t, tt.name, tt.spec)
		q := &Qemu{cfg: QemuConfig{Name: tt.spec.Name, Boot: b, Accel: "tcg", Net: tt.net, RunDir: "/run/bb"}}
		got.WriteString("# " + tt.name + "\n" + shellLine(q.Command()) + "\n\n")
	}
	checkGolden(t, "qemu-command-lines.txt", got.String())
}

// goldenBoot is spec's boot as golden files show it: the TCG arguments
// start with tsc_early_khz, which is the host's, and there say KHZ.
func goldenBoot(t *testing.T, name string, spec VMSpec) Boot {
	t.Helper()
	b, err := PlanBoot(spec)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(b.AppendTCG) > 0 {
		b.AppendTCG[0] = "tsc_early_khz=KHZ"
	}
	return b
}

// checkGolden compares got with testdata/name, or rewrites it with -update,
// and shows the first differing line.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}

func shellLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if strings.ContainsAny(a, " \"'{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func TestPlanBootErrors(t *testing.T) {
	dir := t.TempDir()
	rawImg := filepath.Join(dir, "usr.raw")
	os.WriteFile(rawImg, []byte("not qcow2"), 0o644)
	tests := []struct {
		spec VMSpec
		want string
	}{
		{VMSpec{Flavor: "osv"}, "needs disk"},
		{VMSpec{Flavor: "osv", Disk: rawImg}, "OSv boots from a qcow2 image"},
		{VMSpec{Flavor: "osv", Disk: "x.qcow2", Kernel: "loader.elf"}, "needs cmdline"},
		{VMSpec{Flavor: "rumprun", Kernel: "r.bin"}, "needs cmdline"},
		{VMSpec{Flavor: "linux"}, "needs kernel and initrd"},
		{VMSpec{Flavor: "bsd"}, `unknown flavor "bsd"`},
	}
	for _, tt := range tests {
		_, err := PlanBoot(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.spec, err, tt.want)
		}
	}
}

// rumprun's parser keeps repeated keys; benchbook writes each disk's "blk"
// once, in order, and never repeats the others.
func TestRumprunJSON(t *testing.T) {
	b, err := PlanBoot(VMSpec{Flavor: "rumprun", Kernel: "r.bin", Cmdline: []string{"redis-server", "/data/conf/redis.conf"}, Disks: []string{"a.iso", "b.iso"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cmdline":"redis-server /data/conf/redis.conf","net":{"if":"vioif0","type":"inet","method":"static","addr":"10.0.2.15","mask":"24","gw":"10.0.2.2"},"blk":{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"},"blk":{"source":"dev","path":"/dev/ld1a","fstype":"blk","mountpoint":"/data1"}}`
	if b.Append != want {
		t.Errorf("got  %s\nwant %s", b.Append, want)
	}
}

package image

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

func needRedis(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed (apt-get install redis-server)")
	}
	return p
}

// needCloudKernel skips when this machine has no cloud kernel to build an
// image from, and returns its version.
func needCloudKernel(tb testing.TB) string {
	tb.Helper()
	ver, err := NewestCloudKernel("/boot", "/lib/modules")
	if err != nil {
		tb.Skipf("%v", err)
	}
	return ver
}

func TestELFDepsRedis(t *testing.T) {
	redis := needRedis(t)
	deps, err := elfDeps(redis, DefaultLibDirs)
	if err != nil {
		t.Fatal(err)
	}
	var guests []string
	for _, d := range deps {
		guests = append(guests, d.Guest)
		if _, err := os.Stat(d.Host); err != nil {
			t.Errorf("%s: %v", d.Host, err)
		}
	}
	if len(deps) == 0 || deps[0].Guest != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("first dependency = %v, want the interpreter /lib64/ld-linux-x86-64.so.2", guests)
	}
	bases := map[string]int{}
	for _, g := range guests {
		bases[path.Base(g)]++
	}
	// libc and libm are direct; libgcc_s comes through libstdc++, which
	// comes through libsystemd... the closure must hold them all, once.
	for _, want := range []string{"libc.so.6", "libm.so.6", "libssl.so.3", "libcrypto.so.3"} {
		if bases[want] != 1 {
			t.Errorf("%s appears %d times in %v", want, bases[want], guests)
		}
	}
	for b, n := range bases {
		if n != 1 {
			t.Errorf("%s appears %d times", b, n)
		}
	}
	again, err := elfDeps(redis, DefaultLibDirs)
	if err != nil || !slices.Equal(again, deps) {
		t.Errorf("second resolution differs: %v, %v", again, err)
	}
}

func TestELFDepsMissingLibrary(t *testing.T) {
	redis := needRedis(t)
	_, err := elfDeps(redis, []string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v, want a library not found", err)
	}
}

func TestIsStatic(t *testing.T) {
	if err := isStatic(testInit(t)); err != nil {
		t.Errorf("static init: %v", err)
	}
	redis := needRedis(t)
	if err := isStatic(redis); !errors.Is(err, errDynamic) {
		t.Errorf("redis-server: err = %v, want %v", err, errDynamic)
	}
	script := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := isStatic(script); err == nil {
		t.Error("a shell script passes as a static init")
	}
}

const testModulesDep = `kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
kernel/c.ko: kernel/gone.ko
`

func TestModuleOrder(t *testing.T) {
	m, err := parseModulesDep(strings.NewReader(testModulesDep), strings.NewReader("kernel/drivers/virtio/virtio_mmio.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		names []string
		want  []string // base names
		err   string
	}{
		{[]string{"virtio_net"}, []string{"failover", "net_failover", "virtio_ring", "virtio", "virtio_net"}, ""},
		{[]string{"virtio_pci", "virtio_net"}, []string{
			"virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtio", "virtio_pci",
			"failover", "net_failover", "virtio_net"}, ""},
		{[]string{"virtio_net", "virtio_net"}, []string{"failover", "net_failover", "virtio_ring", "virtio", "virtio_net"}, ""},
		{[]string{"virtio-rng"}, []string{"virtio_ring", "virtio", "virtio-rng.ko.xz"}, ""},
		{[]string{"virtio_mmio"}, nil, ""}, // built in
		{[]string{"e1000"}, nil, "e1000 is neither in modules.dep nor built in"},
		{[]string{"c"}, nil, "gone (needed by c)"},
		{[]string{"a"}, nil, "depends on itself"},
	} {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			files, err := m.resolve(tc.names)
			if testutil.ExpectErr(t, err, tc.err) {
				return
			}
			var got []string
			for _, f := range files {
				got = append(got, strings.TrimSuffix(path.Base(f), ".ko"))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("order = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestModulesHost resolves the default modules against the installed cloud
// kernel: every file exists and comes after its dependencies.
func TestModulesHost(t *testing.T) {
	ver := needCloudKernel(t)
	dir := "/lib/modules/" + ver
	mods, err := resolveModules(dir, dir, DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, err := os.Stat(m.Host); err != nil {
			t.Error(err)
		}
		pos[moduleName(m.Host)] = i
	}
	for _, want := range []string{"virtio", "virtio_ring", "virtio_pci", "virtio_mmio", "virtio_net", "failover", "net_failover"} {
		if _, ok := pos[want]; !ok {
			t.Errorf("%s missing from %v", want, mods)
		}
	}
	for _, before := range [][2]string{{"virtio_ring", "virtio"}, {"virtio", "virtio_net"}, {"failover", "net_failover"}, {"net_failover", "virtio_net"}, {"virtio", "virtio_mmio"}} {
		if pos[before[0]] >= pos[before[1]] {
			t.Errorf("%s loads after %s", before[0], before[1])
		}
	}
}

func TestCompareVersions(t *testing.T) {
	sorted := []string{"5.10.0-9-cloud-amd64", "6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64", "6.1.0-56-cloud-amd64", "6.12.0-1-cloud-amd64"}
	shuffled := []string{sorted[3], sorted[0], sorted[4], sorted[2], sorted[1]}
	slices.SortFunc(shuffled, compareVersions)
	if !slices.Equal(shuffled, sorted) {
		t.Errorf("sorted = %v, want %v", shuffled, sorted)
	}
}

func TestNewestCloudKernel(t *testing.T) {
	boot, mods := t.TempDir(), t.TempDir()
	if _, err := NewestCloudKernel(boot, mods); !errors.Is(err, ErrNoKernel) {
		t.Errorf("empty: err = %v, want ErrNoKernel", err)
	}
	for _, v := range []string{"6.1.0-9-cloud-amd64", "6.1.0-10-cloud-amd64", "6.1.0-11-amd64", "6.1.0-12-cloud-amd64"} {
		os.WriteFile(filepath.Join(boot, "vmlinuz-"+v), nil, 0o644)
		if v != "6.1.0-12-cloud-amd64" { // kernel without its modules
			os.MkdirAll(filepath.Join(mods, v), 0o755)
			os.WriteFile(filepath.Join(mods, v, "modules.dep"), nil, 0o644)
		}
	}
	if v, err := NewestCloudKernel(boot, mods); err != nil || v != "6.1.0-10-cloud-amd64" {
		t.Errorf("NewestCloudKernel = %q, %v; want 6.1.0-10-cloud-amd64", v, err)
	}
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestBuildReproducible builds into two caches, at different times: the
// bytes and digests are the same; building again hits the cache; changing
// an input changes the digest.
func TestBuildReproducible(t *testing.T) {
	needRedis(t)
	needCloudKernel(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := BuildOptions{CacheDir: t.TempDir(), InitBinary: testInit(t)}
	a, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if a.Cached {
		t.Error("first build reports Cached")
	}
	time.Sleep(1100 * time.Millisecond) // a leaked mtime would now differ
	opts2 := opts
	opts2.CacheDir = t.TempDir()
	b, err := Build(ctx, opts2)
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest != b.Digest || fileSum(t, a.Initrd) != fileSum(t, b.Initrd) {
		t.Errorf("two builds differ: %s, %s", a.Digest, b.Digest)
	}
	if !strings.HasPrefix(a.Digest, "sha256:") || len(a.Digest) != len("sha256:")+64 {
		t.Errorf("digest %q", a.Digest)
	}
	if !strings.Contains(a.Dir, strings.TrimPrefix(a.Digest, "sha256:")[:24]) {
		t.Errorf("cache dir %s does not name the digest %s", a.Dir, a.Digest)
	}

	stale := filepath.Join(opts.CacheDir, ".build-killed")
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, long, long); err != nil {
		t.Fatal(err)
	}
	c, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cached || c.Dir != a.Dir {
		t.Errorf("rebuild: Cached=%v dir=%s, want the cached %s", c.Cached, c.Dir, a.Dir)
	}
	entries, _ := os.ReadDir(opts.CacheDir)
	if len(entries) != 1 {
		t.Errorf("cache holds %d entries after two builds of one image, want 1 (staging left behind?)", len(entries))
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale staging directory survived a build")
	}

	opts3 := opts
	opts3.RedisArgs = append([]string{"--maxmemory", "100mb"}, DefaultRedisArgs...)
	d, err := Build(ctx, opts3)
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest == a.Digest {
		t.Error("different redis arguments, same digest")
	}

	// The archive holds what the manifest says, as GNU cpio reads it.
	if cpio, err := exec.LookPath("cpio"); err == nil {
		f, _ := os.Open(a.Initrd)
		defer f.Close()
		cmd := exec.CommandContext(ctx, cpio, "-it", "--quiet")
		cmd.Stdin = f
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -t: %v", err)
		}
		listed := strings.Fields(string(out))
		for _, mf := range a.Manifest.Files {
			if !slices.Contains(listed, strings.TrimPrefix(mf.Path, "/")) {
				t.Errorf("%s is in the manifest but not in the archive", mf.Path)
			}
		}
		for _, want := range []string{"init", "usr/bin/redis-server", "lib64/ld-linux-x86-64.so.2", "etc/benchbook/init.json", "dev/console"} {
			if !slices.Contains(listed, want) {
				t.Errorf("archive lacks %s", want)
			}
		}
	}
}

func TestInitBeside(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "benchbook")
	if err := os.WriteFile(exe, []byte("not even ELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := initBeside(exe); err != nil || got != exe {
		t.Errorf("no sibling: initBeside = %q, %v; want the executable", got, err)
	}
	// A sibling that is not a static program is ignored.
	sibling := filepath.Join(dir, InitName)
	if err := os.WriteFile(sibling, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := initBeside(exe); got != exe {
		t.Errorf("script sibling: initBeside = %q, want the executable", got)
	}
	b, err := os.ReadFile(testInit(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sibling, b, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "bb")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	if got, err := initBeside(link); err != nil || got != sibling {
		t.Errorf("static sibling, called through a link: initBeside = %q, %v; want %s", got, err, sibling)
	}
}

// TestBuildDynamicInit: an init that is dynamically linked (benchbook
// built by a plain `go build`) comes with its loader and libraries instead
// of being refused.
func TestBuildDynamicInit(t *testing.T) {
	redis := needRedis(t)
	needCloudKernel(t)
	im, err := Build(context.Background(), BuildOptions{CacheDir: t.TempDir(), InitBinary: redis})
	if err != nil {
		t.Fatalf("a dynamic init: %v", err)
	}
	var init, loader bool
	for _, f := range im.Manifest.Files {
		init = init || f.Path == "/init" && f.From == redis
		loader = loader || f.Path == "/lib64/ld-linux-x86-64.so.2"
	}
	if !init || !loader {
		t.Errorf("manifest: /init from %s %v, loader %v; want both", redis, init, loader)
	}
	// Not an ELF at all is still refused.
	script := filepath.Join(t.TempDir(), "init")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if _, err := Build(context.Background(), BuildOptions{CacheDir: t.TempDir(), InitBinary: script}); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("a script as init: err = %v, want not an ELF", err)
	}
}

// TestBuildLinuxPrograms: the linux image holds the programs asked for at
// their host paths, with their libraries, the disk and scheduler modules
// and what each program needs (xfs for mkfs.xfs), and no redis unless
// asked; the program list's order does not change the digest.
func TestBuildLinuxPrograms(t *testing.T) {
	needCloudKernel(t)
	for _, p := range []string{"fio", "mkfs.ext4", "mkfs.xfs"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (apt-get install fio e2fsprogs xfsprogs)", p)
		}
	}
	ctx := context.Background()
	cache := t.TempDir()
	im, err := Build(ctx, BuildOptions{CacheDir: cache, InitBinary: testInit(t), Programs: []string{"mkfs.xfs", "fio", "mkfs.ext4"}})
	if err != nil {
		t.Fatal(err)
	}
	if im.Name != NameLinux || !strings.Contains(filepath.Base(im.Dir), NameLinux+"-") {
		t.Errorf("name %q dir %s, want %s", im.Name, im.Dir, NameLinux)
	}
	fio, _ := exec.LookPath("fio")
	var paths []string
	for _, f := range im.Manifest.Files {
		paths = append(paths, f.Path)
	}
	for _, want := range []string{fio, "/usr/sbin/mkfs.xfs", "/usr/sbin/mkfs.ext4", "/lib64/ld-linux-x86-64.so.2"} {
		if !slices.Contains(paths, want) {
			t.Errorf("image lacks %s", want)
		}
	}
	if slices.Contains(paths, GuestRedis) || len(im.Manifest.Init.Command) != 0 {
		t.Errorf("redis in an image that did not ask for it: command %q", im.Manifest.Init.Command)
	}
	mods := strings.Join(im.Manifest.Init.Modules, " ")
	for _, want := range []string{"/xfs.ko", "/libcrc32c.ko", "/virtio_blk.ko", "/bfq.ko", "/kyber-iosched.ko", "/virtio_console.ko"} {
		if !strings.Contains(mods, want) {
			t.Errorf("modules lack %s: %s", want, mods)
		}
	}
	if got := im.Facts()["image_programs"]; !strings.Contains(got, "mkfs.xfs") {
		t.Errorf("image_programs fact = %q", got)
	}
	again, err := Build(ctx, BuildOptions{CacheDir: cache, InitBinary: testInit(t), Programs: []string{"mkfs.ext4", "fio", "mkfs.xfs", "fio"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != im.Digest || !again.Cached {
		t.Errorf("same programs in another order: digest %s (cached %v), want %s", again.Digest, again.Cached, im.Digest)
	}
	if _, err := Build(ctx, BuildOptions{CacheDir: cache, InitBinary: testInit(t), Programs: []string{"no-such-program-bb"}}); err == nil || !strings.Contains(err.Error(), "not on PATH") {
		t.Errorf("a missing program: err = %v", err)
	}
}

func TestCmdline(t *testing.T) {
	im := &Image{Kernel: "k", Initrd: "i"}
	n := DefaultNet()
	n.Port = 7000
	got, err := im.Cmdline(QemuConfig{Machine: Microvm, Net: n, TSCKHz: 2000000})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"console=ttyS0", "panic=-1", "tsc_early_khz=2000000", "tsc=reliable", "benchbook.ip=10.0.2.15/24", "benchbook.gw=10.0.2.2", "benchbook.port=7000"} {
		if !slices.Contains(strings.Fields(got), want) {
			t.Errorf("cmdline %q lacks %s", got, want)
		}
	}
	pc, _ := im.Cmdline(QemuConfig{Machine: PC, Net: n})
	if strings.Contains(pc, "tsc_early_khz") {
		t.Errorf("pc cmdline %q has tsc_early_khz", pc)
	}
	kvm, _ := im.Cmdline(QemuConfig{Machine: Microvm, Accel: "kvm"})
	if strings.Contains(kvm, "tsc_early_khz") {
		t.Errorf("kvm cmdline %q has tsc_early_khz", kvm)
	}
	args, err := im.QemuArgs(QemuConfig{Machine: PC, HostFwd: "127.0.0.1:4000", Net: n})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"-M pc", "virtio-net-pci,netdev=n0", "hostfwd=tcp:127.0.0.1:4000-:7000", "-kernel k", "-initrd i", "-no-reboot"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %q lack %q", joined, want)
		}
	}
	if _, err := im.QemuArgs(QemuConfig{Machine: "q35"}); err == nil {
		t.Error("unknown machine: no error")
	}
}

func TestHostTSC(t *testing.T) {
	if !haveTSC {
		t.Skip("no TSC on this architecture")
	}
	khz, err := HostTSCKHz()
	if err != nil {
		t.Fatal(err)
	}
	// Any x86-64 made in the last 20 years: between 500 MHz and 10 GHz.
	if khz < 500_000 || khz > 10_000_000 {
		t.Errorf("TSC at %d kHz", khz)
	}
}

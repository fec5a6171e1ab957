package guest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/guestexec"
	"github.com/benchbook/benchbook/runner/image"
	"github.com/benchbook/benchbook/runner/image/guestinit"
	"github.com/benchbook/benchbook/runner/load"
)

// These tests boot benchbook's Linux micro-VM through libvirtd under TCG
// (KVM does not work on this machine). libvirttest starts the daemon if it
// is not running, inside a network namespace of its own, so the NAT
// network's guests are reachable only from there.

var (
	imageOnce sync.Once
	testImage *image.Image
	imageErr  error
)

// microVM builds (or finds in a cache under the temp folder) the Linux
// micro-VM with a static init built from ../image/initrd/init.
func microVM(t *testing.T) *image.Image {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	if _, err := image.NewestCloudKernel("/boot", "/lib/modules"); err != nil {
		t.Skipf("no cloud kernel to build the micro-VM: %v", err)
	}
	imageOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "benchbook-libvirt-test")
		if imageErr = os.MkdirAll(dir, 0o755); imageErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		init := filepath.Join(dir, "init")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", init, "../image/initrd/init")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("go build ../image/initrd/init: %w\n%s", err, out)
			return
		}
		testImage, imageErr = image.Build(ctx, image.BuildOptions{CacheDir: filepath.Join(dir, "images"), InitBinary: init})
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return testImage
}

// linuxBoot is the micro-VM's Boot with the flavor's defaults, as the
// runner plans it.
func linuxBoot(t *testing.T, im *image.Image) guest.Boot {
	t.Helper()
	b, err := guest.PlanBoot(guest.VMSpec{Name: "linux", Flavor: "linux", Kernel: im.Kernel, Initrd: im.Initrd})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var domainN struct {
	sync.Mutex
	n int
}

func domainName(t *testing.T) string {
	domainN.Lock()
	defer domainN.Unlock()
	domainN.n++
	return guest.DomainName("test"+strconv.Itoa(os.Getpid()), "libvirt", strings.ReplaceAll(t.Name(), "/", "-"), domainN.n)
}

// stopped stops g, failing t when it cannot within 30 s, and returns the
// context of those 30 s for the checks after the stop.
func stopped(t *testing.T, g *guest.Libvirt) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := g.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// leftovers lists the benchbook-* domains libvirt knows at uri.
func leftovers(t *testing.T, uri string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "virsh", "-c", uri, "list", "--all", "--name").CombinedOutput()
	if err != nil {
		t.Fatalf("virsh list: %v: %s", err, out)
	}
	var left []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, guest.DomainPrefix+"test"+strconv.Itoa(os.Getpid())) {
			left = append(left, l)
		}
	}
	return left
}

// startLibvirt starts a guest and registers its Stop; it fails t on error.
func startLibvirt(t *testing.T, cfg guest.LibvirtConfig) (*guest.Libvirt, guest.Endpoint) {
	t.Helper()
	g, err := guest.NewLibvirt(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep, err := g.Start(ctx)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return g, ep
}

// quickLoad runs the built-in load briefly and returns ops/s.
func quickLoad(t *testing.T, ep guest.Endpoint) float64 {
	t.Helper()
	l, err := load.New("builtin")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := l.Run(ctx, load.Target{Addr: ep.Addr, Netns: ep.Netns}, load.Spec{Clients: 4, Requests: 500}.WithDefaults())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if m.Totals.Ops == 0 {
		t.Fatal("load measured no operations")
	}
	return m.Totals.OpsPerSec
}

// daemonNetns reports whether the local libvirtd runs in a network
// namespace other than ours (as libvirttest starts it).
func daemonNetns(t *testing.T) bool {
	b, err := os.ReadFile("/run/libvirtd.pid")
	if err != nil {
		return false
	}
	theirs, err1 := os.Readlink("/proc/" + strings.TrimSpace(string(b)) + "/ns/net")
	ours, err2 := os.Readlink("/proc/thread-self/ns/net") // not self: see netnsOf
	return err1 == nil && err2 == nil && theirs != ours
}

func TestLibvirtBoot(t *testing.T) {
	libvirttest.Need(t)
	im := microVM(t)
	tests := []struct {
		name string
		net  string
	}{
		{"user", "user"},
		{"network-default", "network:default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.net != "user" && !daemonNetns(t) {
				// A guest on virbr0 of the host's namespace is a private
				// address of the host's network: this workplace's tests
				// send load only into namespaces they made.
				t.Skip("libvirtd runs in the host's network namespace; start it with libvirttest (ip netns exec " + libvirttest.Netns + " libvirtd -d) for this test")
			}
			nw, err := guest.ParseLibvirtNet(tt.net, false)
			if err != nil {
				t.Fatal(err)
			}
			console := filepath.Join(t.TempDir(), "console.log")
			g, ep := startLibvirt(t, guest.LibvirtConfig{
				Name: "linux", Domain: domainName(t), Boot: linuxBoot(t, im), Accel: "tcg", Net: nw,
				ConsolePath: console, ReadyTimeout: 90 * time.Second,
			})
			ops := quickLoad(t, ep)
			facts := g.Facts()
			t.Logf("%s: boot to PONG %.0f ms, %.0f ops/s at %s (netns %q); libvirt %s, qemu %s", tt.net, g.BootMs(), ops, ep.Addr, ep.Netns, facts["libvirt_version"], facts["qemu_version"])
			for _, k := range []string{"libvirt_version", "qemu_version", "uri", "redis_version", "guest_addr"} {
				if facts[k] == "" {
					t.Errorf("fact %s missing: %v", k, facts)
				}
			}
			if !strings.Contains(g.DomainXML(), "<name>"+facts["domain"]+"</name>") {
				t.Errorf("DomainXML lacks the domain's name:\n%s", g.DomainXML())
			}
			if tt.net == "network:default" && !strings.HasPrefix(ep.Addr, "192.168.122.") {
				t.Errorf("endpoint %s is not on the default network", ep.Addr)
			}
			ctx := stopped(t, g)
			select {
			case <-g.Exited():
			default:
				t.Error("Exited not closed after Stop")
			}
			if err := g.Stop(ctx); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			if left := leftovers(t, guest.DefaultLibvirtURI); len(left) > 0 {
				t.Errorf("domains left after Stop: %v", left)
			}
			log, _ := os.ReadFile(console)
			if !strings.Contains(string(log), "Ready to accept connections") {
				t.Errorf("console log lacks redis's ready line:\n%s", log)
			}
		})
	}
}

// TestLibvirtCancel cancels Start mid-boot, as SIGINT does in the runner:
// no domain may be left.
func TestLibvirtCancel(t *testing.T) {
	libvirttest.Need(t)
	im := microVM(t)
	// While libvirt creates the domain, and while the guest boots.
	for _, after := range []time.Duration{0, 1500 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			nw, _ := guest.ParseLibvirtNet("user", false)
			g, err := guest.NewLibvirt(guest.LibvirtConfig{Name: "linux", Domain: domainName(t), Boot: linuxBoot(t, im), Net: nw})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				deadline := time.Now().Add(30 * time.Second)
				for g.DomainXML() == "" && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				time.Sleep(after)
				cancel()
			}()
			_, err = g.Start(ctx)
			if err == nil {
				g.Stop(context.Background())
				t.Fatal("Start succeeded despite the cancel")
			}
			if ctx.Err() == nil {
				t.Fatalf("Start failed before the cancel: %v", err)
			}
			if left := leftovers(t, guest.DefaultLibvirtURI); len(left) > 0 {
				t.Errorf("domains left after a cancelled Start: %v", left)
			}
			if err := g.Stop(context.Background()); err != nil {
				t.Errorf("Stop after cancelled Start: %v", err)
			}
		})
	}
}

// TestLibvirtRemote boots the micro-VM on a second libvirtd reached over
// qemu+tcp: the kernel and initramfs are uploaded as volumes, and the load
// reaches redis through a port forward on the "remote" host's address.
func TestLibvirtRemote(t *testing.T) {
	libvirttest.Need(t)
	im := microVM(t)
	r := libvirttest.NeedRemote(t)
	nw, _ := guest.ParseLibvirtNet("user", true)
	g, ep := startLibvirt(t, guest.LibvirtConfig{
		Name: "linux", Domain: domainName(t), URI: r.URI, Boot: linuxBoot(t, im), Net: nw,
		ConsolePath: filepath.Join(t.TempDir(), "console.log"), ReadyTimeout: 90 * time.Second,
	})
	if host, _, _ := strings.Cut(ep.Addr, ":"); host != r.Host || ep.Netns != "" {
		t.Errorf("endpoint %+v: want the remote host %s, from this namespace", ep, r.Host)
	}
	ops := quickLoad(t, ep)
	t.Logf("remote %s: boot to PONG %.0f ms, %.0f ops/s at %s", r.URI, g.BootMs(), ops, ep.Addr)
	if !strings.Contains(g.DomainXML(), guest.LibvirtPoolDir) {
		t.Errorf("the domain does not boot from uploaded volumes:\n%s", g.DomainXML())
	}
	sctx := stopped(t, g)
	if left := leftovers(t, r.URI); len(left) > 0 {
		t.Errorf("domains left on the remote: %v", left)
	}
	out, _ := exec.CommandContext(sctx, "virsh", "-c", r.URI, "vol-list", guest.LibvirtPool).CombinedOutput()
	if strings.Contains(string(out), guest.DomainPrefix) {
		t.Errorf("volumes left on the remote:\n%s", out)
	}
}

// TestLibvirtVsQemu measures the same micro-VM booted by both launchers
// (boot to PONG, and ops/s of a short built-in load), when
// BENCHBOOK_LAUNCHER_FIGURES is the number of boots of each.
func TestLibvirtVsQemu(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BENCHBOOK_LAUNCHER_FIGURES"))
	if n <= 0 {
		t.Skip("set BENCHBOOK_LAUNCHER_FIGURES=N to measure N boots per launcher")
	}
	libvirttest.Need(t)
	im := microVM(t)
	b := linuxBoot(t, im)
	var rows []string
	for i := range n {
		for _, launcher := range []string{"qemu", "libvirt"} {
			var boot, ops float64
			t.Run(fmt.Sprintf("%s-%d", launcher, i), func(t *testing.T) {
				if launcher == "qemu" {
					port, _ := guest.FreePort()
					q, err := guest.NewQemu(guest.QemuConfig{Name: "linux", Boot: b, Accel: "tcg", Net: guest.Network{Mode: "user", HostPort: port}, RunDir: t.TempDir(), ReadyTimeout: 90 * time.Second})
					if err != nil {
						t.Fatal(err)
					}
					defer q.Stop(context.Background())
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					ep, err := q.Start(ctx)
					if err != nil {
						t.Fatal(err)
					}
					boot, ops = q.BootMs(), quickLoad(t, ep)
					return
				}
				nw, _ := guest.ParseLibvirtNet("user", false)
				g, ep := startLibvirt(t, guest.LibvirtConfig{Name: "linux", Domain: domainName(t), Boot: b, Net: nw, ReadyTimeout: 90 * time.Second})
				boot, ops = g.BootMs(), quickLoad(t, ep)
			})
			rows = append(rows, fmt.Sprintf("%-8s %2d  boot_ms %7.0f  ops/s %8.0f", launcher, i, boot, ops))
		}
	}
	t.Logf("micro-VM, TCG, user networking, builtin load 4 clients x 500 requests:\n%s", strings.Join(rows, "\n"))
}

// execVM builds the builtin:linux image with mkfs.ext4 (and no redis),
// whose init formats scratch disks and serves the exec port.
func execVM(t *testing.T) *image.Image {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed (apt-get install e2fsprogs)")
	}
	microVM(t) // builds the init
	dir := filepath.Join(os.TempDir(), "benchbook-libvirt-test")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	im, err := image.Build(ctx, image.BuildOptions{CacheDir: filepath.Join(dir, "images"), InitBinary: filepath.Join(dir, "init"), Programs: []string{"mkfs.ext4"}})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestLibvirtScratchExec boots builtin:linux under libvirt with an ext4
// scratch disk and the exec port, as the qemu launcher does: the init
// formats and mounts the disk, a program runs inside over the port and
// writes to the disk, the facts name the disk as the guest saw it, and
// Stop leaves no scratch file, socket or domain.
func TestLibvirtScratchExec(t *testing.T) {
	libvirttest.Need(t)
	im := execVM(t)
	tmp := libvirttest.EnterableTMPDIR(t)
	cfg := scratchExecConfig(t, im, "", "none", "native")
	cfg.Accel = "tcg"
	g, ep := startScratchExec(t, cfg)
	x := g.DomainXML()
	for _, want := range []string{"<serial>scratch0</serial>", `cache="none" io="native"`, `name="` + guestexec.PortName + `"`} {
		if !strings.Contains(x, want) {
			t.Errorf("domain XML lacks %s:\n%s", want, x)
		}
	}
	files, _ := filepath.Glob(filepath.Join(tmp, "bb-libvirt-run-*", "*"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if !slices.Contains(names, "scratch0.raw") || !slices.Contains(names, "exec.sock") {
		t.Errorf("run folder holds %v, want scratch0.raw and exec.sock", names)
	}

	// A program of the image, run inside, in the mounted scratch disk,
	// after a file was written there.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := ep.Exec.Exec(ctx, guestexec.Request{Argv: []string{"mkfs.ext4", "-V"}, Dir: "/data", Files: map[string][]byte{"/data/hello": []byte("hi")}, StdoutLimit: 4096, StderrTail: 4096})
	if err != nil || !rep.Success() {
		t.Fatalf("mkfs.ext4 -V inside: %v %s %s", err, rep.ExitText(), rep.Stderr)
	}
	if out := string(rep.Stdout) + string(rep.Stderr); !strings.Contains(out, "mke2fs") {
		t.Errorf("mkfs.ext4 -V said %q", out)
	}
	execTrips(ctx, t, ep.Exec, "the exec socket")
	rep, err = ep.Exec.Exec(ctx, guestexec.Request{Remove: []string{"/data/hello"}})
	if err != nil || !rep.Success() {
		t.Fatalf("remove inside: %v %s", err, rep.ExitText())
	}
	// The guest's mkfs wrote through to the sparse file (cache none).
	var st syscall.Stat_t
	if len(files) > 0 {
		if err := syscall.Stat(filepath.Join(filepath.Dir(files[0]), "scratch0.raw"), &st); err != nil || st.Blocks == 0 {
			t.Errorf("scratch file: %v, %d blocks allocated", err, st.Blocks)
		}
	}
	facts := g.Facts()
	want := map[string]string{"scratch_fs": "ext4", "scratch_cache": "none", "scratch_aio": "native", "scratch_mount": "/data", "scratch_size_bytes": "1073741824"}
	for k, v := range want {
		if facts[k] != v {
			t.Errorf("fact %s = %q, want %q", k, facts[k], v)
		}
	}
	if !strings.HasPrefix(facts["scratch_device"], "/dev/vd") || !strings.Contains(facts["scratch_mount_options"], "rw") {
		t.Errorf("scratch device %q, mount options %q", facts["scratch_device"], facts["scratch_mount_options"])
	}
	t.Logf("libvirt: ready in %.0f ms; scratch %s on %s, mkfs %s ms (%s), mount options %s", g.BootMs(), facts["scratch_fs"], facts["scratch_device"], facts["scratch_mkfs_ms"], facts["scratch_mkfs"], facts["scratch_mount_options"])

	sctx := stopped(t, g)
	if left, _ := filepath.Glob(filepath.Join(tmp, "bb-libvirt-run-*")); len(left) > 0 {
		t.Errorf("left after Stop: %v", left)
	}
	if left := leftovers(t, guest.DefaultLibvirtURI); len(left) > 0 {
		t.Errorf("domains left after Stop: %v", left)
	}
	if _, err := ep.Exec.Exec(sctx, guestexec.Request{Argv: []string{"mkfs.ext4", "-V"}}); err == nil {
		t.Error("the exec port still answers after Stop")
	}
}

// TestLibvirtRemoteScratch boots builtin:linux with a scratch disk on a
// second libvirtd over qemu+tcp: the disk is a sparse volume of the
// benchbook pool there, the guest formats it, programs run inside over the
// exec port reached through libvirt's channel API (a 1 MiB request goes
// in several stream packets), and Stop deletes the volume and closes the
// channel.
func TestLibvirtRemoteScratch(t *testing.T) {
	libvirttest.Need(t)
	im := execVM(t)
	r := libvirttest.NeedRemote(t)
	g, ep := startScratchExec(t, scratchExecConfig(t, im, r.URI, "unsafe", "threads"))
	if x := g.DomainXML(); !strings.Contains(x, `<source mode="bind"></source>`) || !strings.Contains(x, `name="`+guestexec.PortName+`"`) {
		t.Errorf("the exec port is no channel whose socket libvirt places:\n%s", x)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := bytes.Repeat([]byte("benchbook"), 1<<20/9+1)[:1<<20]
	rep, err := ep.Exec.Exec(ctx, guestexec.Request{Argv: []string{"mkfs.ext4", "-n", "-F", "/data/big"}, Files: map[string][]byte{"/data/big": big}, Remove: []string{"/data/big"}, StdoutLimit: 64 << 10, StderrTail: 4096})
	if err != nil || !rep.Success() {
		t.Fatalf("mkfs.ext4 -n inside, over the channel: %v %s %s", err, rep.ExitText(), rep.Stderr)
	}
	// mke2fs sizes the file system by the file: 1 MiB arrived whole.
	if out := string(rep.Stdout); !strings.Contains(out, "1024 1k blocks") {
		t.Errorf("mkfs.ext4 -n of the 1 MiB file said %q", out)
	}
	execTrips(ctx, t, ep.Exec, "the libvirt channel")
	facts := g.Facts()
	if facts["scratch_fs"] != "ext4" || facts["scratch_size_bytes"] != "1073741824" || !strings.Contains(facts["exec_port"], "libvirt channel") {
		t.Errorf("facts %v", facts)
	}
	if !strings.Contains(g.DomainXML(), guest.LibvirtPoolDir+"/"+facts["domain"]+"-scratch0") {
		t.Errorf("the scratch disk is no volume of the pool:\n%s", g.DomainXML())
	}
	sctx := stopped(t, g)
	out, _ := exec.CommandContext(sctx, "virsh", "-c", r.URI, "vol-list", guest.LibvirtPool).CombinedOutput()
	if strings.Contains(string(out), facts["domain"]) {
		t.Errorf("volumes left on the remote:\n%s", out)
	}
	if _, err := ep.Exec.Exec(sctx, guestexec.Request{Argv: []string{"mkfs.ext4", "-V"}}); err == nil {
		t.Error("the exec port still answers after Stop")
	}
}

// scratchExecConfig boots im on the libvirt at uri ("": this machine's),
// with user networking, one 1 GiB ext4 scratch disk at /data with the
// given cache and aio, and the exec port; it is ready when im's init says
// so.
func scratchExecConfig(t *testing.T, im *image.Image, uri, cache, aio string) guest.LibvirtConfig {
	t.Helper()
	b, err := guest.PlanBoot(guest.VMSpec{Name: "linux", Flavor: "linux", Kernel: im.Kernel, Initrd: im.Initrd, Memory: "512M", Exec: true,
		Scratch: []guest.Scratch{{Size: "1G", FS: "ext4", Mount: "/data", Cache: cache, AIO: aio}}})
	if err != nil {
		t.Fatal(err)
	}
	nw, _ := guest.ParseLibvirtNet("user", uri != "")
	return guest.LibvirtConfig{
		Name: "linux", Domain: domainName(t), URI: uri, Boot: b, Net: nw,
		ConsolePath: filepath.Join(t.TempDir(), "console.log"), ReadyTimeout: 2 * time.Minute,
		Ready: guest.Ready{Check: guest.ReadyLog, Line: regexp.MustCompile(regexp.QuoteMeta(guestinit.Marker) + ".*" + regexp.QuoteMeta(guestinit.ReadyMarker))},
	}
}

// startScratchExec starts a guest of scratchExecConfig, which must offer
// the exec port and the guest's own loopback.
func startScratchExec(t *testing.T, cfg guest.LibvirtConfig) (*guest.Libvirt, guest.Endpoint) {
	t.Helper()
	g, ep := startLibvirt(t, cfg)
	if ep.Exec == nil || ep.Inside != "127.0.0.1:6379" {
		t.Fatalf("endpoint %+v: want the exec port and the guest's loopback", ep)
	}
	return g, ep
}

// execTrips times 20 requests (mkfs.ext4 -V, a program start in the guest
// and its output back) over the exec port, reached through what names.
func execTrips(ctx context.Context, t *testing.T, c *guestexec.Client, what string) {
	t.Helper()
	var trips []time.Duration
	for i := range 20 {
		t0 := time.Now()
		if rep, err := c.Exec(ctx, guestexec.Request{Argv: []string{"mkfs.ext4", "-V"}, StderrTail: 4096}); err != nil || !strings.Contains(string(rep.Stderr), "mke2fs") {
			t.Fatalf("request %d over %s: %v %q", i, what, err, rep.Stderr)
		}
		trips = append(trips, time.Since(t0))
	}
	slices.Sort(trips)
	t.Logf("20 requests (mkfs.ext4 -V) over %s: median %s, max %s", what, trips[10].Round(time.Millisecond), trips[19].Round(time.Millisecond))
}

package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/runner/image/guestinit"
)

// These tests boot the real image under qemu (TCG: this machine has no
// KVM) and talk to its redis through a user-network port forward.

const bootTimeout = 120 * time.Second

var (
	testInitOnce sync.Once
	testInitPath string
	testInitErr  error
)

// testInit builds ./initrd/init statically once per test binary: the test
// executable itself cannot be /init (it is not guestinit-aware).
func testInit(tb testing.TB) string {
	tb.Helper()
	testInitOnce.Do(func() {
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			if goBin, err = exec.LookPath("go"); err != nil {
				testInitErr = fmt.Errorf("no go toolchain to build the test init: %w", err)
				return
			}
		}
		dir, err := os.MkdirTemp("", "benchbook-init-")
		if err != nil {
			testInitErr = err
			return
		}
		testInitPath = filepath.Join(dir, "init")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", testInitPath, "./initrd/init")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			testInitErr = fmt.Errorf("go build ./initrd/init: %w\n%s", err, out)
		}
	})
	if testInitErr != nil {
		tb.Fatal(testInitErr)
	}
	return testInitPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testInitPath != "" {
		os.RemoveAll(filepath.Dir(testInitPath))
	}
	os.Exit(code)
}

// needQemu skips when the machine cannot boot the image at all.
func needQemu(tb testing.TB) string {
	tb.Helper()
	q, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		tb.Skip("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)")
	}
	needCloudKernel(tb)
	needRedis(tb)
	return q
}

func buildTestImage(tb testing.TB, cache string) *Image {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	im, err := Build(ctx, BuildOptions{CacheDir: cache, InitBinary: testInit(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return im
}

// vm is one qemu process booting the image.
type vm struct {
	cmd     *exec.Cmd
	addr    string
	console *testutil.SyncBuffer
	exited  chan struct{}
	waitErr error
	start   time.Time
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// bootVM starts qemu and registers a cleanup that kills its process group
// and reaps it, whatever the test did.
func bootVM(tb testing.TB, qemu string, im *Image, m Machine) *vm {
	return bootVMWith(tb, qemu, im, QemuConfig{Machine: m})
}

func bootVMWith(tb testing.TB, qemu string, im *Image, c QemuConfig) *vm {
	tb.Helper()
	port := freePort(tb)
	c.HostFwd = fmt.Sprintf("127.0.0.1:%d", port)
	args, err := im.QemuArgs(c)
	if err != nil {
		tb.Fatal(err)
	}
	v := &vm{addr: fmt.Sprintf("127.0.0.1:%d", port), console: &testutil.SyncBuffer{}, exited: make(chan struct{})}
	v.cmd = exec.Command(qemu, args...)
	v.cmd.Stdout = v.console
	v.cmd.Stderr = v.console
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { v.waitErr = v.cmd.Wait(); close(v.exited) }()
	tb.Cleanup(func() {
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.exited
		if tb.Failed() {
			tb.Logf("console:\n%s", v.console.String())
		}
	})
	return v
}

// waitPONG polls the forwarded port until redis answers.
func (v *vm) waitPONG(tb testing.TB) time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	for {
		// Short attempts: qemu's user network accepts the connection on the
		// host at once and holds it while the guest is not yet listening,
		// so a long attempt would round the measured boot up to its length.
		pctx, pcancel := context.WithTimeout(ctx, 250*time.Millisecond)
		err := resp.Ping(pctx, v.addr)
		pcancel()
		if err == nil {
			return time.Since(v.start)
		}
		select {
		case <-v.exited:
			tb.Fatalf("qemu exited before redis answered (%v); last PING: %v", v.waitErr, err)
		case <-ctx.Done():
			tb.Fatalf("no PONG from %s within %s; last: %v", v.addr, bootTimeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to qemu and checks it is gone.
func (v *vm) stop(tb testing.TB) {
	tb.Helper()
	pid := v.cmd.Process.Pid
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
		tb.Fatalf("qemu (pid %d) still running 10s after SIGTERM", pid)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Fatalf("qemu pid %d still exists after wait: kill 0 = %v", pid, err)
	}
}

func TestBoot(t *testing.T) {
	qemu := needQemu(t)
	cache := t.TempDir()
	pvh := buildTestImage(t, cache)
	if pvh.Manifest.KernelFormat != KernelPVH {
		t.Errorf("default kernel format %q, want %q (Debian's cloud kernel is LZ4 with CONFIG_PVH)", pvh.Manifest.KernelFormat, KernelPVH)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	bz, err := Build(ctx, BuildOptions{CacheDir: cache, InitBinary: testInit(t), BzImage: true})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if bz.Digest == pvh.Digest {
		t.Error("bzImage and PVH images have one digest")
	}

	// One boot ends by redis exiting (the init powers off); the others are
	// stopped from outside, as the runner does.
	for _, tc := range []struct {
		machine  Machine
		image    *Image
		powerOff bool
	}{
		{Microvm, pvh, true},
		{PC, pvh, false},
		{Microvm, bz, false},
	} {
		im := tc.image
		name := string(tc.machine) + "/" + im.Manifest.KernelFormat
		t.Run(name, func(t *testing.T) {
			v := bootVM(t, qemu, im, tc.machine)
			took := v.waitPONG(t)
			t.Logf("%s (TCG): boot to PONG in %s", name, took.Round(10*time.Millisecond))

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := resp.Do(ctx, v.addr, "SET", "benchbook", "linux-redis"); err != nil {
				t.Fatalf("SET: %v", err)
			}
			got, err := resp.Do(ctx, v.addr, "GET", "benchbook")
			if err != nil || got != "linux-redis" {
				t.Fatalf("GET = %q, %v; want linux-redis", got, err)
			}
			if !strings.Contains(v.console.String(), guestinit.Marker) {
				t.Errorf("console has no %q line", guestinit.Marker)
			}

			if !tc.powerOff {
				v.stop(t)
				return
			}
			// SHUTDOWN closes the connection without a reply.
			_, _ = resp.Do(ctx, v.addr, "SHUTDOWN", "NOSAVE")
			select {
			case <-v.exited:
			case <-time.After(60 * time.Second):
				t.Fatal("qemu still running 60s after redis exited: the init did not power off")
			}
			if v.waitErr != nil {
				t.Errorf("qemu exited with %v after power off", v.waitErr)
			}
			console := v.console.String()
			for _, want := range []string{guestinit.StartMarker, "redis-server exited", "powering off"} {
				if !strings.Contains(console, want) {
					t.Errorf("console lacks %q", want)
				}
			}
		})
	}
}

// BenchmarkBootToPONG measures qemu's start to the first PONG, for each
// machine type and kernel format, under TCG; images are built outside the
// timer. Run it with -benchtime=5x: one boot takes seconds.
func BenchmarkBootToPONG(b *testing.B) {
	qemu := needQemu(b)
	cache := b.TempDir()
	images := map[string]*Image{}
	for _, bz := range []bool{false, true} {
		im, err := Build(context.Background(), BuildOptions{CacheDir: cache, InitBinary: testInit(b), BzImage: bz})
		if err != nil {
			b.Fatal(err)
		}
		images[im.Manifest.KernelFormat] = im
	}
	for _, m := range []Machine{Microvm, PC} {
		for _, format := range []string{KernelPVH, KernelBzImage} {
			b.Run(string(m)+"/"+format, func(b *testing.B) {
				var total time.Duration
				for b.Loop() {
					v := bootVM(b, qemu, images[format], m)
					total += v.waitPONG(b)
					b.StopTimer()
					v.stop(b)
					b.StartTimer()
				}
				b.ReportMetric(total.Seconds()/float64(b.N), "s/boot")
			})
		}
	}
}

// TestBootLinuxDynamicInit boots the linux image (fio and mkfs, no redis)
// whose /init was built the way a plain `go build` builds benchbook, with
// cgo and so dynamically linked: it must come up and say it is ready.
func TestBootLinuxDynamicInit(t *testing.T) {
	qemu := needQemu(t)
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio not installed (apt-get install fio)")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no C compiler: go build cannot make a cgo (dynamic) init here")
	}
	dyn := filepath.Join(t.TempDir(), "init")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", dyn, "./initrd/init")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (cgo): %v\n%s", err, out)
	}
	if err := isStatic(dyn); !errors.Is(err, errDynamic) {
		t.Fatalf("a cgo build of the init is not dynamic (%v): the test proves nothing", err)
	}
	im, err := Build(ctx, BuildOptions{CacheDir: t.TempDir(), InitBinary: dyn, Programs: []string{"fio"}})
	if err != nil {
		t.Fatal(err)
	}
	// fio links ceph's and gluster's libraries: ~90 MB, unpacked in RAM.
	v := bootVMWith(t, qemu, im, QemuConfig{Machine: Microvm, Memory: "1G"})
	want := guestinit.Marker
	deadline := time.Now().Add(bootTimeout)
	for !strings.Contains(v.console.String(), guestinit.ReadyMarker) {
		select {
		case <-v.exited:
			t.Fatalf("qemu exited before the init said %q (%v)", guestinit.ReadyMarker, v.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line within %s", guestinit.ReadyMarker, bootTimeout)
		}
	}
	t.Logf("linux image, dynamic init (TCG): ready in %s", time.Since(v.start).Round(10*time.Millisecond))
	if !strings.Contains(v.console.String(), want) {
		t.Errorf("console lacks %q", want)
	}
	v.stop(t)
}

// Package libvirttest starts the libvirt daemons that benchbook's tests
// (and CI, and `make setup` on machines without systemd) need.
//
// The system daemon is started inside a network namespace of its own,
// Netns: the NAT network "default" (virbr0, dnsmasq, its firewall rules)
// then lives there and not on the host, and a test's load reaches guests
// only inside a namespace the test run made. benchbook finds the namespace
// from the daemon's process (runner/guest: netnsOf), so nothing else needs
// to know.
//
// A second daemon, Remote, plays another machine: its own network
// namespace joined to the host by a veth pair, its own mount namespace
// (private /run/libvirt, /var/lib/libvirt, /etc/libvirt), listening on TCP.
package libvirttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// Socket is the system daemon's socket (Debian 12: libvirtd, no
	// virtqemud).
	Socket = "/var/run/libvirt/libvirt-sock"
	// Netns is the network namespace EnsureSystem runs libvirtd in. Its
	// name does not start with "benchbook-", which benchbook's run
	// namespaces do (and doctor removes).
	Netns = "bblibvirt"
)

// Installed reports why libvirtd cannot run here, or nil.
func Installed() error {
	for _, p := range []string{"libvirtd", "virtlogd"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s not installed (apt-get install libvirt-daemon-system, or make setup)", p)
		}
	}
	return nil
}

// answers reports whether something accepts connections on a unix socket.
func answers(sock string) bool {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// EnsureSystem makes sure a libvirtd answers on Socket. If none does, it
// starts virtlogd and libvirtd (daemonized, in Netns) and waits for the
// socket. It never stops a daemon, so it is safe to call from every test
// and from CI: the daemons stay until the machine's session ends.
func EnsureSystem(ctx context.Context) error {
	if answers(Socket) {
		return nil
	}
	if err := Installed(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("libvirtd is not running and starting it needs root")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join("/run/netns", Netns)); err != nil {
		if err := run(ctx, "ip", "netns", "add", Netns); err != nil {
			return err
		}
	}
	if err := run(ctx, "ip", "-n", Netns, "link", "set", "lo", "up"); err != nil {
		return err
	}
	if !answers("/var/run/libvirt/virtlogd-sock") {
		if err := run(ctx, "ip", "netns", "exec", Netns, "virtlogd", "-d"); err != nil {
			return err
		}
	}
	// A stale pid file of a daemon that died keeps a new one from starting.
	if pid := readPid("/run/libvirtd.pid"); pid > 0 && syscall.Kill(pid, 0) != nil {
		os.Remove("/run/libvirtd.pid")
	}
	if err := notAdopted(func() error { return run(ctx, "ip", "netns", "exec", Netns, "libvirtd", "-d") }); err != nil {
		return err
	}
	return waitFor(ctx, func() bool { return answers(Socket) }, "libvirtd socket "+Socket)
}

// Need skips tb when libvirtd is not installed, and fails it when the
// daemon cannot be started.
func Need(tb testing.TB) {
	tb.Helper()
	if err := Installed(); err != nil {
		tb.Skip(err.Error())
	}
	if err := EnsureSystem(context.Background()); err != nil {
		tb.Fatalf("libvirtd: %v", err)
	}
}

// Remote is a second libvirtd acting as another machine.
type Remote struct {
	URI  string // qemu+tcp://HOST/system
	Host string // its address, reachable from the host
	dir  string
	pid  int
	lock *os.File // held while the daemon runs: see lockRemote
}

// The second host's network: a /30 between the host and the namespace.
const (
	remoteNetns = "bblibvirt-remote"
	remoteHost  = "10.231.0.2"
	localSide   = "10.231.0.1/30"
	remoteSide  = remoteHost + "/30"
)

// StartRemote starts the second daemon. Stop ends it and removes its
// namespaces and files.
func StartRemote(ctx context.Context) (r *Remote, err error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("a second libvirtd needs root")
	}
	lock, err := lockRemote(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "bblibvirt-remote-")
	if err != nil {
		lock.Close()
		return nil, err
	}
	r = &Remote{URI: "qemu+tcp://" + remoteHost + "/system", Host: remoteHost, dir: dir, lock: lock}
	defer func() {
		if err != nil {
			r.Stop()
			r = nil
		}
	}()
	// A leftover of a run that died.
	if _, err := os.Stat(filepath.Join("/run/netns", remoteNetns)); err == nil {
		run(ctx, "ip", "netns", "delete", remoteNetns)
	}
	for _, s := range [][]string{
		{"ip", "netns", "add", remoteNetns},
		{"ip", "-n", remoteNetns, "link", "set", "lo", "up"},
		{"ip", "link", "add", "bbrv0", "type", "veth", "peer", "name", "bbrv1", "netns", remoteNetns},
		{"ip", "addr", "add", localSide, "dev", "bbrv0"},
		{"ip", "link", "set", "bbrv0", "up"},
		{"ip", "-n", remoteNetns, "addr", "add", remoteSide, "dev", "bbrv1"},
		{"ip", "-n", remoteNetns, "link", "set", "bbrv1", "up"},
	} {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return nil, err
		}
	}
	etc := filepath.Join(dir, "etc")
	if err := run(ctx, "cp", "-a", "/etc/libvirt", etc); err != nil {
		return nil, err
	}
	conf := "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"" + remoteHost + "\"\nauth_tcp = \"none\"\n"
	if err := os.WriteFile(filepath.Join(etc, "libvirtd.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// No virtlogd in the second host: qemu's output goes to a file.
	qconf, _ := os.ReadFile(filepath.Join(etc, "qemu.conf"))
	qconf = append(qconf, "\nstdio_handler = \"file\"\n"...)
	if err := os.WriteFile(filepath.Join(etc, "qemu.conf"), qconf, 0o600); err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, "libvirtd.pid")
	for _, d := range []string{"/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt"} {
		os.MkdirAll(d, 0o755)
	}
	script := strings.Join([]string{
		"set -e",
		"mount -t tmpfs -o mode=755 bbremote /run/libvirt",
		"mount -t tmpfs -o mode=755 bbremote /var/lib/libvirt",
		"mount -t tmpfs -o mode=755 bbremote /var/cache/libvirt",
		"mount --bind " + etc + " /etc/libvirt",
		"exec libvirtd -d -l -p " + pidFile,
	}, "\n")
	if err := notAdopted(func() error {
		return run(ctx, "ip", "netns", "exec", remoteNetns, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
	}); err != nil {
		return nil, err
	}
	err = waitFor(ctx, func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(remoteHost, "16509"), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, "the second libvirtd on "+remoteHost+":16509")
	r.pid = readPid(pidFile)
	return r, err
}

// NeedRemote starts the second daemon for tb (after Need), or fails tb,
// and stops it when tb ends. The start is bounded by StartRemote, after
// waiting its turn: another package's test may hold the second libvirtd.
func NeedRemote(tb testing.TB) *Remote {
	tb.Helper()
	r, err := StartRemote(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := r.Stop(); err != nil {
			tb.Errorf("stop second libvirtd: %v", err)
		}
	})
	return r
}

// Stop ends the second daemon (its guests die with it), then removes its
// network namespace, veth pair and files.
func (r *Remote) Stop() error {
	var errs []error
	if r.pid == 0 {
		r.pid = readPid(filepath.Join(r.dir, "libvirtd.pid"))
	}
	if r.pid > 0 {
		syscall.Kill(r.pid, syscall.SIGTERM)
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(r.pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(r.pid, 0) == nil {
			syscall.Kill(r.pid, syscall.SIGKILL)
			errs = append(errs, fmt.Errorf("second libvirtd (pid %d) ignored SIGTERM", r.pid))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := os.Stat(filepath.Join("/run/netns", remoteNetns)); err == nil {
		errs = append(errs, run(ctx, "ip", "netns", "delete", remoteNetns))
	}
	errs = append(errs, os.RemoveAll(r.dir))
	if r.lock != nil {
		r.lock.Close() // releases the flock
		r.lock = nil
	}
	return errors.Join(errs...)
}

// remoteLock is the file whose flock one second libvirtd holds at a time.
// There is one namespace, one veth pair and one set of mounts for it, and
// go test runs packages in parallel: the guest and runner packages' remote
// tests, started together, deleted each other's namespace as a leftover.
// The kernel drops the lock when its holder dies, so a crash blocks no one.
var remoteLock = "/run/lock/benchbook-libvirt-remote.lock"

// lockWait bounds the wait for another package's second libvirtd: a
// remote test holds it for one test, a minute or two under TCG.
const lockWait = 15 * time.Minute

func lockRemote(ctx context.Context) (*os.File, error) {
	os.MkdirAll(filepath.Dir(remoteLock), 0o755)
	f, err := os.OpenFile(remoteLock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock for the second libvirtd: %w", err)
	}
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			f.Truncate(0)
			fmt.Fprintf(f, "%d\n", os.Getpid())
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", remoteLock, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(remoteLock)
			f.Close()
			return nil, fmt.Errorf("another second libvirtd (process %s) held %s for %v: stop it (libvirtd-up -remote?) and retry", strings.TrimSpace(string(holder)), remoteLock, lockWait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", remoteLock, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func waitFor(ctx context.Context, ok func() bool, what string) error {
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// EnterableTMPDIR points TMPDIR, for tb, at a new folder other users may
// enter (mode 0755), removed at the end: libvirtd's qemu (user
// libvirt-qemu) opens the scratch files and binds the exec socket in run
// folders under TMPDIR, which t.TempDir's 0700 folders forbid. It returns
// the folder.
func EnterableTMPDIR(tb testing.TB) string {
	tb.Helper()
	tmp, err := os.MkdirTemp("", "bb-lvtest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		tb.Fatal(err)
	}
	tb.Setenv("TMPDIR", tmp)
	return tmp
}

// notAdopted runs start with this process no subreaper, so that the
// daemon start forks off goes to init, not to a test process that made
// itself a subreaper (proctest.Adopt, in the runner package's fault
// tests). Adopted, the second libvirtd and then the qemu it daemonizes
// became children of the test process that nobody waited for: libvirtd's
// connection failed ("step files: pool lookup: invalid argument") and its
// exited zombie still answered kill(pid, 0) ("ignored SIGTERM").
func notAdopted(start func() error) error {
	var was int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&was)), 0, 0, 0); err != nil || was == 0 {
		return start()
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); err != nil {
		return err
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	return start()
}

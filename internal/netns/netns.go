// Package netns makes private network namespaces for guests and their
// loads, and opens connections inside them.
//
// A namespace per run isolates what crosses the network: ports never
// collide, the host's sysctls (tcp_syncookies...) do not apply, and nothing
// on the host changes. Namespaces are named benchbook-<pid>-<n>, so leftovers
// of a crashed run can be found and removed (Leftovers, Delete).
package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace benchbook makes.
const Prefix = "benchbook-"

// Dir is where named namespaces live (ip-netns(8)).
const Dir = "/run/netns"

var counter atomic.Int64

// Available reports why private namespaces cannot be used here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("ip (iproute2) not found")
	}
	return nil
}

// Bridge is a namespace with a bridge at gateway/prefix and one tap device
// on it, ready for a qemu guest.
type Bridge struct {
	Name   string // namespace name
	Bridge string // the bridge device, holding the gateway address
	Tap    string
}

// Sysctls set inside every namespace. Under load, qemu's forwarded or
// bridged listeners see bursts of connections; with SYN cookies the kernel
// completes handshakes the server never accepts and clients stall for tens
// of seconds, so the namespace turns them off and gives the queues room.
var Sysctls = map[string]string{
	"net/ipv4/tcp_syncookies":      "0",
	"net/core/somaxconn":           "4096",
	"net/ipv4/tcp_max_syn_backlog": "4096",
}

// NewBridge creates a namespace with lo up, a bridge br0 holding gateway
// (e.g. "10.0.2.2/24") and a tap device attached to it. On error it removes
// what it made.
func NewBridge(ctx context.Context, gateway string) (b *Bridge, err error) {
	name, err := New(ctx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			Delete(context.WithoutCancel(ctx), name)
		}
	}()
	if err := AddBridge(ctx, name, "br0", gateway); err != nil {
		return nil, err
	}
	if err := AddTap(ctx, name, "tap0", "br0"); err != nil {
		return nil, err
	}
	return &Bridge{Name: name, Bridge: "br0", Tap: "tap0"}, nil
}

// New creates an empty namespace with lo up and Sysctls set, named
// benchbook-<pid>-<n>. On error it removes what it made.
func New(ctx context.Context) (name string, err error) {
	name = fmt.Sprintf("%s%d-%d", Prefix, os.Getpid(), counter.Add(1))
	if err := ip(ctx, "netns", "add", name); err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			Delete(context.WithoutCancel(ctx), name)
		}
	}()
	if err := IP(ctx, name, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	if err := Do(name, func() error {
		for k, v := range Sysctls {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				return fmt.Errorf("sysctl %s: %w", k, err)
			}
		}
		return nil
	}); err != nil {
		return "", err
	}
	return name, nil
}

// AddBridge makes a bridge holding addr (e.g. "10.0.2.2/24") in namespace
// ns. Its forward delay is 0 and STP off: a new port forwards at once, so
// a guest's boot time never includes a bridge learning.
func AddBridge(ctx context.Context, ns, dev, addr string) error {
	return ipAll(ctx, ns,
		[]string{"link", "add", dev, "type", "bridge", "forward_delay", "0", "stp_state", "0"},
		[]string{"addr", "add", addr, "dev", dev},
		[]string{"link", "set", dev, "up"})
}

// AddTap makes a tap device in namespace ns, on bridge master when it is
// not "".
func AddTap(ctx context.Context, ns, dev, master string) error {
	cmds := [][]string{{"tuntap", "add", "dev", dev, "mode", "tap"}}
	if master != "" {
		cmds = append(cmds, []string{"link", "set", dev, "master", master})
	}
	return ipAll(ctx, ns, append(cmds, []string{"link", "set", dev, "up"})...)
}

// AddVeth makes a veth pair in namespace ns, both ends up, addr (when not
// "") on the first.
func AddVeth(ctx context.Context, ns, dev, peer, addr string) error {
	cmds := [][]string{{"link", "add", dev, "type", "veth", "peer", "name", peer}}
	if addr != "" {
		cmds = append(cmds, []string{"addr", "add", addr, "dev", dev})
	}
	return ipAll(ctx, ns, append(cmds, []string{"link", "set", dev, "up"}, []string{"link", "set", peer, "up"})...)
}

// AddMacvtap makes a macvtap device in bridge mode on lower in namespace
// ns, up.
func AddMacvtap(ctx context.Context, ns, dev, lower string) error {
	return ipAll(ctx, ns,
		[]string{"link", "add", "link", lower, "name", dev, "type", "macvtap", "mode", "bridge"},
		[]string{"link", "set", dev, "up"})
}

// DelLink removes a device of namespace ns; a device (or namespace)
// already gone is no error.
func DelLink(ctx context.Context, ns, dev string) error {
	if !Exists(ns) {
		return nil
	}
	if _, err := LinkFile(ns, dev, "ifindex"); err != nil {
		return nil
	}
	return IP(ctx, ns, "link", "del", dev)
}

// LinkFile reads /sys/class/net/DEV/FILE as seen inside namespace ns
// (sysfs shows the namespace of the thread that mounted it, so it is read
// through a fresh mount in a child: `ip netns exec` does that).
func LinkFile(ns, dev, file string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "cat", filepath.Join("/sys/class/net", dev, file)).Output()
	if err != nil {
		return "", fmt.Errorf("%s of %s in %s: %w", file, dev, ns, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// IP runs `ip -n ns ARGS...`.
func IP(ctx context.Context, ns string, args ...string) error {
	return ip(ctx, append([]string{"-n", ns}, args...)...)
}

func ipAll(ctx context.Context, ns string, cmds ...[]string) error {
	for _, c := range cmds {
		if err := IP(ctx, ns, c...); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes a namespace; its devices go with it.
func Delete(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, Prefix) {
		return fmt.Errorf("refusing to delete namespace %q: not benchbook's", name)
	}
	if _, err := os.Stat(filepath.Join(Dir, name)); os.IsNotExist(err) {
		return nil
	}
	return ip(ctx, "netns", "delete", name)
}

// Exists reports whether the named namespace exists.
func Exists(name string) bool {
	_, err := os.Stat(filepath.Join(Dir, name))
	return err == nil
}

// Leftovers lists benchbook's namespaces whose process is gone.
func Leftovers() []string {
	entries, _ := os.ReadDir(Dir)
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, Prefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(n, Prefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid != os.Getpid() && unix.Kill(pid, 0) == nil {
			continue // its run is still going
		}
		out = append(out, n)
	}
	return out
}

func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Do runs f on a thread that has entered the named namespace, then puts
// the thread back into its own namespace and releases it. A thread whose
// namespace cannot be restored is thrown away instead (never unlocked), so
// no other goroutine can run in the wrong namespace.
//
// Throwing threads away on every call is not an option: a child started
// with Pdeathsig is killed when the thread that forked it ends, and the Go
// runtime may well have forked a guest from the thread Do would lock.
func Do(name string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("own namespace: %w", err)
			return
		}
		defer unix.Close(self)
		fd, err := unix.Open(filepath.Join(Dir, name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("namespace %s: %w", name, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter namespace %s: %w", name, err)
			return
		}
		err = f()
		if unix.Setns(self, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// Dial opens a TCP connection from inside the named namespace; "" dials
// from the current one. The socket stays in its namespace after the call.
func Dial(ctx context.Context, name, addr string) (net.Conn, error) {
	var d net.Dialer
	if name == "" {
		return d.DialContext(ctx, "tcp", addr)
	}
	var conn net.Conn
	err := Do(name, func() error {
		var err error
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return conn, err
}

package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"golang.org/x/sys/unix"
	"libvirt.org/go/libvirtxml"
)

// DefaultLibvirtURI is the hypervisor benchbook talks to unless the guest
// names another.
const DefaultLibvirtURI = "qemu:///system"

// LibvirtSocket is the local daemon's socket on Debian 12 (libvirtd; there
// is no virtqemud there).
const LibvirtSocket = "/var/run/libvirt/libvirt-sock"

// Bounds of libvirt calls: go-libvirt's calls take no context, so a call
// that outlives its bound closes the connection, which unblocks it (and
// destroys the connection's autodestroy domains).
const (
	dialTimeout = 10 * time.Second
	rpcTimeout  = 30 * time.Second
)

// lvConn is one connection to a libvirt daemon.
type lvConn struct {
	uri    *url.URL
	l      *libvirt.Libvirt
	remote bool
	// peerPID is the local daemon's process (unix sockets only), to find
	// the network namespace its guests live in.
	peerPID int

	mu   sync.Mutex
	conn net.Conn
}

// IsRemoteLibvirt reports whether uri names a hypervisor on another
// machine (its files are uploaded, its guests reached over the network).
func IsRemoteLibvirt(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && isRemoteURI(u)
}

// isRemoteURI tells a hypervisor on another machine from this one's.
func isRemoteURI(u *url.URL) bool {
	t := transport(u)
	return t != "unix" && u.Hostname() != ""
}

func transport(u *url.URL) string {
	if _, t, ok := strings.Cut(u.Scheme, "+"); ok {
		return t
	}
	if u.Host != "" {
		return "tls"
	}
	return "unix"
}

// connectLibvirt dials uri and opens the hypervisor connection within ctx.
func connectLibvirt(ctx context.Context, rawURI string) (*lvConn, error) {
	c, err := newLvConn(rawURI)
	if err != nil {
		return nil, err
	}
	u := c.uri
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c.l = libvirt.NewWithDialer(dialerFunc(func() (net.Conn, error) { return c.dial(dctx) }))
	err = c.do(dctx, "connect", func() error { return c.l.ConnectToURI(libvirt.RemoteURI(u)) })
	if err != nil {
		c.close()
		hint := ""
		if transport(u) == "unix" {
			hint = " (is libvirtd running? start it with `libvirtd -d`, or `make setup`)"
		}
		return nil, fmt.Errorf("libvirt %s: %w%s", u, err, hint)
	}
	return c, nil
}

// newLvConn is a connection to rawURI ("": DefaultLibvirtURI), not yet
// dialled.
func newLvConn(rawURI string) (*lvConn, error) {
	if rawURI == "" {
		rawURI = DefaultLibvirtURI
	}
	u, err := url.Parse(rawURI)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("libvirt uri %q: want e.g. qemu:///system or qemu+tcp://host/system", rawURI)
	}
	return &lvConn{uri: u, remote: isRemoteURI(u)}, nil
}

type dialerFunc func() (net.Conn, error)

func (f dialerFunc) Dial() (net.Conn, error) { return f() }

// dial opens the transport with ctx; it keeps the net.Conn so a call that
// overruns its bound can close it.
func (c *lvConn) dial(ctx context.Context) (net.Conn, error) {
	u := c.uri
	var conn net.Conn
	var err error
	switch t := transport(u); t {
	case "unix":
		sock := u.Query().Get("socket")
		if sock == "" {
			sock = LibvirtSocket
		}
		var d net.Dialer
		conn, err = d.DialContext(ctx, "unix", sock)
		if err == nil {
			c.peerPID = peerPID(conn)
		}
	case "tcp":
		port := u.Port()
		if port == "" {
			port = "16509"
		}
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	case "ssh", "libssh", "libssh2", "tls":
		conn, err = dialOther(ctx, u, t)
	default:
		return nil, fmt.Errorf("unsupported libvirt transport %q (want unix, tcp, ssh or tls)", t)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	return conn, nil
}

// dialOther uses go-libvirt's dialers, which take no context: the dial
// runs aside and is abandoned (its connection closed) when ctx ends first.
func dialOther(ctx context.Context, u *url.URL, t string) (net.Conn, error) {
	var d interface{ Dial() (net.Conn, error) }
	switch t {
	case "tls":
		var opts []dialers.TLSOption
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseTLSPort(p))
		}
		if p := u.Query().Get("pkipath"); p != "" {
			opts = append(opts, dialers.UsePKIPath(p))
		}
		d = dialers.NewTLS(u.Hostname(), opts...)
	default:
		me, err := user.Current()
		if err != nil {
			return nil, err
		}
		opts := []dialers.SSHOption{dialers.WithSystemSSHDefaults(me)}
		if u.User != nil {
			opts = append(opts, dialers.UseSSHUsername(u.User.Username()))
		}
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseSSHPort(p))
		}
		if k := u.Query().Get("keyfile"); k != "" {
			opts = append(opts, dialers.UseKeyFile(k))
		}
		if s := u.Query().Get("socket"); s != "" {
			opts = append(opts, dialers.WithRemoteSocket(s))
		}
		d = dialers.NewSSH(u.Hostname(), opts...)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := d.Dial()
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// do runs one libvirt call, bounded by ctx and rpcTimeout.
func (c *lvConn) do(ctx context.Context, what string, f func() error) error {
	return c.doFor(ctx, rpcTimeout, what, f)
}

func (c *lvConn) doFor(ctx context.Context, bound time.Duration, what string, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		c.closeTransport()
		<-done
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

func (c *lvConn) closeTransport() {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// close ends the connection politely, within a bound.
func (c *lvConn) close() error {
	if c == nil || c.l == nil {
		return nil
	}
	if !c.l.IsConnected() {
		c.closeTransport()
		return nil
	}
	err := c.do(context.Background(), "disconnect", c.l.Disconnect)
	c.closeTransport()
	if errors.Is(err, syscall.EINVAL) {
		return nil
	}
	return err
}

// versions are the daemon's libvirt and hypervisor versions.
func (c *lvConn) versions(ctx context.Context) (lib, hv string) {
	var l, h uint64
	if c.do(ctx, "version", func() (err error) { l, err = c.l.ConnectGetLibVersion(); return }) == nil {
		lib = versionString(l)
	}
	if c.do(ctx, "hypervisor version", func() (err error) { h, err = c.l.ConnectGetVersion(); return }) == nil && h > 0 {
		hv = versionString(h)
	}
	return lib, hv
}

// hostUUID is the hypervisor machine's UUID, as libvirtd reports it (the
// <host><uuid> of its capabilities: the SMBIOS system UUID, or what
// host_uuid in libvirtd.conf sets), or "".
func (c *lvConn) hostUUID(ctx context.Context) string {
	var x string
	if c.do(ctx, "capabilities", func() (err error) { x, err = c.l.ConnectGetCapabilities(); return }) != nil {
		return ""
	}
	var caps libvirtxml.Caps
	if caps.Unmarshal(x) != nil {
		return ""
	}
	return caps.Host.UUID
}

// versionString turns libvirt's major*1e6+minor*1e3+micro into "9.0.0".
func versionString(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// peerPID is the process at the other end of a unix socket, or 0.
func peerPID(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// netnsOf names the network namespace process pid lives in: "" when it is
// this process's own, else the name under /run/netns bound to it. A local
// libvirtd started inside a namespace (as benchbook's CI does, so virbr0,
// dnsmasq and NAT rules stay off the host) puts its guests there, and the
// load must run there too.
func netnsOf(pid int) (string, error) {
	if pid <= 0 {
		return "", nil
	}
	theirs, err := nsID(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return "", nil // not ours to see: assume the host's
	}
	// thread-self: /proc/self is the main thread, which netns.Do may have
	// left in another namespace for good.
	ours, err := nsID("/proc/thread-self/ns/net")
	if err != nil || ours == theirs {
		return "", nil
	}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if id, err := nsID(filepath.Join("/run/netns", e.Name())); err == nil && id == theirs {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("libvirtd (pid %d) runs in a network namespace with no name under /run/netns; start it with `ip netns exec NAME libvirtd -d`", pid)
}

type nsKey struct{ dev, ino uint64 }

func nsID(path string) (nsKey, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsKey{}, err
	}
	return nsKey{uint64(st.Dev), st.Ino}, nil
}

// lvErrCode is libvirt's error number in err, or -1.
func lvErrCode(err error) int {
	var e libvirt.Error
	if errors.As(err, &e) {
		return int(e.Code)
	}
	return -1
}

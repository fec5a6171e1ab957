package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// LibvirtConfig is one libvirt guest.
type LibvirtConfig struct {
	Name   string // the notebook's guest name
	Domain string // the domain's name: DomainName(notebook, cell, guest, n)
	URI    string // default DefaultLibvirtURI
	Boot   Boot   // the flavor's description, as for qemu
	Accel  string // tcg (domain type "qemu") or kvm, already decided
	Net    LibvirtNet
	// ConsolePath is benchbook's bounded copy of the serial console, read
	// through libvirt (so it works for remote hypervisors too).
	ConsolePath  string
	ReadyTimeout time.Duration
}

// Libvirt is a guest booted by a libvirt daemon as a transient domain. The
// domain is created with autodestroy: if benchbook dies, its connection
// drops and libvirtd destroys the domain.
type Libvirt struct {
	cfg LibvirtConfig

	mu      sync.Mutex
	started bool
	stopped bool
	conn    *lvConn
	dom     libvirt.Domain
	created bool
	// maybeCreated: the create call was cut short; the domain may exist.
	maybeCreated bool
	xml          string
	netns        string
	network      *lvNetwork
	log          *Log
	watch        *lineWatch
	exited       chan struct{}
	conDone      chan struct{} // closed when the console stream ended
	conErr       error
	bootMs       float64
	facts        factSet

	stageDir string
	volumes  []libvirt.StorageVol
}

var _ Guest = (*Libvirt)(nil)

// DomainName is the name of a benchbook domain: benchbook-<notebook>-
// <cell>-<guest>-<n>, with anything but letters, digits, '-' and '_'
// replaced, so doctor --clean finds leftovers by the prefix.
func DomainName(notebook, cell, guest string, n int) string {
	return "benchbook-" + sanitizeName(notebook) + "-" + sanitizeName(cell) + "-" + sanitizeName(guest) + "-" + strconv.Itoa(n)
}

// DomainPrefix starts every domain benchbook makes.
const DomainPrefix = "benchbook-"

// NewLibvirt checks the configuration and that the guest's files exist on
// this machine (benchbook copies or uploads them); a missing one wraps
// ErrUnavailable. It does not contact libvirt: Start does.
func NewLibvirt(cfg LibvirtConfig) (*Libvirt, error) {
	if !strings.HasPrefix(cfg.Domain, DomainPrefix) {
		return nil, fmt.Errorf("guest %s: domain name %q must start with %q", cfg.Name, cfg.Domain, DomainPrefix)
	}
	if cfg.URI == "" {
		cfg.URI = DefaultLibvirtURI
	}
	b := cfg.Boot
	for _, f := range append([]string{b.Kernel, b.Initrd}, diskPaths(b.Disks)...) {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("guest %s: %w: %s is missing (see docs/guests/%s.md)", cfg.Name, ErrUnavailable, f, b.Flavor)
		}
	}
	switch cfg.Net.Mode {
	case "network", "bridge", "user":
	default:
		return nil, fmt.Errorf("guest %s: network mode %q: want network, bridge or user", cfg.Name, cfg.Net.Mode)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Minute
	}
	if cfg.Accel == "" {
		cfg.Accel = "tcg"
	}
	return &Libvirt{cfg: cfg, exited: make(chan struct{}), conDone: make(chan struct{})}, nil
}

// Start connects to libvirt, creates the domain paused, attaches to its
// console, resumes it, and waits for the ready line and a PONG. Every
// failure (and a cancelled ctx) destroys what was made.
func (g *Libvirt) Start(ctx context.Context) (ep Endpoint, err error) {
	g.mu.Lock()
	if g.started {
		g.mu.Unlock()
		return Endpoint{}, fmt.Errorf("guest %s: started twice", g.cfg.Name)
	}
	g.started = true
	g.mu.Unlock()
	defer func() {
		if err != nil {
			g.Stop(context.WithoutCancel(ctx))
			if ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}()
	fail := func(err error) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("guest %s: %w", g.cfg.Name, err)
	}
	conn, err := connectLibvirt(ctx, g.cfg.URI)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Endpoint{}, err
		}
		return fail(fmt.Errorf("%w: %v", ErrUnavailable, err))
	}
	g.mu.Lock()
	g.conn = conn
	g.mu.Unlock()
	lib, hv := conn.versions(ctx)
	g.setFact("libvirt_version", lib)
	g.setFact("qemu_version", hv)
	if !conn.remote {
		if g.netns, err = netnsOf(conn.peerPID); err != nil {
			return fail(err)
		}
	}

	b := g.cfg.Boot
	if err := g.stageFiles(ctx, &b); err != nil {
		return fail(err)
	}
	mac := newMAC()
	var ip netip.Addr
	switch g.cfg.Net.Mode {
	case "network":
		n, addr, err := g.prepareNetwork(ctx, &b, mac)
		if err != nil {
			return fail(err)
		}
		g.mu.Lock()
		g.network = n
		g.mu.Unlock()
		ip = addr
		if n.started {
			g.setFact("network_note", "benchbook started libvirt network "+g.cfg.Net.Name+" (it stays up)")
		}
	case "bridge":
		if staticAddress(b) {
			ip = netip.MustParseAddr(GuestIP)
		}
	case "user":
		if g.cfg.Net.HostPort == 0 {
			if conn.remote {
				g.cfg.Net.HostPort = remotePort()
			} else if g.cfg.Net.HostPort, err = FreePort(); err != nil {
				return fail(err)
			}
		}
	}

	if g.cfg.ConsolePath != "" {
		l, err := NewLog(g.cfg.ConsolePath)
		if err != nil {
			return fail(err)
		}
		g.mu.Lock()
		g.log = l
		g.mu.Unlock()
	}
	g.watch = newLineWatch(b.ReadyLine)

	begin := time.Now()
	if err := g.create(ctx, b, mac); err != nil {
		return fail(err)
	}
	go g.console()
	// The console must be attached before the guest prints: qemu drops
	// what a pty nobody has opened receives. A round trip and a moment
	// let libvirtd's workers handle the open before the resume.
	conn.do(ctx, "domain state", func() error { _, _, err := conn.l.DomainGetState(g.dom, 0); return err })
	time.Sleep(50 * time.Millisecond)
	if err := conn.do(ctx, "resume", func() error { return conn.l.DomainResume(g.dom) }); err != nil {
		return fail(err)
	}

	rctx, cancel := context.WithTimeout(ctx, g.cfg.ReadyTimeout)
	defer cancel()
	if b.ReadyLine != nil {
		select {
		case <-g.watch.ready:
		case <-g.exited:
			select {
			case <-g.watch.ready:
			default:
				return fail(fmt.Errorf("the domain ended before redis was ready (%s)%s", g.endReason(), g.LogTail()))
			}
		case <-rctx.Done():
			if ctx.Err() != nil {
				return Endpoint{}, ctx.Err()
			}
			return fail(fmt.Errorf("%w: the console never said redis is ready within %s (accel %s)%s", ErrNotReady, g.cfg.ReadyTimeout, g.cfg.Accel, g.LogTail()))
		}
	}
	if g.cfg.Net.Mode != "user" && !ip.IsValid() {
		if ip, err = g.guestAddr(rctx, g.network, mac); err != nil {
			return fail(err)
		}
	}
	ep = g.endpoint(ip)
	left := g.cfg.ReadyTimeout - time.Since(begin)
	if err := waitReadyDial(ctx, ep, max(left, 5*time.Second), g.exited); err != nil {
		hint := ""
		if conn.remote && g.cfg.Net.Mode == "network" {
			hint = "\n(a remote hypervisor's NAT network is not reachable from this machine: use bridge:NAME or user)"
		}
		return fail(fmt.Errorf("%w%s%s", err, hint, g.LogTail()))
	}
	g.mu.Lock()
	g.bootMs = float64(time.Since(begin).Microseconds()) / 1000
	g.mu.Unlock()
	g.setFact("guest_addr", ep.Addr)
	if info, err := infoVia(ctx, ep); err == nil {
		g.setFact("redis_version", info["redis_version"])
	}
	return ep, nil
}

// create defines and starts the transient domain, paused. A clash of the
// user-mode port forward is retried on another port.
func (g *Libvirt) create(ctx context.Context, b Boot, mac string) error {
	host, _ := os.Hostname()
	for try := 0; ; try++ {
		d, err := DomainXML(b, DomainOptions{
			Name: g.cfg.Domain, Accel: g.cfg.Accel, Net: g.cfg.Net, MAC: mac,
			Owner: fmt.Sprintf("%d@%s", os.Getpid(), host),
		})
		if err != nil {
			return err
		}
		x, err := marshalDomain(d)
		if err != nil {
			return err
		}
		g.mu.Lock()
		g.xml = x
		g.mu.Unlock()
		var dom libvirt.Domain
		err = g.conn.do(ctx, "create domain", func() (err error) {
			dom, err = g.conn.l.DomainCreateXML(x, libvirt.DomainStartPaused|libvirt.DomainStartAutodestroy)
			return
		})
		if err == nil {
			g.mu.Lock()
			g.dom, g.created = dom, true
			g.mu.Unlock()
			return nil
		}
		if !isLibvirtError(err) {
			g.mu.Lock()
			g.maybeCreated = true
			g.mu.Unlock()
			return err
		}
		if lvErrCode(err) == int(libvirt.ErrDomExist) || strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("%w (a benchbook run still going, or a leftover: benchbook doctor --clean)", err)
		}
		if g.cfg.Net.Mode == "user" && try < 3 && strings.Contains(err.Error(), "host forwarding") {
			// Another program took the port (on a remote host benchbook
			// cannot check beforehand).
			if g.conn.remote {
				g.cfg.Net.HostPort = remotePort()
			} else if g.cfg.Net.HostPort, err = FreePort(); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// console copies the serial console into the log until the domain ends.
func (g *Libvirt) console() {
	var w io.Writer = g.watch
	if g.log != nil {
		w = io.MultiWriter(g.log, g.watch)
	}
	err := g.conn.l.DomainOpenConsole(g.dom, nil, w, uint32(libvirt.DomainConsoleForce))
	g.mu.Lock()
	g.conErr = err
	g.mu.Unlock()
	close(g.conDone)
	close(g.exited)
}

func (g *Libvirt) endReason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conErr != nil {
		return "console: " + g.conErr.Error()
	}
	return "its console closed"
}

// endpoint is where the guest's redis answers, seen from here.
func (g *Libvirt) endpoint(ip netip.Addr) Endpoint {
	port := strconv.Itoa(g.cfg.Boot.GuestPort)
	if g.cfg.Net.Mode == "user" {
		host := g.cfg.Net.HostAddr
		if g.conn.remote {
			host = hostOf(g.cfg.URI)
		} else if host == "" {
			host = "127.0.0.1"
		}
		return Endpoint{Addr: net.JoinHostPort(host, strconv.Itoa(g.cfg.Net.HostPort)), Netns: g.netns}
	}
	return Endpoint{Addr: net.JoinHostPort(ip.String(), port), Netns: g.netns}
}

// Stop destroys the domain and undoes the rest: the DHCP reservation, the
// copies or uploaded volumes, the console log and the connection. If the
// connection was lost (libvirtd then destroyed the domain already), it
// reconnects to make sure. Safe to call more than once.
func (g *Libvirt) Stop(ctx context.Context) error {
	g.mu.Lock()
	if g.stopped || !g.started {
		g.stopped = true
		g.mu.Unlock()
		return nil
	}
	g.stopped = true
	c, created, maybe := g.conn, g.created, g.maybeCreated
	g.mu.Unlock()

	var errs []error
	needConn := created || (g.network != nil && g.network.reserved != "") || len(g.volumes) > 0
	if created || maybe {
		// A connection that was closed (a call overran, or Start was
		// cancelled) has its domain destroyed by libvirtd, soon: reconnect
		// and make sure, so Stop returns only once the domain is gone.
		err := g.destroy(ctx, c, g.cfg.Domain)
		if err != nil && !isLibvirtError(err) {
			c.close()
			c, err = connectLibvirt(ctx, g.cfg.URI)
			if err == nil {
				err = g.destroy(ctx, c, g.cfg.Domain)
			} else {
				c = nil
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	} else if needConn && c != nil && !c.l.IsConnected() {
		c.close()
		var err error
		if c, err = connectLibvirt(ctx, g.cfg.URI); err != nil {
			c = nil
			errs = append(errs, fmt.Errorf("reconnect to clean up: %w", err))
		}
	}
	if created {
		// The console ends with the domain; wait for its last bytes.
		select {
		case <-g.conDone:
		case <-time.After(5 * time.Second):
			g.conn.closeTransport()
			<-g.conDone
		}
	}
	if c != nil {
		errs = append(errs, g.releaseNetwork(ctx, c, g.network))
	}
	errs = append(errs, g.unstageFiles(ctx, c))
	if g.log != nil {
		errs = append(errs, g.log.Close())
	}
	if c != nil {
		c.close()
	}
	if g.conn != nil && c != g.conn {
		g.conn.close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("guest %s: stop: %w", g.cfg.Name, err)
	}
	return nil
}

// destroy destroys the domain called name and waits until libvirt no
// longer knows it. By name: a create that was cut short may have made the
// domain without benchbook learning its UUID.
func (g *Libvirt) destroy(ctx context.Context, c *lvConn, name string) error {
	if c == nil || !c.l.IsConnected() {
		return errors.New("not connected")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var dom libvirt.Domain
		err := c.do(ctx, "lookup", func() (err error) { dom, err = c.l.DomainLookupByName(name); return })
		if libvirt.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		err = c.do(ctx, "destroy", func() error { return c.l.DomainDestroy(dom) })
		if err != nil && !libvirt.IsNotFound(err) && lvErrCode(err) != int(libvirt.ErrOperationInvalid) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("domain %s still exists 10s after destroy", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isLibvirtError tells an error libvirtd answered from a broken connection.
func isLibvirtError(err error) bool { return lvErrCode(err) >= 0 }

// Exited is closed when the domain has ended (its console closed).
func (g *Libvirt) Exited() <-chan struct{} { return g.exited }

// LogTail is the end of the console, for error messages.
func (g *Libvirt) LogTail() string {
	g.mu.Lock()
	l := g.log
	g.mu.Unlock()
	if l == nil {
		return ""
	}
	t := strings.TrimSpace(strings.ReplaceAll(l.Tail(2048), "\r", ""))
	if t == "" {
		return "\n(the guest printed nothing)"
	}
	return "\nlast lines of " + g.cfg.ConsolePath + ":\n" + indent(lastLines(t, 15))
}

// BootMs is the time from asking libvirt for the domain to the first PONG.
func (g *Libvirt) BootMs() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bootMs
}

// DomainXML is the domain's XML as sent to libvirt ("" before Start).
func (g *Libvirt) DomainXML() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.xml
}

func (g *Libvirt) setFact(k, v string) { g.facts.set(k, v) }

// Facts describe the guest: libvirt_version and qemu_version are the
// daemon's (the hypervisor's machine, for remote URIs).
func (g *Libvirt) Facts() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{
		"kind":    "libvirt",
		"uri":     g.cfg.URI,
		"domain":  g.cfg.Domain,
		"flavor":  g.cfg.Boot.Flavor,
		"accel":   g.cfg.Accel,
		"machine": g.cfg.Boot.Machine,
		"memory":  g.cfg.Boot.Memory,
		"cpus":    strconv.Itoa(max(g.cfg.Boot.CPUs, 1)),
		"network": g.cfg.Net.String(),
	}
	if g.netns != "" {
		out["network"] += " (libvirtd runs in network namespace " + g.netns + ")"
	}
	g.facts.addTo(out)
	return out
}

// lineWatch closes ready when a console line matches re.
type lineWatch struct {
	re    *regexp.Regexp
	mu    sync.Mutex
	buf   []byte
	ready chan struct{}
	once  sync.Once
}

func newLineWatch(re *regexp.Regexp) *lineWatch {
	return &lineWatch{re: re, ready: make(chan struct{})}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	if w.re == nil {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if w.re.Match(w.buf[:i]) {
			w.once.Do(func() { close(w.ready) })
		}
		w.buf = w.buf[i+1:]
	}
	// A line without end (a boot banner drawing) cannot grow forever.
	if len(w.buf) > 64<<10 {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-4<<10:]...)
	}
	return len(p), nil
}

package guest

import (
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
	"time"

	"github.com/digitalocean/go-libvirt"
)

// Start connects to libvirt, stages the guest's files, joins its network,
// creates the domain paused, attaches to its console, resumes it, and
// waits for it to pass its ready check: for redis, the flavor's ready line
// and a PONG. A failed step (or a cancel) undoes the ones before it.
func (g *Libvirt) Start(ctx context.Context) (Endpoint, error) {
	if err := g.life.start(ctx, g.steps()); err != nil {
		return Endpoint{}, err
	}
	g.ep = g.endpoint(g.ip) // with the exec port, once dialled
	if g.cfg.Ready.check() == ReadyNone {
		g.booted()
	}
	g.setFact("guest_addr", g.ep.Addr)
	return g.ep, nil
}

// steps are the guest's start, in order.
func (g *Libvirt) steps() []step {
	s := []step{
		{"connect", g.connect},
		{"files", func(ctx context.Context) error { return g.stageFiles(ctx, &g.boot) }},
	}
	if len(g.boot.Scratch) > 0 || g.boot.Exec {
		s = append(s, step{"run-dir", g.makeRunDir})
	}
	if len(g.boot.Scratch) > 0 {
		s = append(s, step{"scratch", g.scratch})
	}
	switch {
	case g.cfg.Net.Mode == "network":
		s = append(s, step{"network", g.joinNetwork})
	case g.cfg.Net.Mode == "user" && g.cfg.Net.HostPort == 0:
		s = append(s, step{"port", g.pickPort})
	}
	if g.cfg.ConsolePath != "" {
		s = append(s, step{"console-log", g.openLog})
	}
	s = append(s,
		step{"domain", g.create},
		step{"console", g.attachConsole},
		step{"resume", g.resume},
	)
	if g.consoleLine() != nil {
		s = append(s, step{"ready-line", g.readyLine})
	}
	if g.cfg.Net.Mode != "user" {
		s = append(s, step{"address", g.address})
	}
	switch r := g.cfg.Ready; r.check() {
	case ReadyRedis:
		s = append(s, step{"ping", g.ping}, step{"info", g.info})
	case ReadyTCP, ReadyHTTP:
		s = append(s, step{r.check(), g.ping})
	}
	if g.boot.Exec {
		s = append(s, step{"exec-port", g.execPort})
	}
	if len(g.boot.Scratch) > 0 && g.cfg.ConsolePath != "" {
		s = append(s, step{"scratch-facts", g.scratchFacts})
	}
	return s
}

// consoleLine is the line the console must print: the flavor's for redis,
// the notebook's for log.
func (g *Libvirt) consoleLine() *regexp.Regexp { return g.cfg.Ready.consoleLine(g.cfg.Boot.ReadyLine) }

// booted records the boot time: the guest is ready now.
func (g *Libvirt) booted() {
	g.mu.Lock()
	g.bootMs = float64(time.Since(g.begin).Microseconds()) / 1000
	g.mu.Unlock()
}

// connect opens the connection every later step and undo uses, and learns
// the daemon's versions and the network namespace its guests live in.
func (g *Libvirt) connect(ctx context.Context) error {
	c, err := connectLibvirt(ctx, g.cfg.URI)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	g.mu.Lock()
	g.conn = c
	g.mu.Unlock()
	g.life.push(g.closeConn)
	lib, hv := c.versions(ctx)
	g.setFact("libvirt_version", lib)
	g.setFact("qemu_version", hv)
	g.setFact("hypervisor_uuid", c.hostUUID(ctx))
	if c.remote {
		return nil
	}
	ns, err := netnsOf(c.peerPID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.netns = ns
	g.mu.Unlock()
	return nil
}

// joinNetwork starts the libvirt network if need be and, for a static
// flavor, reserves the guest an address in it (undone by Stop). A directly
// booted OSv gets its address on its command line, moved there as for the
// other static flavors.
func (g *Libvirt) joinNetwork(ctx context.Context) error {
	if g.boot.Flavor == "osv" && g.boot.Kernel != "" {
		g.boot = staticOSv(g.boot)
	}
	n, ip, err := g.prepareNetwork(ctx, &g.boot, g.mac)
	if err != nil {
		return err
	}
	g.network, g.ip = n, ip
	if n.reserved != "" {
		g.life.push(func(ctx context.Context) error { return g.releaseReservation(ctx, n) })
	}
	if n.started {
		g.setFact("network_note", "benchbook started libvirt network "+g.cfg.Net.Name+" (it stays up)")
	}
	return nil
}

// pickPort chooses the port user networking forwards: a free one here, a
// random one on a remote hypervisor (which this machine cannot check).
func (g *Libvirt) pickPort(context.Context) error {
	port := remotePort()
	if !g.conn.remote {
		var err error
		if port, err = FreePort(); err != nil {
			return err
		}
	}
	g.mu.Lock()
	g.cfg.Net.HostPort = port
	g.mu.Unlock()
	return nil
}

// openLog opens benchbook's copy of the console; Stop closes it.
func (g *Libvirt) openLog(context.Context) error {
	l, err := NewLog(g.cfg.ConsolePath)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.log = l
	g.mu.Unlock()
	g.life.push(func(context.Context) error { return l.Close() })
	return nil
}

// create defines and starts the transient domain, paused; its undo
// destroys it. A clash of the user-mode port forward is retried on
// another port.
func (g *Libvirt) create(ctx context.Context) error {
	g.begin = time.Now()
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%d@%s", os.Getpid(), host)
	for try := 0; ; try++ {
		err := g.createOnce(ctx, owner)
		if err == nil || !isLibvirtError(err) {
			return err
		}
		if strings.Contains(err.Error(), "Permission denied") && !g.conn.remote {
			return fmt.Errorf("%w%s", err, closedFolderHint(g.boot.Kernel, g.runDir))
		}
		if lvErrCode(err) == int(libvirt.ErrDomExist) || strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("%w (a benchbook run still going, or a leftover: benchbook doctor --clean)", err)
		}
		if g.cfg.Net.Mode != "user" || try >= 3 || !strings.Contains(err.Error(), "host forwarding") {
			return err
		}
		// Another program took the port (on a remote hypervisor benchbook
		// cannot check beforehand).
		if err := g.pickPort(ctx); err != nil {
			return err
		}
	}
}

// createOnce asks libvirt for the domain once. Its undo is pushed when the
// domain exists, and when the call was cut short (the connection closed
// under it): the domain may exist then.
func (g *Libvirt) createOnce(ctx context.Context, owner string) error {
	g.mu.Lock()
	opts := DomainOptions{Name: g.cfg.Domain, Accel: g.cfg.Accel, Net: g.cfg.Net, MAC: g.mac, Owner: owner, CPUs: g.cfg.CPUs}
	g.mu.Unlock()
	if g.boot.Exec && !g.conn.remote {
		opts.ExecSocket = execSocket(g.runDir)
	}
	d, err := DomainXML(g.boot, opts)
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
	c := g.conn
	err = c.do(ctx, "create domain", func() (err error) {
		g.dom, err = c.l.DomainCreateXML(x, libvirt.DomainStartPaused|libvirt.DomainStartAutodestroy)
		return
	})
	if err == nil || !isLibvirtError(err) {
		g.life.push(g.destroyDomain)
	}
	return err
}

// attachConsole copies the serial console into the log until the domain
// ends. It must be attached before the guest prints: qemu drops what a pty
// nobody has opened receives. A round trip and a moment let libvirtd's
// workers handle the open before the resume.
func (g *Libvirt) attachConsole(ctx context.Context) error {
	c := g.conn
	g.watch = newLineWatch(g.consoleLine())
	g.mu.Lock()
	g.conConn = c
	g.mu.Unlock()
	go g.console(c)
	c.do(ctx, "domain state", func() error { _, _, err := c.l.DomainGetState(g.dom, 0); return err })
	time.Sleep(50 * time.Millisecond)
	return nil
}

// console streams the console until the domain ends.
func (g *Libvirt) console(c *lvConn) {
	var w io.Writer = g.watch
	g.mu.Lock()
	if g.log != nil {
		w = io.MultiWriter(g.log, g.watch)
	}
	g.mu.Unlock()
	err := c.l.DomainOpenConsole(g.dom, nil, w, uint32(libvirt.DomainConsoleForce))
	g.mu.Lock()
	g.conErr = err
	g.mu.Unlock()
	close(g.conDone)
	close(g.exited)
}

// resume lets the guest run; the ready timeout starts now.
func (g *Libvirt) resume(ctx context.Context) error {
	c := g.conn
	if err := c.do(ctx, "resume", func() error { return c.l.DomainResume(g.dom) }); err != nil {
		return err
	}
	g.readyBy = time.Now().Add(g.cfg.ReadyTimeout)
	return nil
}

// readyLine waits for the console line: the flavor's for redis (then a
// PONG follows), the notebook's for log (then the guest is ready).
func (g *Libvirt) readyLine(ctx context.Context) error {
	what, never := "redis was ready", "never said redis is ready"
	if r := g.cfg.Ready; r.check() == ReadyLog {
		what, never = r.wanted(), fmt.Sprintf("printed no line matching %q", r.Line)
	}
	rctx, cancel := context.WithDeadline(ctx, g.readyBy)
	defer cancel()
	select {
	case <-g.watch.ready:
	case <-g.exited:
		select {
		case <-g.watch.ready:
		default:
			return fmt.Errorf("the domain ended before %s (%s)%s", what, g.endReason(), g.LogTail())
		}
	case <-rctx.Done():
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: the console %s within %s (accel %s)%s", ErrNotReady, never, g.cfg.ReadyTimeout, g.cfg.Accel, g.LogTail())
	}
	if g.cfg.Ready.check() == ReadyLog {
		g.booted()
	}
	return nil
}

func (g *Libvirt) endReason() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conErr != nil {
		return "console: " + g.conErr.Error()
	}
	return "its console closed"
}

// address learns where a guest on a network or bridge answers: from its
// command line for static flavors, else from DHCP.
func (g *Libvirt) address(ctx context.Context) error {
	switch {
	case g.ip.IsValid():
		return nil
	case (g.cfg.Net.Mode == "bridge" || g.cfg.Net.Mode == "direct") && staticAddress(g.boot):
		g.ip = netip.MustParseAddr(GuestIP)
		return nil
	}
	rctx, cancel := context.WithDeadline(ctx, g.readyBy)
	defer cancel()
	ip, err := g.guestAddr(rctx, g.network, g.mac)
	if err != nil {
		return err
	}
	g.ip = ip
	return nil
}

// ping waits for the ready check to pass (a PONG, a connection, a 2xx)
// within what is left of the ready timeout (at least 5 s), and records the
// boot time.
func (g *Libvirt) ping(ctx context.Context) error {
	g.ep = g.endpoint(g.ip)
	left := g.cfg.ReadyTimeout - time.Since(g.begin)
	if err := g.cfg.Ready.waitPoll(ctx, g.ep, max(left, 5*time.Second), g.exited); err != nil {
		hint := ""
		if g.conn.remote && g.cfg.Net.Mode == "network" {
			hint = "\n(a remote hypervisor's NAT network is not reachable from this machine: use bridge:NAME or user)"
		}
		return fmt.Errorf("%w%s%s", err, hint, g.LogTail())
	}
	g.booted()
	return nil
}

// info records the server's version.
func (g *Libvirt) info(ctx context.Context) error {
	if info, err := infoVia(ctx, g.ep); err == nil {
		g.setFact("redis_version", info["redis_version"])
	}
	return nil
}

// endpoint is where the guest's redis answers, seen from here.
func (g *Libvirt) endpoint(ip netip.Addr) Endpoint {
	g.mu.Lock()
	defer g.mu.Unlock()
	port := strconv.Itoa(g.cfg.Boot.GuestPort)
	if g.cfg.Net.Mode == "user" {
		host := g.cfg.Net.HostAddr
		if g.conn.remote {
			host = hostOf(g.cfg.URI)
		} else if host == "" {
			host = "127.0.0.1"
		}
		return g.withExec(Endpoint{Addr: net.JoinHostPort(host, strconv.Itoa(g.cfg.Net.HostPort)), Netns: g.netns})
	}
	return g.withExec(Endpoint{Addr: net.JoinHostPort(ip.String(), port), Netns: g.netns})
}

// withExec adds the exec port, once dialled, and where the server answers
// inside the guest (its loopback), as Qemu.endpoint does; under g.mu.
func (g *Libvirt) withExec(ep Endpoint) Endpoint {
	if g.exec != nil {
		ep.Exec = g.exec
		ep.Inside = net.JoinHostPort("127.0.0.1", strconv.Itoa(g.cfg.Boot.GuestPort))
	}
	return ep
}

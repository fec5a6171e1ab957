package guest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// macPrefix starts the MAC address of every NIC benchbook gives a libvirt
// guest (qemu's OUI and a byte of benchbook's), so doctor --clean can tell
// its DHCP reservations from others.
const macPrefix = "52:54:00:bb:"

func newMAC() string {
	var b [2]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s%02x:%02x", macPrefix, b[0], b[1])
}

// staticAddress reports whether the flavor gives the guest its address on
// the kernel command line (benchbook's plan: GuestIP via GatewayIP), as
// the Linux micro-VM, rumprun and OSv's direct boot do; the others take it
// from DHCP.
func staticAddress(b Boot) bool { return strings.Contains(b.Append, GuestIP) }

// readdress moves a static flavor's command line from benchbook's address
// plan to ip/prefix via gw, for a libvirt network with its own subnet.
func readdress(b Boot, ip, gw netip.Addr, prefix int) Boot {
	mask := net.IP(net.CIDRMask(prefix, 32)).String()
	r := strings.NewReplacer(
		fmt.Sprintf("%s/%d", GuestIP, PrefixLen), fmt.Sprintf("%s/%d", ip, prefix),
		GuestIP, ip.String(),
		GatewayIP, gw.String(),
		"255.255.255.0", mask, // OSv's --ip=eth0,ADDR,MASK, ip= of Linux
		fmt.Sprintf(`"mask":"%d"`, PrefixLen), fmt.Sprintf(`"mask":"%d"`, prefix), // rumprun
	)
	b.Append = r.Replace(b.Append)
	return b
}

// lvNetwork is a libvirt network a guest is attached to, and what
// benchbook changed in it.
type lvNetwork struct {
	net      libvirt.Network
	started  bool   // benchbook started it (it stays up: others may use it)
	reserved string // the <host> benchbook added to its DHCP, removed by Stop
}

// prepareNetwork starts the named network if needed (virsh net-start) and,
// for a static flavor, picks a free address in its subnet, reserves it in
// the network's DHCP for the guest's MAC and moves the command line to it.
func (g *Libvirt) prepareNetwork(ctx context.Context, b *Boot, mac string) (*lvNetwork, netip.Addr, error) {
	n, nx, err := g.startNetwork(ctx)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	if !staticAddress(*b) {
		return n, netip.Addr{}, nil
	}
	ip, err := g.reserveAddress(ctx, n, nx, b, mac)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	return n, ip, nil
}

// startNetwork finds the named network, starts it if it is down, and reads
// its description; a bridge with STP is noted beside boot_ms.
func (g *Libvirt) startNetwork(ctx context.Context) (*lvNetwork, libvirtxml.Network, error) {
	c := g.conn
	name := g.cfg.Net.Name
	n := &lvNetwork{}
	var nx libvirtxml.Network
	err := c.do(ctx, "network lookup", func() (err error) { n.net, err = c.l.NetworkLookupByName(name); return })
	if err != nil {
		if lvErrCode(err) == int(libvirt.ErrNoNetwork) {
			return nil, nx, fmt.Errorf("%w: libvirt network %q is not defined on %s (see `virsh net-list --all`)", ErrUnavailable, name, g.cfg.URI)
		}
		return nil, nx, err
	}
	var active int32
	if err := c.do(ctx, "network state", func() (err error) { active, err = c.l.NetworkIsActive(n.net); return }); err != nil {
		return nil, nx, err
	}
	if active == 0 {
		err := c.do(ctx, "network start", func() error { return c.l.NetworkCreate(n.net) })
		if err != nil && lvErrCode(err) != int(libvirt.ErrOperationInvalid) { // started meanwhile
			return nil, nx, fmt.Errorf("start libvirt network %s: %w", name, err)
		}
		n.started = err == nil
	}
	var desc string
	if err := c.do(ctx, "network xml", func() (err error) { desc, err = c.l.NetworkGetXMLDesc(n.net, 0); return }); err != nil {
		return nil, nx, err
	}
	if err := nx.Unmarshal(desc); err != nil {
		return nil, nx, fmt.Errorf("network %s xml: %w", name, err)
	}
	if nx.Bridge != nil && nx.Bridge.STP == "on" {
		// Measured here: a rumprun guest answered 3 s after its console
		// said ready, every time, while the port learned.
		g.setFact("network_stp", fmt.Sprintf("libvirt network %s's bridge runs STP: a new guest's port forwards nothing for about twice the bridge's forward delay (Linux enforces at least 2 s each), and boot_ms includes that wait; stp='off' (virsh net-edit %s) removes it", name, name))
	}
	return n, nx, nil
}

// reserveAddress picks a free address in the network's subnet for a
// static guest, reserves it in the network's DHCP for the guest's MAC and
// moves b's command line to it.
func (g *Libvirt) reserveAddress(ctx context.Context, n *lvNetwork, nx libvirtxml.Network, b *Boot, mac string) (netip.Addr, error) {
	c := g.conn
	name := g.cfg.Net.Name
	gw, prefix, taken, err := subnetOf(nx)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("network %s: %w", name, err)
	}
	var leases []libvirt.NetworkDhcpLease
	c.do(ctx, "dhcp leases", func() (err error) { leases, _, err = c.l.NetworkGetDhcpLeases(n.net, nil, 1, 0); return })
	for _, l := range leases {
		if a, err := netip.ParseAddr(l.Ipaddr); err == nil {
			taken[a] = true
		}
	}
	// From the top of the subnet down, where dnsmasq's dynamic range
	// reaches last; the reservation keeps dnsmasq from handing the address
	// to another guest, and fails if another benchbook took it meanwhile.
	pfx := netip.PrefixFrom(gw, prefix).Masked()
	last := lastAddr(pfx)
	for ip, tries := last.Prev(), 0; pfx.Contains(ip) && ip != pfx.Addr() && tries < 32; ip = ip.Prev() {
		if taken[ip] || ip == gw {
			continue
		}
		tries++
		host := fmt.Sprintf(`<host mac=%q name=%q ip=%q/>`, mac, g.cfg.Domain, ip)
		err := c.do(ctx, "dhcp reservation", func() error {
			return c.l.NetworkUpdateCompat(n.net, libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, -1, host, libvirt.NetworkUpdateAffectLive)
		})
		if err != nil {
			if !c.l.IsConnected() {
				return netip.Addr{}, err
			}
			continue
		}
		n.reserved = host
		*b = readdress(*b, ip, gw, prefix)
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("network %s: no free address for a static guest in %s", name, pfx)
}

// subnetOf reads a libvirt network's IPv4 gateway, prefix length and the
// addresses its DHCP already gives to named hosts.
func subnetOf(nx libvirtxml.Network) (netip.Addr, int, map[netip.Addr]bool, error) {
	taken := map[netip.Addr]bool{}
	for _, ip := range nx.IPs {
		if ip.Family != "" && ip.Family != "ipv4" {
			continue
		}
		gw, err := netip.ParseAddr(ip.Address)
		if err != nil || !gw.Is4() {
			continue
		}
		prefix := int(ip.Prefix)
		if ip.Netmask != "" {
			m := net.IPMask(net.ParseIP(ip.Netmask).To4())
			prefix, _ = m.Size()
		}
		if prefix == 0 || prefix > 30 {
			return netip.Addr{}, 0, nil, fmt.Errorf("ipv4 subnet /%d is too small for a guest", prefix)
		}
		if ip.DHCP != nil {
			for _, h := range ip.DHCP.Hosts {
				if a, err := netip.ParseAddr(h.IP); err == nil {
					taken[a] = true
				}
			}
		}
		return gw, prefix, taken, nil
	}
	return netip.Addr{}, 0, nil, fmt.Errorf("no ipv4 address (a network without one gives guests no route to benchbook)")
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	bits := 32 - p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<bits - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// releaseNetwork removes benchbook's DHCP reservation.
func (g *Libvirt) releaseNetwork(ctx context.Context, c *lvConn, n *lvNetwork) error {
	if n == nil || n.reserved == "" {
		return nil
	}
	err := c.do(ctx, "dhcp reservation removal", func() error {
		return c.l.NetworkUpdateCompat(n.net, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, -1, n.reserved, libvirt.NetworkUpdateAffectLive)
	})
	if err != nil {
		return err
	}
	n.reserved = ""
	return nil
}

// guestAddr waits for the address of a DHCP guest: the network's lease for
// its MAC, or (bridges, which libvirt does not serve) what the domain's
// interface reports from leases or the host's ARP table.
func (g *Libvirt) guestAddr(ctx context.Context, n *lvNetwork, mac string) (netip.Addr, error) {
	c := g.conn
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if n != nil {
			var leases []libvirt.NetworkDhcpLease
			c.do(ctx, "dhcp leases", func() (err error) {
				leases, _, err = c.l.NetworkGetDhcpLeases(n.net, libvirt.OptString{mac}, 1, 0)
				return
			})
			for _, l := range leases {
				if a, err := netip.ParseAddr(l.Ipaddr); err == nil && a.Is4() {
					return a, nil
				}
			}
		} else {
			for _, src := range []libvirt.DomainInterfaceAddressesSource{libvirt.DomainInterfaceAddressesSrcLease, libvirt.DomainInterfaceAddressesSrcArp} {
				var ifs []libvirt.DomainInterface
				c.do(ctx, "interface addresses", func() (err error) { ifs, err = c.l.DomainInterfaceAddresses(g.dom, uint32(src), 0); return })
				for _, i := range ifs {
					if len(i.Hwaddr) == 0 || !strings.EqualFold(i.Hwaddr[0], mac) {
						continue
					}
					for _, a := range i.Addrs {
						if ip, err := netip.ParseAddr(a.Addr); err == nil && ip.Is4() {
							return ip, nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return netip.Addr{}, fmt.Errorf("%w: no DHCP lease for %s", ErrNotReady, mac)
		case <-g.exited:
			return netip.Addr{}, fmt.Errorf("the domain ended before it had an address")
		case <-tick.C:
		}
	}
}

// hostOf is the hypervisor's host name in uri (remote user networking:
// the port forward listens there).
func hostOf(uri string) string {
	i := strings.Index(uri, "://")
	if i < 0 {
		return ""
	}
	rest := uri[i+3:]
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		rest = rest[:j]
	}
	if k := strings.LastIndexByte(rest, '@'); k >= 0 {
		rest = rest[k+1:]
	}
	if h, _, err := net.SplitHostPort(rest); err == nil {
		return h
	}
	return strings.Trim(rest, "[]")
}

// remotePort picks the forwarded port on a remote hypervisor, where this
// machine cannot tell which ports are free: a random one in the dynamic
// range, retried on a clash.
func remotePort() int {
	var b [2]byte
	rand.Read(b[:])
	return 40000 + (int(b[0])<<8|int(b[1]))%20000
}

package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/benchbook/benchbook/internal/netns"
)

// NetMode declares one way a qemu guest is reached: its name (the
// notebook's network = "..."), what it is, whether it needs a private
// namespace (root), and the flavors whose virtio-net cannot use it, with
// why. Validation, the docs and the start's steps all read this list.
type NetMode struct {
	Name    string
	Doc     string
	Private bool
	// Refuses maps a flavor to why it cannot use the mode.
	Refuses map[string]string
}

// legacyNet is why a flavor booted with qemu's legacy -net cannot take a
// -netdev-only backend.
const legacyNet = "its NIC is qemu's legacy -net nic,model=virtio (as rumprun's own launcher starts it), and -net cannot take passt's socket (-netdev stream)"

// loopbackOnly is why only benchbook's Linux image can be loaded over its
// loopback.
const loopbackOnly = "the load runs inside the guest, which only the init of benchbook's Linux image (image = \"builtin:linux\") can start"

// QemuNetModes are the network modes of qemu guests, in the order users
// see them.
var QemuNetModes = []NetMode{
	{Name: "user", Doc: "qemu's user networking (slirp) with a port forward from the host's loopback"},
	{Name: "tap", Doc: "a tap on a bridge in a private network namespace (the virbr0 path; needs root)", Private: true},
	{Name: "tap-routed", Doc: "a tap with no bridge: a point-to-point route to the guest in a private namespace (needs root)", Private: true},
	{Name: "macvtap", Doc: "a macvtap on a veth inside a private namespace; the load runs on the veth's other end (needs root)", Private: true},
	{Name: "passt", Doc: "Debian's passt: a user-space socket splice from the host's loopback to qemu's -netdev stream", Refuses: map[string]string{"rumprun": legacyNet}},
	{Name: "loopback", Doc: "no network path: the load runs inside the guest (image = \"builtin:linux\") against its server over the guest's loopback, the baseline of the other modes; the VM keeps user networking for the ready check only", Refuses: map[string]string{
		"osv": loopbackOnly, "rumprun": loopbackOnly, "raw": loopbackOnly,
	}},
	{Name: "vhost", Doc: "tap on a bridge with vhost=on: the kernel's vhost-net moves packets when it can (the result says whether it did, and why not)", Private: true},
}

// NetModeOf finds a mode by name.
func NetModeOf(name string) (NetMode, bool) {
	for _, m := range QemuNetModes {
		if m.Name == name {
			return m, true
		}
	}
	return NetMode{}, false
}

// NetModeNames are the modes' names.
func NetModeNames() []string {
	out := make([]string, len(QemuNetModes))
	for i, m := range QemuNetModes {
		out[i] = m.Name
	}
	return out
}

// CheckQemuNetwork says why a flavor cannot use a network mode, or nil;
// "" and "auto" always work.
func CheckQemuNetwork(flavor, mode string) error {
	if mode == "" || mode == "auto" {
		return nil
	}
	m, ok := NetModeOf(mode)
	if !ok {
		return fmt.Errorf("network %q is not a qemu network mode (want auto, %s)", mode, strings.Join(NetModeNames(), ", "))
	}
	if flavor == "" {
		flavor = "linux"
	}
	if why := m.Refuses[flavor]; why != "" {
		return fmt.Errorf("network %q cannot carry a %s guest: %s", mode, flavor, why)
	}
	return nil
}

// PlanQemuNetwork decides how a qemu guest is reached, from the notebook's
// network key ("", "auto" or a mode of QemuNetModes), and returns a note
// for the report when the choice costs something. As root "auto" is tap:
// a private namespace with a bridge and a tap, so nothing collides and the
// host's sysctls and ports are untouched. Without root, qemu's user
// networking forwards a loopback port, and the report says so.
func PlanQemuNetwork(mode string) (n Network, note string) {
	if mode == "" || mode == "auto" {
		mode = "tap"
		if err := netns.Available(); err != nil {
			mode = "user"
			note = fmt.Sprintf("qemu user networking on the host (no private namespace: %v); with net.ipv4.tcp_syncookies=1 forwarded connections can stall under load", err)
		}
	}
	m, ok := NetModeOf(mode)
	if !ok {
		m = QemuNetModes[0]
	}
	return Network{Mode: m.Name, Private: m.Private}, note
}

// forwarded: the guest is reached through a port on the host's loopback
// (qemu's user networking or passt), not on an address of its own.
func (n Network) forwarded() bool {
	return n.Mode == "user" || n.Mode == "passt" || n.Mode == "loopback"
}

// Devices of the private namespace.
const (
	bridgeDev  = "br0"
	tapDev     = "tap0"
	vethHost   = "veth0" // the load's end, holding the gateway
	vethGuest  = "veth1" // the macvtap's lower device
	macvtapDev = "macvtap0"
)

// netSteps are the steps that make the guest's network, each pushing its
// undo.
func (q *Qemu) netSteps() []step {
	n, b := q.cfg.Net, q.cfg.Boot
	var s []step
	if n.forwarded() && n.HostPort == 0 {
		s = append(s, step{"port", q.pickPort})
	}
	if n.Mode == "passt" {
		s = append(s, step{"passt", q.passt})
	}
	if !n.Private {
		return s
	}
	s = append(s, step{"namespace", q.namespace})
	switch n.Mode {
	case "tap-routed":
		s = append(s, step{"tap", q.routedTap})
	case "macvtap":
		s = append(s, step{"veth", q.veth}, step{"macvtap", q.macvtap})
	default: // tap, vhost
		s = append(s, step{"bridge", q.addBridge}, step{"tap", q.bridgedTap})
	}
	if n.Mode == "vhost" {
		s = append(s, step{"vhost", q.vhostProbe})
	}
	if b.Flavor == "osv" && b.Kernel == "" {
		s = append(s, step{"dhcp", q.dhcp})
	}
	return s
}

// namespace makes the guest's private network namespace; its undo
// deletes it, and whatever devices are left go with it. A directly booted
// OSv gets its address on its command line there.
func (q *Qemu) namespace(ctx context.Context) error {
	name, err := netns.New(ctx)
	if err != nil {
		return fmt.Errorf("private network: %w", err)
	}
	q.life.push(func(ctx context.Context) error { return netns.Delete(ctx, name) })
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cfg.Net.Netns = name
	if q.cfg.Boot.Flavor == "osv" && q.cfg.Boot.Kernel != "" {
		q.cfg.Boot = staticOSv(q.cfg.Boot)
	}
	return nil
}

// gateway is benchbook's gateway address with its prefix.
var gateway = fmt.Sprintf("%s/%d", GatewayIP, PrefixLen)

// addLink makes dev in the guest's namespace with add, and pushes its
// removal as the undo.
func (q *Qemu) addLink(ctx context.Context, dev string, add func(ns string) error) error {
	ns := q.cfg.Net.Netns
	if err := add(ns); err != nil {
		return err
	}
	q.life.push(func(ctx context.Context) error { return netns.DelLink(ctx, ns, dev) })
	return nil
}

// addTap makes the guest's tap, on bridge unless that is "", and records it
// as the guest's.
func (q *Qemu) addTap(ctx context.Context, bridge string) error {
	if err := q.addLink(ctx, tapDev, func(ns string) error { return netns.AddTap(ctx, ns, tapDev, bridge) }); err != nil {
		return err
	}
	q.mu.Lock()
	q.cfg.Net.Tap = tapDev
	q.mu.Unlock()
	return nil
}

// addBridge makes the bridge holding the gateway (STP off, no forward
// delay); its undo removes it.
func (q *Qemu) addBridge(ctx context.Context) error {
	if err := q.addLink(ctx, bridgeDev, func(ns string) error { return netns.AddBridge(ctx, ns, bridgeDev, gateway) }); err != nil {
		return err
	}
	q.setLink(bridgeDev, tapDev)
	return nil
}

// bridgedTap makes the guest's tap on the bridge.
func (q *Qemu) bridgedTap(ctx context.Context) error {
	return q.addTap(ctx, bridgeDev)
}

// routedTap makes a tap holding the gateway with a point-to-point route to
// the guest: no bridge between the load and the tap.
func (q *Qemu) routedTap(ctx context.Context) error {
	if err := q.addTap(ctx, ""); err != nil {
		return err
	}
	if err := netns.IP(ctx, q.cfg.Net.Netns, "addr", "add", GatewayIP, "peer", GuestIP, "dev", tapDev); err != nil {
		return err
	}
	q.setLink(tapDev, tapDev)
	return nil
}

// veth makes the pair a macvtap sits on: the load's end holds the
// gateway, the other end is the macvtap's lower device.
func (q *Qemu) veth(ctx context.Context) error {
	if err := q.addLink(ctx, vethHost, func(ns string) error { return netns.AddVeth(ctx, ns, vethHost, vethGuest, gateway) }); err != nil {
		return err
	}
	q.setLink(vethHost, macvtapDev)
	return nil
}

// macvtap makes the macvtap on the veth and opens its character device
// for qemu (which takes a macvtap only as an open descriptor). The guest's
// NIC must carry the macvtap's MAC, or the macvtap drops what it sends.
// The device node is made in a folder of benchbook's from the macvtap's
// own major:minor, as /dev/tapIFINDEX may name another namespace's device.
func (q *Qemu) macvtap(ctx context.Context) error {
	if err := q.addLink(ctx, macvtapDev, func(ns string) error { return netns.AddMacvtap(ctx, ns, macvtapDev, vethGuest) }); err != nil {
		return err
	}
	ns := q.cfg.Net.Netns
	mac, err := netns.LinkFile(ns, macvtapDev, "address")
	if err != nil {
		return err
	}
	f, err := openMacvtap(ns)
	if err != nil {
		return err
	}
	q.life.push(func(context.Context) error { return f.Close() })
	q.mu.Lock()
	q.cfg.Net.MAC, q.tapFile = mac, f
	q.mu.Unlock()
	return nil
}

// setLink records the device holding the gateway (the DHCP server's) and
// the guest's host-side device (whose MTU is the path's).
func (q *Qemu) setLink(gw, guestSide string) {
	q.mu.Lock()
	q.bridge, q.hostDev = gw, guestSide
	q.mu.Unlock()
}

// dhcp serves OSv's disk boot its address on the private bridge: it reads
// its command line from the image, so it cannot be given --ip. Without
// dnsmasq, user networking inside the namespace still isolates the run,
// but its port forward admits one connection at a time, and the report
// says so.
func (q *Qemu) dhcp(ctx context.Context) error {
	d, err := StartDHCP(ctx, q.cfg.Net.Netns, q.bridge)
	if errors.Is(err, ErrUnavailable) {
		q.facts.set("network_note", fmt.Sprintf("qemu user networking inside a private namespace (%v); its port forward admits one connection at a time, and loads of many connections may time out", err))
		q.mu.Lock()
		q.cfg.Net = Network{Mode: "user", HostPort: 6379, Netns: q.cfg.Net.Netns}
		q.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	q.life.push(d.Stop)
	return nil
}

// staticOSv gives a directly booted OSv benchbook's guest address on its
// command line. Left to DHCP it took 9 s more to boot under TCG.
func staticOSv(b Boot) Boot {
	b.Append = fmt.Sprintf("--ip=eth0,%s,255.255.255.0 --defaultgw=%s ", GuestIP, GatewayIP) + b.Append
	return b
}

// vhostDevice is the kernel's vhost-net device.
const vhostDevice = "/dev/vhost-net"

// vhostProbe asks for vhost-net only where it exists: qemu refuses to
// start a tap with vhost=on without /dev/vhost-net, and a sweep point that
// cannot boot answers less than one that says it ran without vhost. The
// result records which it was (net_vhost) either way.
func (q *Qemu) vhostProbe(context.Context) error {
	if _, err := os.Stat(vhostDevice); err != nil {
		q.facts.set("net_vhost", "off: "+vhostDevice+" is missing (this kernel has no vhost-net: CONFIG_VHOST_NET unset, or modprobe vhost_net), so qemu moved the packets itself")
		return nil
	}
	q.mu.Lock()
	q.cfg.Net.Vhost = true
	q.mu.Unlock()
	return nil
}

// vhostUsed tells whether the qemu process pid really runs vhost-net: it
// holds /dev/vhost-net open and has a vhost worker. Under TCG qemu opens
// the device but, without ioeventfd, falls back to its own virtio-net.
func vhostUsed(pid int, accel string) (bool, string) {
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	open := false
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && l == vhostDevice {
			open = true
			break
		}
	}
	worker := false
	comms, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", pid))
	for _, c := range comms {
		if b, err := os.ReadFile(c); err == nil && strings.HasPrefix(string(b), "vhost-") {
			worker = true
			break
		}
	}
	switch {
	case open && worker:
		return true, "on: qemu holds " + vhostDevice + " and runs a vhost worker"
	case accel == "tcg":
		return false, "off: qemu under TCG has no ioeventfd, so vhost-net fell back to qemu's own virtio-net"
	case open:
		return false, "off: qemu holds " + vhostDevice + " but runs no vhost worker"
	}
	return false, "off: qemu did not open " + vhostDevice
}

// openMacvtap opens the macvtap's character device: its major:minor is
// read inside the namespace, a node made for it in a private folder and
// removed once open.
func openMacvtap(ns string) (*os.File, error) {
	idx, err := netns.LinkFile(ns, macvtapDev, "ifindex")
	if err != nil {
		return nil, err
	}
	devnum, err := netns.LinkFile(ns, macvtapDev, "macvtap/tap"+idx+"/dev")
	if err != nil {
		return nil, err
	}
	var major, minor uint32
	if _, err := fmt.Sscanf(devnum, "%d:%d", &major, &minor); err != nil {
		return nil, fmt.Errorf("macvtap device number %q: %w", devnum, err)
	}
	dir, err := os.MkdirTemp("", "benchbook-macvtap-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	node := filepath.Join(dir, "tap")
	if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(unix.Mkdev(major, minor))); err != nil {
		return nil, fmt.Errorf("macvtap device node: %w", err)
	}
	f, err := os.OpenFile(node, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open macvtap: %w", err)
	}
	return f, nil
}

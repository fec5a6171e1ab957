package guest

import (
	"context"
	"os"
	"regexp"
	"strings"

	"github.com/benchbook/benchbook/internal/netns"
)

// Facts of a qemu guest's network path, recorded with every result (see
// docs/network.md):
//
//	net_mode      the notebook's mode (user, tap, tap-routed, macvtap, passt, vhost)
//	net_backend   qemu's backend and what is behind it
//	net_bridge    the bridge between the load and the tap, or "none"
//	net_vhost     on or off, and why
//	net_mtu       the guest's MTU and the host-side device's
//	net_offloads  the guest NIC's offloads, read inside the Linux guest
//	              (virtio features it negotiated), else what qemu was told
//	net_netdev    the exact -netdev (or -net) argument
//	net_device    the exact -device (or -net nic) argument
//	net_path      the path from the load to the guest, as a chain
const (
	FactNetMode     = "net_mode"
	FactNetBackend  = "net_backend"
	FactNetBridge   = "net_bridge"
	FactNetVhost    = "net_vhost"
	FactNetMTU      = "net_mtu"
	FactNetOffloads = "net_offloads"
	FactNetNetdev   = "net_netdev"
	FactNetDevice   = "net_device"
	FactNetPath     = "net_path"
)

// NetPath is the chain a load's packets take to a guest on mode, for the
// report: "load → veth → bridge → tap → virtio-net → guest".
func NetPath(mode string, vhost bool) string {
	var hops []string
	switch mode {
	case "loopback":
		return "load (inside the guest) → the guest's loopback → server"
	case "user":
		hops = []string{"loopback", "qemu slirp (port forward)"}
	case "passt":
		hops = []string{"loopback", "passt (socket splice)", "unix socket", "qemu"}
	case "tap":
		hops = []string{"bridge", "tap", "qemu"}
	case "vhost":
		hops = []string{"bridge", "tap"}
		if vhost {
			hops = append(hops, "vhost-net (kernel)")
		} else {
			hops = append(hops, "qemu (vhost-net not active)")
		}
	case "tap-routed":
		hops = []string{"route", "tap", "qemu"}
	case "macvtap":
		hops = []string{"veth", "veth", "macvtap", "qemu"}
	default:
		return ""
	}
	return strings.Join(append(append([]string{"load"}, hops...), "virtio-net", "guest"), " → ")
}

// netBackendDoc says what is behind qemu's backend.
var netBackendDoc = map[string]string{
	"user":       "user (slirp, in qemu's process)",
	"loopback":   "user (slirp), for the ready check only: the load runs inside the guest",
	"passt":      "stream to passt (a separate process)",
	"tap":        "tap on a bridge",
	"tap-routed": "tap, routed (no bridge)",
	"macvtap":    "tap descriptor of a macvtap on a veth",
	"vhost":      "tap on a bridge, vhost=on",
}

// netInfo records the path's facts once the guest is ready.
func (q *Qemu) netInfo(context.Context) error {
	q.mu.Lock()
	n, b, accel, hostDev, bridge := q.cfg.Net, q.cfg.Boot, q.cfg.Accel, q.hostDev, q.bridge
	pid := 0
	if q.proc != nil {
		pid = q.proc.pid()
	}
	q.mu.Unlock()
	nic := nicArgs(b, n)
	f := map[string]string{
		FactNetMode:    n.Mode,
		FactNetBackend: netBackendDoc[n.Mode],
		FactNetBridge:  "none",
	}
	f[FactNetNetdev], f[FactNetDevice] = nic[0]+" "+nic[1], nic[2]+" "+nic[3]
	if nic[0] == "-net" { // -net nic,... then -net BACKEND
		f[FactNetNetdev], f[FactNetDevice] = nic[2]+" "+nic[3], nic[0]+" "+nic[1]
	}
	if n.Mode == "tap" || n.Mode == "vhost" {
		f[FactNetBridge] = bridge + " (STP off, forward delay 0)"
	}
	vhost := false
	switch {
	case n.Mode != "vhost":
		f[FactNetVhost] = "off: not asked (network = \"vhost\" asks)"
	case n.Vhost && pid > 0:
		vhost, f[FactNetVhost] = vhostUsed(pid, accel)
	}
	f[FactNetPath] = NetPath(n.Mode, vhost)
	guestMTU, features := guestNIC(q.cfg.ConsolePath)
	f[FactNetMTU] = mtuFact(n, hostDev, guestMTU)
	f[FactNetOffloads] = offloadsFact(n, features)
	for k, v := range f {
		q.facts.set(k, v)
	}
	return nil
}

// mtuFact is the guest's MTU (from its console) and the host-side
// device's.
func mtuFact(n Network, hostDev, guestMTU string) string {
	var parts []string
	if guestMTU != "" {
		parts = append(parts, "guest "+guestMTU)
	}
	if hostDev != "" && n.Netns != "" {
		if m, err := netns.LinkFile(n.Netns, hostDev, "mtu"); err == nil {
			parts = append(parts, hostDev+" "+m)
		}
	}
	if len(parts) == 0 {
		return "unknown (the guest did not say, and no host device carries it)"
	}
	return strings.Join(parts, ", ")
}

// nicLine is what benchbook's guest init prints of its NIC.
var nicLine = regexp.MustCompile(`benchbook-init: \[[^]]*\] nic \S+ mtu=(\d+) virtio_features=([01]+)`)

// guestNIC reads the NIC line of the Linux micro-VM's console log.
func guestNIC(consolePath string) (mtu, features string) {
	if consolePath == "" {
		return "", ""
	}
	b, err := os.ReadFile(consolePath)
	if err != nil {
		return "", ""
	}
	if m := nicLine.FindSubmatch(b); m != nil {
		return string(m[1]), string(m[2])
	}
	return "", ""
}

// virtioNetOffloads are the virtio-net feature bits that are offloads,
// by bit number (virtio spec 5.1.3).
var virtioNetOffloads = []struct {
	bit  int
	name string
}{
	{0, "csum"}, {1, "guest_csum"}, {7, "guest_tso4"}, {8, "guest_tso6"}, {9, "guest_ecn"},
	{10, "guest_ufo"}, {11, "host_tso4"}, {12, "host_tso6"}, {13, "host_ecn"}, {14, "host_ufo"}, {15, "mrg_rxbuf"},
}

// DecodeVirtioOffloads turns a virtio device's features string (sysfs:
// one 0/1 per bit, bit 0 first) into "on: ...; off: ...".
func DecodeVirtioOffloads(bits string) string {
	var on, off []string
	for _, o := range virtioNetOffloads {
		if o.bit < len(bits) && bits[o.bit] == '1' {
			on = append(on, o.name)
		} else {
			off = append(off, o.name)
		}
	}
	return "on: " + orNone(on) + "; off: " + orNone(off)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

// offloadsFact is what the guest negotiated, when its console says, else
// what qemu was told.
func offloadsFact(n Network, features string) string {
	if features != "" {
		return "negotiated by the guest: " + DecodeVirtioOffloads(features)
	}
	peer := "a tap with a virtio-net header: qemu offers checksum and segmentation offloads (csum, guest_csum, tso4/6, ecn, ufo, mrg_rxbuf)"
	if n.forwarded() {
		peer = "a backend without a virtio-net header: qemu withholds the checksum and segmentation offloads (mrg_rxbuf stays)"
	}
	return "what qemu was told (the guest did not say): virtio-net defaults on " + peer
}

package guest

import (
	"context"
	"errors"
	"fmt"

	"github.com/benchbook/benchbook/internal/netns"
)

// PlanQemuNetwork decides how a qemu guest is reached, from the notebook's
// network key ("", "auto", "user" or "tap"), and returns a note for the
// report when the choice costs something. As root every guest gets a
// private network namespace: a bridge and a tap for it, so nothing
// collides and the host's sysctls and ports are untouched. Without root,
// qemu's user networking forwards a loopback port, and the report says so.
func PlanQemuNetwork(mode string) (n Network, note string) {
	if mode == "" || mode == "auto" {
		mode = "tap"
		if err := netns.Available(); err != nil {
			mode = "user"
			note = fmt.Sprintf("qemu user networking on the host (no private namespace: %v); with net.ipv4.tcp_syncookies=1 forwarded connections can stall under load", err)
		}
	}
	if mode == "user" {
		return Network{Mode: "user"}, note
	}
	return Network{Mode: "tap", Private: true}, note
}

// namespace makes the guest's private network namespace, its bridge and
// its tap (netns.NewBridge removes its own half-made namespace); its undo
// deletes the namespace, and the devices go with it. A directly booted
// OSv gets its address on its command line there.
func (q *Qemu) namespace(ctx context.Context) error {
	br, err := netns.NewBridge(ctx, fmt.Sprintf("%s/%d", GatewayIP, PrefixLen))
	if err != nil {
		return fmt.Errorf("private network: %w", err)
	}
	q.life.push(func(ctx context.Context) error { return netns.Delete(ctx, br.Name) })
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bridge = br.Bridge
	q.cfg.Net.Tap, q.cfg.Net.Netns = br.Tap, br.Name
	if q.cfg.Boot.Flavor == "osv" && q.cfg.Boot.Kernel != "" {
		q.cfg.Boot = staticOSv(q.cfg.Boot)
	}
	return nil
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

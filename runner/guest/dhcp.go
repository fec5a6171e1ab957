package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// DHCP serves the guest address (GuestIP) on a private bridge, for a guest
// that can only take its address from DHCP: OSv booted from its disk reads
// its command line from the image, so benchbook cannot give it --ip. Without
// this the guest was reached through qemu's user networking, whose port
// forward listens with a backlog of one: a load opening 20 connections at
// once to a guest under TCG then timed out in one run of five.
type DHCP struct {
	p   *proc
	dir string
}

// dhcpReady is what dnsmasq logs once it serves the range.
var dhcpReady = regexp.MustCompile(`DHCP, IP range`)

// StartDHCP runs dnsmasq, DHCP only, on iface inside namespace ns. It fails
// with ErrUnavailable when dnsmasq is missing.
func StartDHCP(ctx context.Context, ns, iface string) (*DHCP, error) {
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		return nil, fmt.Errorf("%w: dnsmasq is not installed (make setup installs dnsmasq-base)", ErrUnavailable)
	}
	dir, err := os.MkdirTemp("", "benchbook-dhcp-")
	if err != nil {
		return nil, err
	}
	argv := []string{"ip", "netns", "exec", ns, bin,
		"--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null",
		"--port=0", // no DNS
		"--bind-interfaces", "--interface=" + iface, "--except-interface=lo",
		"--dhcp-authoritative", // answer at once, no waiting for other servers
		"--dhcp-range=" + GuestIP + "," + GuestIP + ",255.255.255.0,12h",
		"--dhcp-option=option:router," + GatewayIP,
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"--pid-file=" + filepath.Join(dir, "pid"),
		"--user=root", // the lease file is root's
	}
	logPath := filepath.Join(dir, "log") // its tail goes into errors
	p, err := startProc("dhcp", argv, nil, "", logPath, dhcpReady, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d := &DHCP{p: p, dir: dir}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.waitLine(wctx); err != nil {
		d.Stop(context.WithoutCancel(ctx))
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("dhcp server in %s: %w%s", ns, err, p.tail(logPath))
	}
	return d, nil
}

// Stop ends the server and removes its files.
func (d *DHCP) Stop(ctx context.Context) error {
	err := d.p.stop(ctx, time.Second, nil)
	os.RemoveAll(d.dir)
	return err
}

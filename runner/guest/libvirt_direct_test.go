package guest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/benchbook/benchbook/runner/guest"
)

// TestLibvirtDirect boots the micro-VM on network = "direct:DEV", a
// macvtap on one end of a veth pair that the test makes in libvirtd's
// namespace; the load reaches the guest from the other end, as from
// another host on the wire. Stop leaves no domain and no macvtap.
func TestLibvirtDirect(t *testing.T) {
	libvirttest.Need(t)
	if !daemonNetns(t) {
		t.Skip("libvirtd runs in the host's network namespace; start it with libvirttest (ip netns exec " + libvirttest.Netns + " libvirtd -d) for this test")
	}
	im := microVM(t)
	lower, peer := fmt.Sprintf("bbd%da", os.Getpid()%100000), fmt.Sprintf("bbd%db", os.Getpid()%100000)
	ip := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"-n", libvirttest.Netns}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ip("link", "add", lower, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { exec.Command("ip", "-n", libvirttest.Netns, "link", "del", lower).Run() })
	ip("addr", "add", guest.GatewayIP+"/24", "dev", peer)
	ip("link", "set", lower, "up")
	ip("link", "set", peer, "up")

	nw, err := guest.ParseLibvirtNet("direct:"+lower, false)
	if err != nil {
		t.Fatal(err)
	}
	g, ep := startLibvirt(t, guest.LibvirtConfig{
		Name: "linux", Domain: domainName(t), Boot: linuxBoot(t, im), Accel: "tcg", Net: nw,
		ConsolePath: filepath.Join(t.TempDir(), "console.log"), ReadyTimeout: 90 * time.Second,
	})
	if !strings.Contains(ip("-o", "link", "show", "type", "macvtap"), "@"+lower) {
		t.Errorf("no macvtap on %s while the guest runs", lower)
	}
	ops := quickLoad(t, ep)
	t.Logf("direct:%s: boot to PONG %.0f ms, %.0f ops/s at %s (netns %s)", lower, g.BootMs(), ops, ep.Addr, ep.Netns)
	if want := guest.GuestIP + ":"; !strings.HasPrefix(ep.Addr, want) || ep.Netns == "" {
		t.Errorf("endpoint %+v: want %s... in libvirtd's namespace", ep, want)
	}
	if x := g.DomainXML(); !strings.Contains(x, `<interface type="direct">`) || !strings.Contains(x, `<source dev="`+lower+`" mode="bridge"`) {
		t.Errorf("domain has no direct interface on %s:\n%s", lower, x)
	}
	if f := g.Facts()["network"]; !strings.HasPrefix(f, "direct:"+lower) {
		t.Errorf("fact network = %q", f)
	}
	stopped(t, g)
	if left := leftovers(t, guest.DefaultLibvirtURI); len(left) > 0 {
		t.Errorf("domains left after Stop: %v", left)
	}
	if out := ip("-o", "link", "show", "type", "macvtap"); strings.Contains(out, "@"+lower) {
		t.Errorf("macvtap left after Stop:\n%s", out)
	}
}

// A flavor that learns its address from DHCP cannot use direct: nothing of
// benchbook's would hand it one, nor tell benchbook which it took.
func TestLibvirtDirectNeedsStaticAddress(t *testing.T) {
	nw, _ := guest.ParseLibvirtNet("direct:eth0", false)
	b := guest.Boot{Flavor: "raw", Machine: "pc", Memory: "128M", Disks: []guest.Disk{{Path: "/dev/null", Format: "raw"}}}
	_, err := guest.NewLibvirt(guest.LibvirtConfig{Name: "r", Domain: guest.DomainPrefix + "x", Boot: b, Net: nw})
	if err == nil || !strings.Contains(err.Error(), "direct:eth0: a macvtap guest has no DHCP") {
		t.Errorf("NewLibvirt of a DHCP flavor on direct: %v", err)
	}
}

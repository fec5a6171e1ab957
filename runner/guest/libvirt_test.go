package guest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
	"github.com/digitalocean/go-libvirt"
)

// These tests use libvirt's test driver (test:///default) through the
// running libvirtd: the real RPC protocol and the real XML parsers, with
// a hypervisor that only pretends. Its state lives as long as some
// connection to it stays open, so each test holds one.

const testURI = "test:///default"

func testConn(t *testing.T) *lvConn {
	t.Helper()
	libvirttest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := connectLibvirt(ctx, testURI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.close() })
	return c
}

func TestLibvirtConnect(t *testing.T) {
	c := testConn(t)
	lib, hv := c.versions(context.Background())
	if !strings.Contains(lib, ".") || hv == "" {
		t.Errorf("versions = %q, %q; want x.y.z", lib, hv)
	}
	if c.remote {
		t.Error("test:///default taken for a remote URI")
	}
	if c.peerPID <= 0 {
		t.Error("no peer pid on the unix socket")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := connectLibvirt(ctx, "qemu+unix:///system?socket=/nonexistent/sock"); err == nil || !strings.Contains(err.Error(), "libvirtd") {
		t.Errorf("connect to a missing socket: %v; want a hint about libvirtd", err)
	}
	if _, err := connectLibvirt(ctx, "qemu+carrier-pigeon://x/system"); err == nil {
		t.Error("an unknown transport connected")
	}
}

// TestCleanLibvirt: benchbook-* domains of dead owners go, others stay.
func TestCleanLibvirt(t *testing.T) {
	c := testConn(t)
	ctx := context.Background()
	mk := func(name, owner string) {
		t.Helper()
		meta := ""
		if owner != "" {
			meta = fmt.Sprintf(`<metadata><benchbook:run xmlns:benchbook=%q owner=%q/></metadata>`, metadataNS, owner)
		}
		x := fmt.Sprintf(`<domain type="test"><name>%s</name>%s<memory>65536</memory><os><type>hvm</type></os></domain>`, name, meta)
		if _, err := c.l.DomainCreateXML(x, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if d, err := c.l.DomainLookupByName(name); err == nil {
				c.l.DomainDestroy(d)
			}
		})
	}
	host, _ := os.Hostname()
	mk("benchbook-crashed-cell-g-1", "999999999@"+host) // no such process
	mk("benchbook-old-cell-g-1", "")                    // no owner recorded
	mk("benchbook-live-cell-g-1", fmt.Sprintf("%d@%s", os.Getppid(), host))
	mk("somebody-elses", "")

	removed, err := CleanLibvirt(ctx, testURI)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"domain benchbook-crashed-cell-g-1", "domain benchbook-old-cell-g-1"} {
		if !slices.Contains(removed, want) {
			t.Errorf("removed %v; want %s among them", removed, want)
		}
	}
	for _, stay := range []string{"benchbook-live-cell-g-1", "somebody-elses"} {
		if _, err := c.l.DomainLookupByName(stay); err != nil {
			t.Errorf("%s was removed: %v", stay, err)
		}
	}
	again, err := CleanLibvirt(ctx, testURI)
	if err != nil || len(again) != 0 {
		t.Errorf("second clean removed %v, %v; want nothing", again, err)
	}
}

// TestPrepareNetwork reserves an address on the test driver's "default"
// network (192.168.122.0/24) and moves a Linux command line to it; Stop's
// release and CleanLibvirt remove reservations.
func TestPrepareNetwork(t *testing.T) {
	c := testConn(t)
	ctx := context.Background()
	g := &Libvirt{cfg: LibvirtConfig{Name: "t", Domain: "benchbook-t-c-g-1", URI: testURI, Net: LibvirtNet{Mode: "network", Name: "default"}}, conn: c, exited: make(chan struct{})}
	b, err := PlanBoot(VMSpec{Name: "t", Kernel: "k", Initrd: "i"})
	if err != nil {
		t.Fatal(err)
	}
	mac := newMAC()
	n, ip, err := g.prepareNetwork(ctx, &b, mac)
	if err != nil {
		if strings.Contains(err.Error(), "not supported") {
			t.Skipf("this libvirt's test driver cannot update networks: %v", err)
		}
		t.Fatal(err)
	}
	if !netip.MustParsePrefix("192.168.122.0/24").Contains(ip) || ip == netip.MustParseAddr("192.168.122.1") {
		t.Fatalf("picked %s; want a guest address in 192.168.122.0/24", ip)
	}
	if !strings.Contains(b.Append, "benchbook.ip="+ip.String()+"/24") || !strings.Contains(b.Append, "benchbook.gw=192.168.122.1") {
		t.Errorf("command line not moved to %s: %s", ip, b.Append)
	}
	desc, _ := c.l.NetworkGetXMLDesc(n.net, 0)
	if !strings.Contains(desc, mac) {
		t.Errorf("no reservation for %s in the network:\n%s", mac, desc)
	}
	// A second guest gets another address.
	b2, _ := PlanBoot(VMSpec{Name: "t", Kernel: "k", Initrd: "i"})
	g2 := &Libvirt{cfg: g.cfg, conn: c}
	g2.cfg.Domain = "benchbook-t-c-g-2"
	_, ip2, err := g2.prepareNetwork(ctx, &b2, newMAC())
	if err != nil {
		t.Fatal(err)
	}
	if ip2 == ip {
		t.Errorf("two guests got %s", ip)
	}
	if err := g.releaseNetwork(ctx, c, n); err != nil {
		t.Fatal(err)
	}
	desc, _ = c.l.NetworkGetXMLDesc(n.net, 0)
	if strings.Contains(desc, mac) {
		t.Errorf("reservation for %s still there after release", mac)
	}
	// The second one is a leftover for doctor --clean.
	removed, err := CleanLibvirt(ctx, testURI)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(removed, func(s string) bool { return strings.HasPrefix(s, "reservation ") && strings.Contains(s, ip2.String()) }) {
		t.Errorf("clean removed %v; want the reservation of %s", removed, ip2)
	}
	// A network that does not exist is reported as unavailable.
	g3 := &Libvirt{cfg: LibvirtConfig{Name: "t", Domain: "benchbook-t-c-g-3", URI: testURI, Net: LibvirtNet{Mode: "network", Name: "nosuch"}}, conn: c}
	if _, _, err := g3.prepareNetwork(ctx, &b, newMAC()); err == nil || !strings.Contains(err.Error(), "not defined") {
		t.Errorf("missing network: %v", err)
	}
}

// TestCallBound: a call that outlives its bound closes the connection
// rather than hanging benchbook.
func TestCallBound(t *testing.T) {
	c := testConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	block := make(chan struct{})
	err := c.do(ctx, "stuck", func() error {
		<-c.l.Disconnected() // released when do closes the transport
		close(block)
		return libvirt.ErrInterrupted
	})
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("do = %v; want a deadline error", err)
	}
	<-block
	if c.l.IsConnected() {
		t.Error("still connected after an overrun call")
	}
}

// A "Permission denied" of libvirt's names the folder libvirtd's qemu
// cannot enter.
func TestClosedFolderHint(t *testing.T) {
	open := t.TempDir()
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	closed := filepath.Join(open, "closed")
	if err := os.MkdirAll(filepath.Join(closed, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	if h := closedFolderHint("", filepath.Join(closed, "run", "scratch0.raw")); !strings.Contains(h, "cannot enter "+filepath.Join(closed, "run")+" (mode 0700)") {
		t.Errorf("hint %q", h)
	}
	// t.TempDir's parent is 0700 too, so only a folder under /tmp itself
	// can have no hint.
	if h := closedFolderHint("/tmp/bb-libvirt-run-1/exec.sock"); h != "" {
		t.Errorf("hint for /tmp: %q", h)
	}
}

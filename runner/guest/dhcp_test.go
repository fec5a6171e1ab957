package guest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/netns"
)

// The DHCP server for OSv's disk boot listens on the private bridge only,
// and leaves nothing behind. (A guest taking its address from it is
// TestRunUnikernels/osv-disk, which needs a real OSv image.)
func TestDHCP(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to make a network namespace")
	}
	if err := netns.Available(); err != nil {
		t.Skipf("no network namespaces here: %v", err)
	}
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Skip("dnsmasq is not installed (make setup installs dnsmasq-base)")
	}
	ctx := context.Background()
	br, err := netns.NewBridge(ctx, GatewayIP+"/24")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Delete(context.Background(), br.Name) })
	d, err := StartDHCP(ctx, br.Name, br.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ip", "netns", "exec", br.Name, "ss", "-ulnH").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), ":67 ") {
		t.Errorf("nothing listens on the DHCP port in %s:\n%s", br.Name, out)
	}
	if err := d.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := os.Stat(d.dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind", d.dir)
	}
	if left, err := exec.Command("pgrep", "-a", "-f", d.dir).Output(); err == nil && len(left) > 0 {
		t.Errorf("dnsmasq left running:\n%s", left)
	}
}

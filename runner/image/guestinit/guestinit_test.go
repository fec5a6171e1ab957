package guestinit

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/benchbook/benchbook/internal/testutil"
)

func TestParseCmdline(t *testing.T) {
	def := DefaultBoot()
	for _, tc := range []struct {
		name, cmdline string
		want          Boot
		err           string
	}{
		{"defaults", "console=ttyS0 quiet", def, ""},
		{"all", "console=ttyS0 benchbook.ip=192.168.7.2/28 benchbook.gw=192.168.7.1 benchbook.port=7000 benchbook.if=eth1 panic=-1",
			Boot{Addr: netip.MustParsePrefix("192.168.7.2/28"), Gateway: netip.MustParseAddr("192.168.7.1"), Port: 7000, Interface: "eth1"}, ""},
		{"no gateway", "benchbook.gw=none", Boot{Addr: def.Addr, Port: def.Port}, ""},
		{"bad ip", "benchbook.ip=10.0.2.15", Boot{}, "benchbook.ip"},
		{"v6", "benchbook.ip=fd00::2/64", Boot{}, "only IPv4"},
		{"bad port", "benchbook.port=70000", Boot{}, "out of range"},
		{"port text", "benchbook.port=redis", Boot{}, "benchbook.port"},
		{"bad gw", "benchbook.gw=gateway", Boot{}, "benchbook.gw"},
		{"disks", DisksParam([]Disk{{Serial: "scratch0", FS: "xfs", Mount: "/data", Mkfs: []string{"-m", "crc=1"}, MountOptions: []string{"noatime"}, Scheduler: "bfq"}}),
			Boot{Addr: def.Addr, Gateway: def.Gateway, Port: def.Port, Disks: []Disk{{Serial: "scratch0", FS: "xfs", Mount: "/data", Mkfs: []string{"-m", "crc=1"}, MountOptions: []string{"noatime"}, Scheduler: "bfq"}}}, ""},
		{"bad disks", "benchbook.disks=%%%", Boot{}, "benchbook.disks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCmdline(tc.cmdline)
			if testutil.ExpectErr(t, err, tc.err) {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			// Cmdline is the inverse.
			back, err := ParseCmdline(got.Cmdline())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("ParseCmdline(%q) = %+v, %v; want %+v", got.Cmdline(), back, err, got)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	got := expand([]string{"/usr/bin/redis-server", "--port", "{port}", "--save", ""}, 7001)
	want := []string{"/usr/bin/redis-server", "--port", "7001", "--save", ""}
	if !slices.Equal(got, want) {
		t.Errorf("expand = %q, want %q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"/usr/bin/redis-server", "--save", "", "--name", "it's"})
	want := `/usr/bin/redis-server --save '' --name 'it'\''s'`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}

func TestBroadcast(t *testing.T) {
	for p, want := range map[string]string{
		"10.0.2.15/24":   "10.0.2.255",
		"10.0.2.15/8":    "10.255.255.255",
		"192.168.1.9/30": "192.168.1.11",
	} {
		if got := broadcast(netip.MustParsePrefix(p)).String(); got != want {
			t.Errorf("broadcast(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"version":2,"modules":["/m/a.ko"],"command":["/usr/bin/redis-server","--port","{port}"]}`), 0o644)
	c, err := readConfig(good)
	if err != nil || len(c.Modules) != 1 || c.Command[2] != "{port}" {
		t.Errorf("readConfig = %+v, %v", c, err)
	}
	empty := filepath.Join(dir, "empty.json")
	os.WriteFile(empty, []byte(`{"version":2,"modules":[]}`), 0o644)
	if c, err := readConfig(empty); err != nil || len(c.Command) != 0 {
		t.Errorf("config without a command (the linux image): %+v, %v", c, err)
	}
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"version":3,"command":["/bin/redis"]}`), 0o644)
	if _, err := readConfig(newer); err == nil || !strings.Contains(err.Error(), "version 3") {
		t.Errorf("config of another version: err = %v", err)
	}
	if _, err := readConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing config: no error")
	}
}

func TestIsInitInTests(t *testing.T) {
	if IsInit() {
		t.Error("IsInit in a test process")
	}
}

// TestNetlink configures a fresh network namespace the way the guest init
// configures the VM (link up, address, default route) and checks the
// result through the kernel's own view. It needs root for the namespace.
func TestNetlink(t *testing.T) {
	done := make(chan struct{})
	var skip string
	go func() {
		defer close(done)
		// The thread enters a new namespace and is never unlocked, so the Go
		// runtime throws it away rather than reuse it for other goroutines.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			skip = "cannot create a network namespace (needs root): " + err.Error()
			return
		}
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			t.Error(err)
			return
		}
		if lo.Flags&net.FlagUp != 0 {
			t.Error("lo is up in a new namespace already")
		}
		nl, err := openRtnl()
		if err != nil {
			t.Error(err)
			return
		}
		defer nl.Close()
		if err := nl.linkUp(lo.Index); err != nil {
			t.Error(err)
			return
		}
		p := netip.MustParsePrefix("10.0.2.15/24")
		if err := nl.addAddr(lo.Index, p); err != nil {
			t.Error(err)
			return
		}
		// The kernel answers errors with their errno.
		if err := nl.addAddr(lo.Index, p); !errors.Is(err, unix.EEXIST) {
			t.Errorf("adding the address twice: err = %v, want EEXIST", err)
		}
		if err := nl.addDefaultRoute(lo.Index, netip.MustParseAddr("10.0.2.2")); err != nil {
			t.Error(err)
			return
		}
		lo, _ = net.InterfaceByName("lo")
		if lo.Flags&net.FlagUp == 0 {
			t.Error("lo is not up")
		}
		addrs, _ := lo.Addrs()
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		if !slices.Contains(got, "10.0.2.15/24") {
			t.Errorf("lo addresses %v lack 10.0.2.15/24", got)
		}
		route, err := os.ReadFile("/proc/thread-self/net/route")
		if err != nil {
			t.Error(err)
			return
		}
		// Destination 0.0.0.0 via 10.0.2.2 (little-endian hex 0202000A).
		if !strings.Contains(string(route), "00000000\t0202000A") {
			t.Errorf("no default route via 10.0.2.2 in\n%s", route)
		}
	}()
	<-done
	if skip != "" {
		t.Skip(skip)
	}
}

func TestMkfsAndMountOptions(t *testing.T) {
	for _, tc := range []struct {
		d    Disk
		want string
	}{
		{Disk{FS: "ext4"}, "mkfs.ext4 -F -q /dev/vda"},
		{Disk{FS: "ext4-nojournal", Mkfs: []string{"-m", "0"}}, "mkfs.ext4 -F -q -O ^has_journal -m 0 /dev/vda"},
		{Disk{FS: "xfs"}, "mkfs.xfs -f -q /dev/vda"},
		{Disk{FS: "btrfs"}, "mkfs.btrfs -f -q /dev/vda"},
	} {
		if got := strings.Join(mkfsArgv(tc.d, "/dev/vda"), " "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.d.FS, got, tc.want)
		}
	}
	flags, data := splitMountOptions([]string{"noatime", "discard,nobarrier"})
	if flags != unix.MS_NOATIME || data != "discard,nobarrier" {
		t.Errorf("splitMountOptions = %#x %q", flags, data)
	}
}

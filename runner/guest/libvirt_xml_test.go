package guest

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/runner/placement"
)

// TestDomainXML pins the domain XML of every flavor and network mode, as
// TestQemuCommandLines pins qemu's: one Boot, two launchers.
func TestDomainXML(t *testing.T) {
	linux := VMSpec{Name: "linux", Flavor: "linux", Kernel: "images/vmlinuz", Initrd: "images/initrd.cpio"}
	osvDisk := VMSpec{Name: "osv", Flavor: "osv", Disk: "images/osv/usr.img"}
	osvDirect := VMSpec{Name: "osv", Flavor: "osv", Disk: "images/osv/usr.img", Kernel: "images/osv/loader-stripped.elf", Cmdline: []string{"--rootfs=rofs", "/redis-server", "redis.conf"}}
	rump := VMSpec{Name: "rumprun", Flavor: "rumprun", Kernel: "images/rumprun/redis-server.bin", Cmdline: []string{"redis-server", "/data/conf/redis.conf"}, Disks: []string{"images/rumprun/data.iso"}}
	raw := VMSpec{Name: "mine", Flavor: "raw", QemuArgs: []string{"-cdrom", "my.iso", "-boot", "d"}}
	// builtin:linux with two scratch disks and the exec port.
	disks := []Scratch{
		{Size: "2G", FS: "ext4", Mount: "/data", Cache: "none", AIO: "native"},
		{Size: "512M", FS: "xfs", Mount: "/data1", Cache: "writeback", AIO: "threads"},
	}
	scratch := VMSpec{Name: "linux", Flavor: "linux", Kernel: "images/vmlinuz", Initrd: "images/initrd.cpio", Scratch: disks, Exec: true}
	scratchPC := scratch
	scratchPC.Machine = "pc"
	user := LibvirtNet{Mode: "user", HostAddr: "127.0.0.1", HostPort: 40001}
	remoteUser := LibvirtNet{Mode: "user", HostPort: 40002}
	def := LibvirtNet{Mode: "network", Name: "default"}
	br := LibvirtNet{Mode: "bridge", Name: "br0"}
	tests := []struct {
		name  string
		spec  VMSpec
		net   LibvirtNet
		accel string
		cpus  placement.Set // placed: <cputune>
	}{
		{"linux-microvm-user", linux, user, "tcg", nil},
		{"linux-microvm-network", linux, def, "tcg", nil},
		{"linux-pc-bridge-kvm", VMSpec{Name: "linux", Flavor: "linux", Kernel: "k", Initrd: "i", Machine: "pc", Memory: "512M", CPUs: 2}, br, "kvm", nil},
		{"osv-disk-network", osvDisk, def, "tcg", nil},
		{"osv-direct-user", osvDirect, user, "tcg", nil},
		{"osv-disk-remote-user", osvDisk, remoteUser, "tcg", nil},
		{"rumprun-user", rump, user, "tcg", nil},
		{"rumprun-network", rump, def, "tcg", nil},
		{"raw-user", raw, user, "tcg", nil},
		// Placed on host CPUs 1-3: only <cputune> is new.
		{"linux-pc-bridge-kvm-placed", VMSpec{Name: "linux", Flavor: "linux", Kernel: "k", Initrd: "i", Machine: "pc", Memory: "512M", CPUs: 2}, br, "kvm", placement.Set{1, 2, 3}},
		{"linux-microvm-user-placed", linux, user, "tcg", placement.Set{1}},
		// Scratch disks after the guest's own, and the exec port's channel.
		{"linux-microvm-user-scratch-exec", scratch, user, "tcg", nil},
		{"linux-pc-network-scratch-exec", scratchPC, def, "tcg", nil},
		// On a remote hypervisor: the channel's socket is libvirt's to place.
		{"linux-microvm-remote-user-scratch-exec", scratch, remoteUser, "tcg", nil},
	}
	var got strings.Builder
	for _, tt := range tests {
		b := goldenBoot(t, tt.name, tt.spec)
		if len(b.AppendTCG) > 0 {
			b.AppendTCG = b.AppendTCG[:1] // libvirt-domains.xml holds only tsc_early_khz
		}
		if tt.net.Mode == "network" && staticAddress(b) {
			b = readdress(b, netip.MustParseAddr("192.168.122.254"), netip.MustParseAddr("192.168.122.1"), 24)
		}
		name := "benchbook-nb-cell-" + tt.spec.Name + "-1"
		remote := strings.Contains(tt.name, "remote")
		for i := range b.Scratch {
			b.Scratch[i].Path = "/tmp/bb-libvirt-run-1/" + b.Scratch[i].Serial + ".raw" // as the scratch step makes them
			if remote {
				b.Scratch[i].Path = LibvirtPoolDir + "/" + name + "-" + b.Scratch[i].Serial // the pool's volumes
			}
		}
		sock := ""
		if b.Exec && !remote {
			sock = execSocket("/tmp/bb-libvirt-run-1")
		}
		d, err := DomainXML(b, DomainOptions{Name: name, Accel: tt.accel, Net: tt.net, MAC: "52:54:00:bb:00:01", Owner: "4242@host", CPUs: tt.cpus, ExecSocket: sock})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		x, err := marshalDomain(d)
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString("<!-- " + tt.name + " -->\n" + x + "\n\n")
	}
	checkGolden(t, "libvirt-domains.xml", got.String())
}

func TestParseLibvirtNet(t *testing.T) {
	tests := []struct {
		in     string
		remote bool
		want   LibvirtNet
		bad    bool
	}{
		{"", false, LibvirtNet{Mode: "network", Name: "default"}, false},
		{"auto", true, LibvirtNet{Mode: "user"}, false},
		{"user", false, LibvirtNet{Mode: "user", HostAddr: "127.0.0.1"}, false},
		{"user", true, LibvirtNet{Mode: "user"}, false},
		{"network:default", false, LibvirtNet{Mode: "network", Name: "default"}, false},
		{"bridge:virbr0", true, LibvirtNet{Mode: "bridge", Name: "virbr0"}, false},
		{"direct:eth0", false, LibvirtNet{Mode: "direct", Name: "eth0"}, false},
		{"direct:", false, LibvirtNet{}, true},
		{"network:", false, LibvirtNet{}, true},
		{"tap", false, LibvirtNet{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLibvirtNet(tt.in, tt.remote)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseLibvirtNet(%q, %v) = %+v, %v; want %+v (error %v)", tt.in, tt.remote, got, err, tt.want, tt.bad)
		}
	}
}

// TestReaddress moves every static flavor to a libvirt network's subnet.
func TestReaddress(t *testing.T) {
	ip, gw := netip.MustParseAddr("192.168.100.7"), netip.MustParseAddr("192.168.100.1")
	tests := []struct {
		name, in, want string
	}{
		{"linux", "console=ttyS0 benchbook.ip=10.0.2.15/24 benchbook.gw=10.0.2.2 benchbook.port=6379",
			"console=ttyS0 benchbook.ip=192.168.100.7/25 benchbook.gw=192.168.100.1 benchbook.port=6379"},
		{"linux-ip=", "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off",
			"ip=192.168.100.7::192.168.100.1:255.255.255.128::eth0:off"},
		{"osv", "--ip=eth0,10.0.2.15,255.255.255.0 --defaultgw=10.0.2.2 /redis-server",
			"--ip=eth0,192.168.100.7,255.255.255.128 --defaultgw=192.168.100.1 /redis-server"},
		{"rumprun", `{"cmdline":"redis-server","net":{"if":"vioif0","type":"inet","method":"static","addr":"10.0.2.15","mask":"24","gw":"10.0.2.2"}}`,
			`{"cmdline":"redis-server","net":{"if":"vioif0","type":"inet","method":"static","addr":"192.168.100.7","mask":"25","gw":"192.168.100.1"}}`},
	}
	for _, tt := range tests {
		got := readdress(Boot{Append: tt.in}, ip, gw, 25).Append
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestMemoryKiB(t *testing.T) {
	for in, want := range map[string]uint{"256M": 262144, "1G": 1048576, "512": 524288, "64k": 64, "": 262144} {
		if got, err := memoryKiB(in); err != nil || got != want {
			t.Errorf("memoryKiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"lots", "0M", "1.5G"} {
		if _, err := memoryKiB(bad); err == nil {
			t.Errorf("memoryKiB(%q): no error", bad)
		}
	}
}

func TestDomainName(t *testing.T) {
	if got, want := DomainName("redis unikernels", "throughput", "osv.libvirt", 3), "benchbook-redis_unikernels-throughput-osv_libvirt-3"; got != want {
		t.Errorf("DomainName = %q, want %q", got, want)
	}
	if _, err := NewLibvirt(LibvirtConfig{Name: "x", Domain: "mine", Net: LibvirtNet{Mode: "user"}}); err == nil {
		t.Error("NewLibvirt accepted a domain name without the benchbook- prefix")
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"qemu+tcp://10.231.0.2/system":           "10.231.0.2",
		"qemu+ssh://me@host.example:2222/system": "host.example",
		"qemu+tcp://[fd00::1]:16509/system":      "fd00::1",
		"qemu:///system":                         "",
	} {
		if got := hostOf(in); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
		if got := IsRemoteLibvirt(in); got != (want != "") {
			t.Errorf("IsRemoteLibvirt(%q) = %v", in, got)
		}
	}
}

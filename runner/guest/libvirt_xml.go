package guest

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/benchbook/benchbook/runner/guestexec"
	"github.com/benchbook/benchbook/runner/placement"
)

// LibvirtNet is how a libvirt guest is connected.
type LibvirtNet struct {
	// Mode is "network" (a libvirt network, e.g. the NAT network "default"
	// behind virbr0), "bridge" (an existing host bridge), "direct" (a
	// macvtap on a host device, in bridge mode: the guest's NIC sits on
	// that device's wire, with no bridge on the host) or "user" (qemu's
	// user networking with a TCP port forward, passed to qemu on its
	// command line: libvirt 9.0 has no port forward for user networking).
	Mode string
	// Name is the libvirt network, the bridge or the device.
	Name string
	// HostAddr and HostPort are the hypervisor host's side of the user
	// mode port forward; HostAddr "" listens on all its addresses (remote
	// hypervisors: the load comes from another machine).
	HostAddr string
	HostPort int
}

// String is the notebook's spelling.
func (n LibvirtNet) String() string {
	if n.Mode == "user" {
		return "user"
	}
	return n.Mode + ":" + n.Name
}

// ParseLibvirtNet reads a notebook's network = "..." for a libvirt guest.
// "" and "auto" mean network:default on a local hypervisor, and user on a
// remote one, where the default NAT network is not reachable from here.
func ParseLibvirtNet(s string, remote bool) (LibvirtNet, error) {
	switch {
	case s == "" || s == "auto":
		if remote {
			return LibvirtNet{Mode: "user"}, nil
		}
		return LibvirtNet{Mode: "network", Name: "default"}, nil
	case s == "user":
		addr := "127.0.0.1"
		if remote {
			addr = ""
		}
		return LibvirtNet{Mode: "user", HostAddr: addr}, nil
	case strings.HasPrefix(s, "network:") && len(s) > len("network:"):
		return LibvirtNet{Mode: "network", Name: strings.TrimPrefix(s, "network:")}, nil
	case strings.HasPrefix(s, "bridge:") && len(s) > len("bridge:"):
		return LibvirtNet{Mode: "bridge", Name: strings.TrimPrefix(s, "bridge:")}, nil
	case strings.HasPrefix(s, "direct:") && len(s) > len("direct:"):
		return LibvirtNet{Mode: "direct", Name: strings.TrimPrefix(s, "direct:")}, nil
	}
	return LibvirtNet{}, fmt.Errorf("network %q: want network:NAME (e.g. network:default), bridge:NAME, direct:DEVICE or user", s)
}

// DomainOptions is what a domain needs besides the flavor's Boot.
type DomainOptions struct {
	Name  string // benchbook-<notebook>-<cell>-<guest>-<n>
	Accel string // tcg (domain type "qemu") or kvm
	Net   LibvirtNet
	MAC   string // of the guest's NIC (network and bridge modes)
	// Owner identifies the benchbook process ("pid@host") in the domain's
	// metadata, so doctor --clean leaves a running benchbook's domains be.
	Owner string
	// CPUs, when set, are the host CPUs the domain runs on: <cputune>
	// pins vCPU i to the i-th of them (round the set) and qemu's other
	// threads to all of them. Empty: no <cputune>, libvirt's default.
	CPUs placement.Set
	// ExecSocket is the unix socket of the exec port (Boot.Exec): a
	// virtio channel named guestexec.PortName that libvirt binds there.
	// "": libvirt picks the path on its own machine (a remote
	// hypervisor's), and benchbook reaches the port through libvirt's
	// channel API.
	ExecSocket string
}

// metadataNS is the namespace of benchbook's element in <metadata>.
const metadataNS = "https://github.com/benchbook/benchbook/libvirt"

// DomainXML turns a flavor's Boot into a libvirt domain: the libvirt
// counterpart of QemuArgs. The guest is the same machine either way: same
// machine type, memory, kernel, command line, disks, NIC model and RNG.
func DomainXML(b Boot, o DomainOptions) (*libvirtxml.Domain, error) {
	d, err := domainMachine(b, o)
	if err != nil {
		return nil, err
	}
	d.CPUTune = domainCPUTune(b, o.CPUs)
	addr := deviceAddress(d.OS.Type.Machine)
	domainConsole(d.Devices, b)
	domainDisks(d.Devices, b, addr)
	domainScratch(d.Devices, b, addr)
	if b.Exec {
		domainExec(d.Devices, o.ExecSocket, addr)
	}
	args, err := domainNet(d.Devices, b, o, addr)
	if err != nil {
		return nil, err
	}
	if b.RNG {
		d.Devices.RNGs = append(d.Devices.RNGs, libvirtxml.DomainRNG{
			Model:   "virtio",
			Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}},
			Address: addr(),
		})
	}
	args = append(args, b.Extra...)
	if len(args) > 0 {
		cl := &libvirtxml.DomainQEMUCommandline{}
		for _, a := range args {
			cl.Args = append(cl.Args, libvirtxml.DomainQEMUCommandlineArg{Value: a})
		}
		d.QEMUCommandline = cl
	}
	return d, nil
}

// domainMachine is the domain without its devices: type, memory, CPUs,
// kernel and command line, CPU model and features.
func domainMachine(b Boot, o DomainOptions) (*libvirtxml.Domain, error) {
	mem, err := memoryKiB(b.Memory)
	if err != nil {
		return nil, err
	}
	typ, accel := "qemu", "tcg" // domain type "qemu" is TCG
	if o.Accel == "kvm" {
		typ, accel = "kvm", "kvm"
	}
	machine := b.Machine
	if machine == "" {
		machine = "pc"
	}
	cpus := max(b.CPUs, 1)
	vcpu := &libvirtxml.DomainVCPU{Value: uint(cpus)}
	if room := cpuRoom(cpus, accel); room > cpus {
		vcpu = &libvirtxml.DomainVCPU{Value: uint(room), Current: uint(cpus)} // see cpuRoom
	}
	d := &libvirtxml.Domain{
		Type:        typ,
		Name:        o.Name,
		Description: "benchbook guest (" + b.Flavor + " flavor); transient, destroyed with the connection that made it",
		Memory:      &libvirtxml.DomainMemory{Value: mem, Unit: "KiB"},
		VCPU:        vcpu,
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: machine, Type: "hvm"},
			Kernel:  b.Kernel,
			Initrd:  b.Initrd,
			Cmdline: b.Append,
		},
		// A guest that powers off, reboots or panics is over: like qemu's
		// -no-reboot, so a failing init ends the run instead of looping.
		OnPoweroff: "destroy",
		OnReboot:   "destroy",
		OnCrash:    "destroy",
		Devices:    &libvirtxml.DomainDeviceList{},
	}
	if o.Owner != "" {
		d.Metadata = &libvirtxml.DomainMetadata{XML: fmt.Sprintf(`<benchbook:run xmlns:benchbook=%q owner=%q/>`, metadataNS, o.Owner)}
	}
	if b.Kernel == "" {
		d.OS.Cmdline = ""
	} else if typ == "qemu" && len(b.AppendTCG) > 0 {
		d.OS.Cmdline = strings.TrimSpace(b.Append + " " + strings.Join(b.AppendTCG, " "))
	}
	// As qemu's launcher: every feature TCG emulates (RDRAND among them,
	// so guests need not wait for entropy), or the host's CPU under KVM.
	d.CPU = &libvirtxml.DomainCPU{Mode: "maximum", Check: "none"}
	if typ == "kvm" {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough", Check: "none"}
	}
	// ACPI on, as qemu has it by default: without <acpi/> libvirt passes
	// -no-acpi, and OSv under TCG (no paravirtual clock) then finds no
	// HPET and halts. microvm's virtio-mmio devices are described through
	// ACPI too.
	d.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}}
	return d, nil
}

// domainCPUTune places the domain on cpus as the qemu launcher places its
// qemu (pinVCPUs): each vCPU on one CPU in turn, the emulator's threads
// on all of them; nil when nothing is placed.
func domainCPUTune(b Boot, cpus placement.Set) *libvirtxml.DomainCPUTune {
	if len(cpus) == 0 {
		return nil
	}
	t := &libvirtxml.DomainCPUTune{EmulatorPin: &libvirtxml.DomainCPUTuneEmulatorPin{CPUSet: cpus.String()}}
	for i := range max(b.CPUs, 1) {
		t.VCPUPin = append(t.VCPUPin, libvirtxml.DomainCPUTuneVCPUPin{VCPU: uint(i), CPUSet: strconv.Itoa(cpus[i%len(cpus)])})
	}
	return t
}

// deviceAddress gives each virtio device its address: virtio-mmio under
// microvm (which has no PCI bus), libvirt's choice otherwise.
func deviceAddress(machine string) func() *libvirtxml.DomainAddress {
	return func() *libvirtxml.DomainAddress {
		if machine == "microvm" {
			return &libvirtxml.DomainAddress{VirtioMMIO: &libvirtxml.DomainAddressVirtioMMIO{}}
		}
		return nil
	}
}

// domainConsole adds the serial console benchbook reads, and takes away
// what qemu's launcher does not have either (USB, a balloon, VGA for
// rumprun).
func domainConsole(dev *libvirtxml.DomainDeviceList, b Boot) {
	dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{Type: "usb", Model: "none"})
	// No balloon: qemu's launcher has none either, and under microvm it
	// would need a PCI bus.
	dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "none"}
	port := uint(0)
	dev.Serials = []libvirtxml.DomainSerial{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
	}}
	dev.Consoles = []libvirtxml.DomainConsole{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port},
	}}
	if b.NoVGA {
		dev.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "none"}}}
	}
}

// domainDisks adds the guest's disks, the first one booting when there is
// no kernel to boot directly.
func domainDisks(dev *libvirtxml.DomainDeviceList, b Boot, addr func() *libvirtxml.DomainAddress) {
	for i, disk := range b.Disks {
		dd := libvirtxml.DomainDisk{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: disk.Format},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: disk.Path}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vd" + string(rune('a'+i)), Bus: "virtio"},
		}
		if disk.Bus != "legacy" {
			// The same as qemu's launcher: the guest's disks are throw-away.
			dd.Driver.Cache = "unsafe"
		}
		if i == 0 && b.Kernel == "" {
			dd.Boot = &libvirtxml.DomainDeviceBoot{Order: 1}
		}
		dd.Address = addr()
		dev.Disks = append(dev.Disks, dd)
	}
}

// domainScratch attaches the boot's scratch disks (once made) as
// virtio-blk after the guest's own disks, with their serials, cache mode
// and I/O backend: the libvirt counterpart of scratchArgs.
func domainScratch(dev *libvirtxml.DomainDeviceList, b Boot, addr func() *libvirtxml.DomainAddress) {
	n := len(b.Disks)
	for _, s := range b.Scratch {
		if s.Path == "" {
			continue
		}
		dev.Disks = append(dev.Disks, libvirtxml.DomainDisk{
			Device:  "disk",
			Driver:  &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw", Cache: s.Cache, IO: s.AIO},
			Source:  &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: s.Path}},
			Target:  &libvirtxml.DomainDiskTarget{Dev: "vd" + string(rune('a'+n)), Bus: "virtio"},
			Serial:  s.Serial,
			Address: addr(),
		})
		n++
	}
}

// domainExec gives the domain the exec port: a virtio-serial channel named
// guestexec.PortName on a unix socket libvirt binds at sock, which
// benchbook dials (the libvirt counterpart of execArgs); with sock "",
// where libvirt chooses, which benchbook reaches through
// virDomainOpenChannel (it opens only unix channels). Under microvm the
// virtio-serial controller sits on virtio-mmio, there being no PCI bus.
func domainExec(dev *libvirtxml.DomainDeviceList, sock string, addr func() *libvirtxml.DomainAddress) {
	zero := uint(0)
	dev.Controllers = append(dev.Controllers, libvirtxml.DomainController{
		Type:         "virtio-serial",
		Index:        &zero,
		VirtIOSerial: &libvirtxml.DomainControllerVirtIOSerial{Ports: ptr(uint(2))},
		Address:      addr(),
	})
	dev.Channels = append(dev.Channels, libvirtxml.DomainChannel{
		Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind", Path: sock}},
		Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: guestexec.PortName}},
	})
}

func ptr[T any](v T) *T { return &v }

// domainNet adds the guest's NIC on a libvirt network or bridge, or
// returns qemu's arguments for user networking with its port forward.
func domainNet(dev *libvirtxml.DomainDeviceList, b Boot, o DomainOptions, addr func() *libvirtxml.DomainAddress) ([]string, error) {
	switch o.Net.Mode {
	case "user":
		fwd := fmt.Sprintf("hostfwd=tcp:%s:%d-:%d", o.Net.HostAddr, o.Net.HostPort, b.GuestPort)
		if b.NIC == NICLegacyVirtio {
			return []string{"-net", "nic,model=virtio", "-net", "user," + fwd}, nil
		}
		return []string{"-netdev", "user,id=bbnet0," + fwd, "-device", b.NIC + ",netdev=bbnet0"}, nil
	case "network", "bridge", "direct":
		ifc := libvirtxml.DomainInterface{
			MAC:     &libvirtxml.DomainInterfaceMAC{Address: o.MAC},
			Model:   &libvirtxml.DomainInterfaceModel{Type: "virtio"},
			Address: addr(),
		}
		switch o.Net.Mode {
		case "network":
			ifc.Source = &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: o.Net.Name}}
		case "bridge":
			ifc.Source = &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: o.Net.Name}}
		default:
			// Bridge mode: guests on one device reach each other, and
			// the wire beyond it; the host reaches them from another
			// device on that wire, never through the device itself.
			ifc.Source = &libvirtxml.DomainInterfaceSource{Direct: &libvirtxml.DomainInterfaceSourceDirect{Dev: o.Net.Name, Mode: "bridge"}}
		}
		dev.Interfaces = append(dev.Interfaces, ifc)
		return nil, nil
	}
	return nil, fmt.Errorf("network mode %q: want network, bridge, direct or user", o.Net.Mode)
}

// marshalDomain is the XML benchbook sends, indented for the record.
func marshalDomain(d *libvirtxml.Domain) (string, error) {
	out, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return "", fmt.Errorf("domain xml: %w", err)
	}
	return string(out), nil
}

// memoryKiB reads qemu's memory notation ("256M", "1G", "512" for MiB).
func memoryKiB(s string) (uint, error) {
	if s == "" {
		s = "256M"
	}
	mult := uint64(1024) // qemu: no suffix means MiB
	num := s
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult, num = 1, s[:len(s)-1]
	case "M":
		mult, num = 1024, s[:len(s)-1]
	case "G":
		mult, num = 1024*1024, s[:len(s)-1]
	case "T":
		mult, num = 1024*1024*1024, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("memory %q: want a size like 256M or 1G", s)
	}
	return uint(n * mult), nil
}

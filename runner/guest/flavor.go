package guest

import (
	"encoding/json"
	"fmt"
	"github.com/benchbook/benchbook/runner/image/guestinit"
	"os"
	"regexp"
	"strings"

	"github.com/benchbook/benchbook/runner/image"
)

// VMSpec is what a notebook says about a virtual machine guest, with paths
// already resolved. It is the same for every launcher (qemu, libvirt).
type VMSpec struct {
	Name      string
	Flavor    string // linux (default), osv, rumprun, raw
	Kernel    string
	Initrd    string
	Cmdline   []string
	Disk      string   // boot disk
	Disks     []string // more disks
	Memory    string   // "256M"; default per flavor
	CPUs      int      // default 1
	Machine   string   // microvm, pc, q35; default per flavor
	GuestPort int      // redis inside the guest; default 6379
	QemuArgs  []string // raw flavor: the user's own device arguments
	Scratch   []Scratch
	// Exec gives the VM the exec port (package guestexec), over which
	// loads with at = "guest" run inside it (linux flavor).
	Exec bool
}

// Boot is how one guest boots, described once and neutrally, so the qemu
// launcher turns it into a command line and the libvirt one into domain XML.
type Boot struct {
	Flavor    string
	Machine   string // microvm, pc or q35
	Memory    string // qemu's notation: "256M"
	CPUs      int
	Kernel    string
	Initrd    string
	Append    string // the kernel command line
	Disks     []Disk
	NIC       string // NICVirtioPCI, NICVirtioMMIO or NICLegacyVirtio
	RNG       bool   // a virtio-rng device (OSv wants entropy)
	NoVGA     bool   // rumprun prints to VGA unless there is none
	GuestPort int
	// ReadyLine is what the guest prints on its serial console when redis
	// accepts connections; readiness waits for it, then PINGs.
	ReadyLine *regexp.Regexp
	Extra     []string // raw flavor arguments
	// AppendTCG is added to Append when the guest runs under TCG.
	AppendTCG []string
	// Scratch are fresh disks made for the boot (linux flavor).
	Scratch []ScratchDisk
	// Exec: the VM has the exec port, a virtio-serial port named
	// guestexec.PortName on a unix socket of the host (linux flavor).
	Exec bool
}

// Disk is a disk of a guest. Snapshot keeps the image untouched: writes go
// to a throw-away overlay, so a guest that rewrites its own disk (OSv's
// --execute does) cannot change the user's image.
type Disk struct {
	Path     string
	Format   string // qcow2 or raw
	Bus      string // "virtio" (PCI or MMIO after the machine), "legacy" (-drive if=virtio)
	Snapshot bool
}

// NIC models.
const (
	NICVirtioPCI    = "virtio-net-pci"
	NICVirtioMMIO   = "virtio-net-device"
	NICLegacyVirtio = "legacy-virtio" // -net nic,model=virtio, as rumprun's launcher does
)

// Guest network addresses. User networking puts the guest at 10.0.2.15
// behind 10.0.2.2; benchbook's private bridges reuse the same plan, so an
// image configured for one works on the other.
const (
	GuestIP   = "10.0.2.15"
	GatewayIP = "10.0.2.2"
	PrefixLen = 24
)

var (
	redisReady = regexp.MustCompile(`(?i)ready to accept connections`)
)

// flavors describe each image kind's conventions once.
var flavors = map[string]func(VMSpec) (Boot, error){
	"linux":   linuxBoot,
	"osv":     osvBoot,
	"rumprun": rumprunBoot,
	"raw":     rawBoot,
}

// Flavors lists the flavor names.
func Flavors() []string { return []string{"linux", "osv", "rumprun", "raw"} }

// PlanBoot applies the flavor's conventions to spec.
func PlanBoot(spec VMSpec) (Boot, error) {
	name := spec.Flavor
	if name == "" {
		name = "linux"
	}
	f, ok := flavors[name]
	if !ok {
		return Boot{}, fmt.Errorf("unknown flavor %q (flavors: %s)", name, strings.Join(Flavors(), ", "))
	}
	b, err := f(spec)
	if err != nil {
		return Boot{}, fmt.Errorf("guest %s (%s): %w", spec.Name, name, err)
	}
	b.Flavor = name
	if spec.Machine != "" {
		b.Machine = spec.Machine
	}
	if b.Machine == "microvm" && b.NIC == NICVirtioPCI {
		b.NIC = NICVirtioMMIO
	}
	if b.Machine != "microvm" && b.NIC == NICVirtioMMIO {
		b.NIC = NICVirtioPCI
	}
	if len(spec.Scratch) > 0 {
		if name != "linux" {
			return Boot{}, fmt.Errorf("guest %s: scratch disks need the linux flavor, whose init formats them (image = \"builtin:linux\")", spec.Name)
		}
		disks, param, err := planScratch(spec.Scratch)
		if err != nil {
			return Boot{}, fmt.Errorf("guest %s: %w", spec.Name, err)
		}
		b.Scratch = disks
		b.Append = strings.TrimSpace(b.Append + " " + param)
	}
	if spec.Exec {
		if name != "linux" {
			return Boot{}, fmt.Errorf("guest %s: loads inside the guest need the linux flavor, whose init runs them (image = \"builtin:linux\")", spec.Name)
		}
		b.Exec = true
		b.Append = strings.TrimSpace(b.Append + " " + guestinit.ParamExec + "=1")
	}
	b.Memory = orStr(spec.Memory, b.Memory)
	b.CPUs = max(spec.CPUs, 1)
	b.GuestPort = spec.GuestPort
	if b.GuestPort == 0 {
		b.GuestPort = 6379
	}
	return b, nil
}

// linuxBoot: a kernel and an initramfs (benchbook's micro-VM image, or the
// user's), booted directly; the init reads its address from the command
// line. microvm boots fastest and has all a redis guest needs.
func linuxBoot(s VMSpec) (Boot, error) {
	if s.Kernel == "" || (s.Initrd == "" && s.Disk == "") {
		return Boot{}, fmt.Errorf("needs kernel and initrd (or image = \"builtin:linux-redis\")")
	}
	port := s.GuestPort
	if port == 0 {
		port = 6379
	}
	args := []string{"console=ttyS0", "panic=-1", "quiet", "loglevel=4", "cryptomgr.notests", "audit=0", "8250.nr_uarts=1",
		fmt.Sprintf("benchbook.ip=%s/%d", GuestIP, PrefixLen), "benchbook.gw=" + GatewayIP, fmt.Sprintf("benchbook.port=%d", port)}
	if len(s.Cmdline) > 0 {
		args = s.Cmdline
	}
	b := Boot{
		Machine:   "microvm",
		Memory:    "256M",
		Kernel:    s.Kernel,
		Initrd:    s.Initrd,
		Append:    strings.Join(args, " "),
		NIC:       NICVirtioPCI,
		ReadyLine: redisReady,
	}
	// Under TCG on a busy host the kernel fails to calibrate the TSC
	// against the PIT, finds no other reference on microvm (no HPET, no PM
	// timer) and hangs with no output. TCG's TSC runs at the host's rate, so
	// the host's TSC frequency is the right answer to give it.
	if khz, err := image.HostTSCKHz(); err == nil && khz > 0 {
		b.AppendTCG = []string{fmt.Sprintf("tsc_early_khz=%d", khz), "tsc=reliable", "no_timer_check"}
	}
	for _, d := range append(nonEmpty(s.Disk), s.Disks...) {
		b.Disks = append(b.Disks, Disk{Path: d, Format: formatOf(d), Bus: "virtio", Snapshot: true})
	}
	return b, nil
}

// osvBoot: OSv boots its qcow2 disk through the BIOS with the command line
// baked into the image, or -- about five times faster to ready -- directly
// from loader-stripped.elf with the command line on -append. It wants
// virtio-blk and virtio-net on PCI, and entropy.
func osvBoot(s VMSpec) (Boot, error) {
	if s.Disk == "" {
		return Boot{}, fmt.Errorf("needs disk (OSv's usr.img, qcow2)")
	}
	if f := formatOf(s.Disk); f != "qcow2" {
		return Boot{}, fmt.Errorf("disk %s: OSv boots from a qcow2 image (a raw copy does not boot)", s.Disk)
	}
	b := Boot{
		Machine:   "pc",
		Memory:    "1G",
		Disks:     []Disk{{Path: s.Disk, Format: "qcow2", Bus: "virtio", Snapshot: true}},
		NIC:       NICVirtioPCI,
		RNG:       true,
		ReadyLine: redisReady,
	}
	for _, d := range s.Disks {
		b.Disks = append(b.Disks, Disk{Path: d, Format: formatOf(d), Bus: "virtio", Snapshot: true})
	}
	if s.Kernel != "" {
		b.Kernel = s.Kernel
		b.Append = strings.Join(s.Cmdline, " ")
		if b.Append == "" {
			return Boot{}, fmt.Errorf("direct boot of %s needs cmdline, e.g. \"--rootfs=rofs /redis-server redis.conf\"", s.Kernel)
		}
	}
	return b, nil
}

// rumprunConfig is rumprun's JSON configuration. Its parser is lenient and
// keeps repeated keys, so benchbook writes the string itself, from this
// struct, with each key once.
type rumprunConfig struct {
	Cmdline string       `json:"cmdline"`
	Net     *rumprunNet  `json:"net,omitempty"`
	Blk     []rumprunBlk `json:"-"`
}

type rumprunNet struct {
	If     string `json:"if"`
	Type   string `json:"type"`
	Method string `json:"method"`
	Addr   string `json:"addr"`
	Mask   string `json:"mask"`
	Gw     string `json:"gw"`
}

type rumprunBlk struct {
	Source     string `json:"source"`
	Path       string `json:"path"`
	Fstype     string `json:"fstype"`
	Mountpoint string `json:"mountpoint"`
}

func (c rumprunConfig) String() string {
	var b strings.Builder
	cmd, _ := json.Marshal(c.Cmdline)
	fmt.Fprintf(&b, `{"cmdline":%s`, cmd)
	if c.Net != nil {
		n, _ := json.Marshal(c.Net)
		fmt.Fprintf(&b, `,"net":%s`, n)
	}
	// One "blk" key per disk: rumprun reads repeated keys in order.
	for _, d := range c.Blk {
		j, _ := json.Marshal(d)
		fmt.Fprintf(&b, `,"blk":%s`, j)
	}
	b.WriteString("}")
	return b.String()
}

// rumprunBoot: a multiboot unikernel booted with -kernel; its configuration
// is JSON on the command line; it needs no VGA (or its console goes there)
// and, like rumprun's own launcher, the legacy -net nic,model=virtio.
func rumprunBoot(s VMSpec) (Boot, error) {
	if s.Kernel == "" {
		return Boot{}, fmt.Errorf("needs kernel (the baked redis-server binary, multiboot)")
	}
	if len(s.Cmdline) == 0 {
		return Boot{}, fmt.Errorf("needs cmdline, e.g. [\"redis-server\", \"/data/conf/redis.conf\"]")
	}
	cfg := rumprunConfig{
		Cmdline: strings.Join(s.Cmdline, " "),
		Net:     &rumprunNet{If: "vioif0", Type: "inet", Method: "static", Addr: GuestIP, Mask: fmt.Sprint(PrefixLen), Gw: GatewayIP},
	}
	b := Boot{
		Machine:   "pc",
		Memory:    "256M",
		Kernel:    s.Kernel,
		NIC:       NICLegacyVirtio,
		NoVGA:     true,
		ReadyLine: redisReady,
	}
	disks := append(nonEmpty(s.Disk), s.Disks...)
	for i, d := range disks {
		b.Disks = append(b.Disks, Disk{Path: d, Format: formatOf(d), Bus: "legacy", Snapshot: true})
		// The first data disk is mounted at /data, the others at /data1...
		mp := "/data"
		if i > 0 {
			mp = fmt.Sprintf("/data%d", i)
		}
		cfg.Blk = append(cfg.Blk, rumprunBlk{Source: "dev", Path: fmt.Sprintf("/dev/ld%da", i), Fstype: "blk", Mountpoint: mp})
	}
	b.Append = cfg.String()
	return b, nil
}

// rawBoot: the user's own qemu arguments; benchbook still owns networking,
// console, QMP and teardown.
func rawBoot(s VMSpec) (Boot, error) {
	b := Boot{Machine: "pc", Memory: "256M", NIC: NICVirtioPCI, Extra: s.QemuArgs, Kernel: s.Kernel, Initrd: s.Initrd, Append: strings.Join(s.Cmdline, " ")}
	for _, d := range append(nonEmpty(s.Disk), s.Disks...) {
		b.Disks = append(b.Disks, Disk{Path: d, Format: formatOf(d), Bus: "virtio", Snapshot: true})
	}
	return b, nil
}

// formatOf tells qcow2 from raw by the file's magic, so qemu never has to
// guess (it refuses to write to a guessed raw image's first sector), and an
// OSv image converted to raw is caught before it fails to boot.
func formatOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		if strings.HasSuffix(path, ".qcow2") || strings.HasSuffix(path, ".img") {
			return "qcow2"
		}
		return "raw"
	}
	defer f.Close()
	magic := make([]byte, 4)
	if n, _ := f.Read(magic); n == 4 && string(magic) == "QFI\xfb" {
		return "qcow2"
	}
	return "raw"
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

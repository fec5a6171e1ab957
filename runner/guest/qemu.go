package guest

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"github.com/benchbook/benchbook/runner/guestexec"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
	"github.com/benchbook/benchbook/runner/placement"
)

// QemuBinary is the emulator benchbook runs.
const QemuBinary = "qemu-system-x86_64"

// Network plans how a guest is reached.
type Network struct {
	// Mode is one of QemuNetModes: "user" (qemu's user networking with a
	// port forward on the host's loopback), "tap", "tap-routed",
	// "macvtap", "passt" or "vhost".
	Mode string
	// HostPort is the loopback port forwarded to the guest (user and
	// passt); 0: Start picks a free one.
	HostPort int
	// Tap is the tap device (tap, tap-routed, vhost).
	Tap string
	// Netns, when set, is the network namespace qemu runs in (a name under
	// /run/netns); the load must run there too.
	Netns string
	// Private: Start makes a network namespace and the mode's devices in
	// it, and sets Tap and Netns (and MAC for macvtap).
	Private bool
	// MAC is the guest NIC's address (macvtap: the macvtap's own).
	MAC string
	// Socket is passt's socket (passt).
	Socket string
	// Vhost asks qemu for vhost-net on the tap (vhost, where the kernel
	// has it).
	Vhost bool
}

// tapFD is the descriptor qemu finds an open macvtap on (the first of
// exec.Cmd's ExtraFiles).
const tapFD = 3

// QemuConfig is one qemu guest.
type QemuConfig struct {
	Name  string
	Boot  Boot
	Accel string // kvm or tcg, already decided (see ProbeAccel)
	Net   Network
	// RunDir is a private folder for the QMP socket, removed by Stop; ""
	// makes one under the temporary folder.
	RunDir       string
	ConsolePath  string // bounded log of the serial console
	ReadyTimeout time.Duration
	// Ready is the check that tells the guest is ready; the zero value is
	// redis: the flavor's console line, then PING.
	Ready Ready
	Trace func(StepEvent) // called as each start step and undo begins and ends
	// CPUs, when set, are the CPUs qemu runs on: it starts with that
	// affinity, and each vCPU thread is then pinned to one of them (see
	// pinVCPUs). Empty: not placed.
	CPUs placement.Set
}

// Qemu is a guest booted by qemu-system-x86_64. Start's steps complete
// cfg (the network's tap and namespace, the run folder) under mu.
type Qemu struct {
	cfg  QemuConfig
	life lifecycle

	mu      sync.Mutex
	bridge  string   // the private namespace's device holding the gateway, for its DHCP server
	hostDev string   // the guest's host-side device (tap0, macvtap0), whose MTU the path has
	tapFile *os.File // the open macvtap qemu inherits as tapFD
	proc    *proc
	begin   time.Time // qemu started
	bootMs  float64
	facts   factSet
	exec    *guestexec.Client // the exec port, when Boot.Exec
}

var _ Guest = (*Qemu)(nil)

// NewQemu checks that qemu and the guest's files exist; a missing one
// wraps ErrUnavailable.
func NewQemu(cfg QemuConfig) (*Qemu, error) {
	if _, err := exec.LookPath(QemuBinary); err != nil {
		return nil, fmt.Errorf("guest %s: %w: %s not found (apt-get install qemu-system-x86)", cfg.Name, ErrUnavailable, QemuBinary)
	}
	if err := bootFiles(cfg.Name, cfg.Boot); err != nil {
		return nil, err
	}
	if err := forwardedTCP(cfg.Name, cfg.Ready, cfg.Net.Mode); err != nil {
		return nil, err
	}
	cfg.ReadyTimeout, cfg.Accel = vmDefaults(cfg.ReadyTimeout, cfg.Accel)
	return &Qemu{cfg: cfg, life: lifecycle{guest: cfg.Name, trace: cfg.Trace}}, nil
}

// bootFiles checks that the files a VM boots from exist; a missing one
// wraps ErrUnavailable.
func bootFiles(name string, b Boot) error {
	for _, f := range append([]string{b.Kernel, b.Initrd}, diskPaths(b.Disks)...) {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("guest %s: %w: %s is missing (see docs/guests/%s.md)", name, ErrUnavailable, f, b.Flavor)
		}
	}
	return nil
}

// vmDefaults fills a VM's unset ready timeout (2 minutes) and accelerator
// (tcg).
func vmDefaults(readyTimeout time.Duration, accel string) (time.Duration, string) {
	if readyTimeout <= 0 {
		readyTimeout = 2 * time.Minute
	}
	return readyTimeout, cmp.Or(accel, "tcg")
}

func diskPaths(ds []Disk) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Path
	}
	return out
}

// QemuArgs returns qemu's command line for the guest (without the binary).
// consolePath-free: the console is qemu's stdout, which benchbook reads.
// runDir holds qemu's sockets (QMP, the exec port); "" for none.
func QemuArgs(b Boot, accel string, n Network, runDir string) []string {
	args := machineArgs(b, accel)
	if runDir != "" {
		args = append(args, "-qmp", "unix:"+qmpSocket(runDir)+",server=on,wait=off")
	}
	if b.Exec && runDir != "" {
		args = append(args, execArgs(b, execSocket(runDir))...)
	}
	args = append(args, kernelArgs(b, accel)...)
	args = append(args, diskArgs(b)...)
	args = append(args, scratchArgs(b)...)
	args = append(args, nicArgs(b, n)...)
	if b.RNG {
		dev := "virtio-rng-pci"
		if b.Machine == "microvm" {
			dev = "virtio-rng-device"
		}
		args = append(args, "-device", dev)
	}
	return append(args, b.Extra...)
}

// machineArgs: the machine, its CPU and memory, and no device benchbook
// did not ask for.
func machineArgs(b Boot, accel string) []string {
	machine := b.Machine
	switch machine {
	case "microvm":
		// No option ROMs, no PCI: the fastest boot qemu has for a kernel.
		machine = "microvm,x-option-roms=off,rtc=on"
	case "":
		machine = "pc"
	}
	args := []string{
		"-name", "guest=" + sanitizeName(b.Flavor),
		"-machine", machine + ",accel=" + accel,
		"-cpu", cpuModel(accel),
		"-m", b.Memory,
		"-smp", smpArg(b.CPUs, accel),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
		"-no-reboot",
	}
	if b.NoVGA {
		args = append(args, "-vga", "none")
	}
	return args
}

// kernelArgs boot a kernel directly, with its command line (and what it
// needs under TCG).
func kernelArgs(b Boot, accel string) []string {
	if b.Kernel == "" {
		return nil
	}
	args := []string{"-kernel", b.Kernel}
	if b.Initrd != "" {
		args = append(args, "-initrd", b.Initrd)
	}
	app := b.Append
	if accel == "tcg" && len(b.AppendTCG) > 0 {
		app = strings.TrimSpace(app + " " + strings.Join(b.AppendTCG, " "))
	}
	if app != "" {
		args = append(args, "-append", app)
	}
	return args
}

// diskArgs attach the disks as virtio (on PCI, or MMIO under microvm), the
// first one booting when there is no kernel.
func diskArgs(b Boot) []string {
	var args []string
	for i, d := range b.Disks {
		opts := fmt.Sprintf("file=%s,format=%s", d.Path, d.Format)
		if d.Snapshot {
			opts += ",snapshot=on"
		}
		if d.Bus == "legacy" {
			args = append(args, "-drive", "if=virtio,"+opts)
			continue
		}
		id := fmt.Sprintf("hd%d", i)
		args = append(args, "-drive", opts+",if=none,id="+id+",cache=unsafe")
		dev := "virtio-blk-pci"
		if b.Machine == "microvm" {
			dev = "virtio-blk-device"
		}
		dev += ",drive=" + id
		if i == 0 && b.Kernel == "" {
			dev += ",bootindex=0"
		}
		args = append(args, "-device", dev)
	}
	return args
}

// nicArgs give the guest its NIC on its network mode's backend.
func nicArgs(b Boot, n Network) []string {
	backend := netBackend(b, n)
	if b.NIC == NICLegacyVirtio {
		nic := "nic,model=virtio"
		if n.MAC != "" {
			nic += ",macaddr=" + n.MAC
		}
		return []string{"-net", nic, "-net", backend}
	}
	kind, rest, _ := strings.Cut(backend, ",")
	dev := b.NIC + ",netdev=n0"
	if n.MAC != "" {
		dev += ",mac=" + n.MAC
	}
	return []string{"-netdev", kind + ",id=n0," + rest, "-device", dev}
}

// netBackend is the -netdev (or -net) backend of the mode.
func netBackend(b Boot, n Network) string {
	switch n.Mode {
	case "tap", "tap-routed", "vhost":
		backend := "tap,ifname=" + n.Tap + ",script=no,downscript=no"
		if n.Vhost {
			backend += ",vhost=on"
		}
		return backend
	case "macvtap":
		return fmt.Sprintf("tap,fd=%d", tapFD)
	case "passt":
		return "stream,server=off,addr.type=unix,addr.path=" + n.Socket
	}
	return fmt.Sprintf("user,hostfwd=tcp:127.0.0.1:%d-:%d", n.HostPort, b.GuestPort)
}

// cpuRoom is how many CPUs a guest of cpus CPUs has room for. A TCG machine
// with room for one CPU only is translated without the guest's memory
// barriers (fences, and lock-prefixed instructions done non-atomically):
// qemu assumes nothing runs beside that vCPU, yet its device models run at
// the same time in its I/O thread. A guest driver's "enable notifications,
// fence, check the ring again" then races with the device and loses a
// notification: OSv's virtio-net receive thread went to sleep with packets
// in its ring and the guest answered nothing more, mid-load. Room for a
// second CPU that is never plugged in makes qemu translate for parallel
// execution; the guest still runs on one.
func cpuRoom(cpus int, accel string) int {
	if accel == "tcg" && cpus == 1 {
		return 2
	}
	return cpus
}

// smpArg is qemu's -smp value.
func smpArg(cpus int, accel string) string {
	cpus = max(cpus, 1)
	if room := cpuRoom(cpus, accel); room > cpus {
		return fmt.Sprintf("%d,maxcpus=%d", cpus, room)
	}
	return strconv.Itoa(cpus)
}

// cpuModel: the host's CPU under KVM; under TCG "max", every feature TCG
// emulates (RDRAND among them, which keeps guests from waiting for entropy).
func cpuModel(accel string) string {
	if accel == "kvm" {
		return "host"
	}
	return "max"
}

func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// Command is the full command line benchbook runs, for the record.
// Before Start it lacks what Start's steps decide (the namespace, the run
// folder).
func (q *Qemu) Command() []string {
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
	argv := append([]string{QemuBinary}, QemuArgs(cfg.Boot, cfg.Accel, cfg.Net, cfg.RunDir)...)
	if cfg.Net.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", cfg.Net.Netns}, argv...)
	}
	return argv
}

// execArgs give the VM the exec port: a virtio-serial port named
// guestexec.PortName whose other end is a unix socket benchbook dials.
func execArgs(b Boot, sock string) []string {
	bus := "virtio-serial-pci"
	if b.Machine == "microvm" {
		bus = "virtio-serial-device"
	}
	return []string{
		"-chardev", "socket,id=bbexec,path=" + sock + ",server=on,wait=off",
		"-device", bus + ",max_ports=2",
		"-device", "virtserialport,chardev=bbexec,name=" + guestexec.PortName,
	}
}

func execSocket(runDir string) string { return filepath.Join(runDir, "exec.sock") }

func qmpSocket(runDir string) string {
	if runDir == "" {
		return ""
	}
	return filepath.Join(runDir, "qmp.sock")
}

// endpoint is where the guest's redis answers, seen from where the load runs.
func (q *Qemu) endpoint() Endpoint {
	q.mu.Lock()
	n, port, exec := q.cfg.Net, q.cfg.Boot.GuestPort, q.exec
	q.mu.Unlock()
	ep := Endpoint{Addr: fmt.Sprintf("127.0.0.1:%d", n.HostPort), Netns: n.Netns, Exec: exec}
	if !n.forwarded() {
		ep.Addr = net.JoinHostPort(GuestIP, strconv.Itoa(port))
	}
	if exec != nil {
		ep.Inside = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	ep.InsideOnly = n.Mode == "loopback"
	return ep
}

// BootMs is the time from starting qemu to the guest's passing its ready
// check (the first PONG for redis).
func (q *Qemu) BootMs() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bootMs
}

// Exited is closed when qemu has ended.
func (q *Qemu) Exited() <-chan struct{} { return q.started().exitedCh() }

// LogTail is the end of the console, for error messages.
func (q *Qemu) LogTail() string { return q.started().tail(q.cfg.ConsolePath) }

// started is qemu's process once Start ran it, else nil.
func (q *Qemu) started() *proc {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.proc
}

// Facts describe the guest.
func (q *Qemu) Facts() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]string{
		"kind":    "qemu",
		"flavor":  q.cfg.Boot.Flavor,
		"accel":   q.cfg.Accel,
		"machine": q.cfg.Boot.Machine,
		"memory":  q.cfg.Boot.Memory,
		"cpus":    strconv.Itoa(max(q.cfg.Boot.CPUs, 1)),
		"network": q.cfg.Net.Mode,
	}
	if q.cfg.Net.Netns != "" {
		out["network"] += " in a private network namespace"
	}
	if v := QemuVersion(); v != "" {
		out["qemu_version"] = v
	}
	q.facts.addTo(out)
	return out
}

var qemuVersion = sync.OnceValue(func() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, QemuBinary, "--version").Output()
	if err != nil {
		return ""
	}
	if m := regexp.MustCompile(`version (\S+)`).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
})

// QemuVersion is the installed qemu's version, or "".
func QemuVersion() string { return qemuVersion() }

// qmpQuit sends "quit" over QMP. Errors are ignored: signals follow.
func qmpQuit(sock string, timeout time.Duration) {
	conn, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(conn)
	r.ReadString('\n') // greeting
	enc := json.NewEncoder(conn)
	enc.Encode(map[string]string{"execute": "qmp_capabilities"})
	r.ReadString('\n')
	enc.Encode(map[string]string{"execute": "quit"})
	r.ReadString('\n')
}

// infoVia reads INFO server through the endpoint (inside its namespace).
func infoVia(ctx context.Context, ep Endpoint) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := ep.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return resp.InfoConn(ctx, conn, "server")
}

// PID is qemu's process id once it started, else 0.
func (q *Qemu) PID() int { return q.started().pid() }

package guest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
)

// QemuBinary is the emulator benchbook runs.
const QemuBinary = "qemu-system-x86_64"

// Network plans how a guest is reached.
type Network struct {
	// Mode is "user" (qemu's user networking with a port forward on the
	// host's loopback) or "tap" (a tap device, e.g. on a private bridge in
	// a network namespace benchbook made).
	Mode string
	// HostPort is the loopback port forwarded to the guest (user mode).
	HostPort int
	// Tap is the tap device (tap mode).
	Tap string
	// Netns, when set, is the network namespace qemu runs in (a name under
	// /run/netns); the load must run there too.
	Netns string
}

// QemuConfig is one qemu guest.
type QemuConfig struct {
	Name         string
	Boot         Boot
	Accel        string // kvm or tcg, already decided (see ProbeAccel)
	Net          Network
	RunDir       string // private folder for the QMP socket; removed by Stop
	ConsolePath  string // bounded log of the serial console
	ReadyTimeout time.Duration
}

// Qemu is a guest booted by qemu-system-x86_64.
type Qemu struct {
	cfg QemuConfig

	mu      sync.Mutex
	started bool
	stopped bool
	proc    *proc
	bootMs  float64
	facts   factSet
	qmpPath string
}

var _ Guest = (*Qemu)(nil)

// NewQemu checks that qemu and the guest's files exist; a missing one
// wraps ErrUnavailable.
func NewQemu(cfg QemuConfig) (*Qemu, error) {
	if _, err := exec.LookPath(QemuBinary); err != nil {
		return nil, fmt.Errorf("guest %s: %w: %s not found (apt-get install qemu-system-x86)", cfg.Name, ErrUnavailable, QemuBinary)
	}
	b := cfg.Boot
	for _, f := range append([]string{b.Kernel, b.Initrd}, diskPaths(b.Disks)...) {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("guest %s: %w: %s is missing (see docs/guests/%s.md)", cfg.Name, ErrUnavailable, f, b.Flavor)
		}
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Minute
	}
	if cfg.Accel == "" {
		cfg.Accel = "tcg"
	}
	return &Qemu{cfg: cfg}, nil
}

func diskPaths(ds []Disk) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Path
	}
	return out
}

// Args returns qemu's command line for the guest (without the binary).
// consolePath-free: the console is qemu's stdout, which benchbook reads.
func QemuArgs(b Boot, accel string, n Network, qmp string) []string {
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
		"-smp", strconv.Itoa(max(b.CPUs, 1)),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
		"-no-reboot",
	}
	if b.NoVGA {
		args = append(args, "-vga", "none")
	}
	if qmp != "" {
		args = append(args, "-qmp", "unix:"+qmp+",server=on,wait=off")
	}
	if b.Kernel != "" {
		args = append(args, "-kernel", b.Kernel)
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
	}
	mmio := b.Machine == "microvm"
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
		if mmio {
			dev = "virtio-blk-device"
		}
		dev += ",drive=" + id
		if i == 0 && b.Kernel == "" {
			dev += ",bootindex=0"
		}
		args = append(args, "-device", dev)
	}
	var backend string
	switch n.Mode {
	case "tap":
		backend = "tap,ifname=" + n.Tap + ",script=no,downscript=no"
	default:
		backend = fmt.Sprintf("user,hostfwd=tcp:127.0.0.1:%d-:%d", n.HostPort, b.GuestPort)
	}
	if b.NIC == NICLegacyVirtio {
		args = append(args, "-net", "nic,model=virtio", "-net", backend)
	} else {
		kind, rest, _ := strings.Cut(backend, ",")
		args = append(args, "-netdev", kind+",id=n0,"+rest, "-device", b.NIC+",netdev=n0")
	}
	if b.RNG {
		dev := "virtio-rng-pci"
		if mmio {
			dev = "virtio-rng-device"
		}
		args = append(args, "-device", dev)
	}
	return append(args, b.Extra...)
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
func (q *Qemu) Command() []string {
	argv := append([]string{QemuBinary}, QemuArgs(q.cfg.Boot, q.cfg.Accel, q.cfg.Net, q.qmpSocket())...)
	if q.cfg.Net.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", q.cfg.Net.Netns}, argv...)
	}
	return argv
}

func (q *Qemu) qmpSocket() string {
	if q.cfg.RunDir == "" {
		return ""
	}
	return filepath.Join(q.cfg.RunDir, "qmp.sock")
}

// endpoint is where the guest's redis answers, seen from where the load runs.
func (q *Qemu) endpoint() Endpoint {
	if q.cfg.Net.Mode == "tap" {
		return Endpoint{Addr: net.JoinHostPort(GuestIP, strconv.Itoa(q.cfg.Boot.GuestPort)), Netns: q.cfg.Net.Netns}
	}
	return Endpoint{Addr: fmt.Sprintf("127.0.0.1:%d", q.cfg.Net.HostPort), Netns: q.cfg.Net.Netns}
}

// Start boots the guest and waits for its console to say redis is ready,
// then for a PONG. Every failure stops what was started.
func (q *Qemu) Start(ctx context.Context) (ep Endpoint, err error) {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return Endpoint{}, fmt.Errorf("guest %s: started twice", q.cfg.Name)
	}
	q.started = true
	q.mu.Unlock()
	defer func() {
		if err != nil {
			q.Stop(context.WithoutCancel(ctx))
		}
	}()
	if q.cfg.RunDir != "" {
		if err := os.MkdirAll(q.cfg.RunDir, 0o700); err != nil {
			return Endpoint{}, fmt.Errorf("guest %s: %w", q.cfg.Name, err)
		}
	}
	argv := q.Command()
	begin := time.Now()
	p, err := startProc(q.cfg.Name, argv, nil, "", q.cfg.ConsolePath, q.cfg.Boot.ReadyLine)
	if err != nil {
		return Endpoint{}, err
	}
	q.mu.Lock()
	q.proc = p
	q.mu.Unlock()

	rctx, cancel := context.WithTimeout(ctx, q.cfg.ReadyTimeout)
	defer cancel()
	if err := p.waitLine(rctx); err != nil {
		if ctx.Err() != nil {
			return Endpoint{}, ctx.Err()
		}
		return Endpoint{}, fmt.Errorf("guest %s: %w%s", q.cfg.Name, q.explain(err), p.tail(q.cfg.ConsolePath))
	}
	ep = q.endpoint()
	left := q.cfg.ReadyTimeout - time.Since(begin)
	if err := waitReadyDial(ctx, ep, max(left, 5*time.Second), p.exited); err != nil {
		return Endpoint{}, fmt.Errorf("guest %s: %w%s", q.cfg.Name, err, p.tail(q.cfg.ConsolePath))
	}
	q.mu.Lock()
	q.bootMs = float64(time.Since(begin).Microseconds()) / 1000
	q.mu.Unlock()
	if info, err := infoVia(ctx, ep); err == nil {
		q.setFact("redis_version", info["redis_version"])
	}
	return ep, nil
}

// explain turns a readiness failure into what the user needs to know.
func (q *Qemu) explain(err error) error {
	switch {
	case errors.Is(err, errExited):
		return fmt.Errorf("qemu exited before redis was ready (%v)", q.proc.exitErr())
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: the console never said redis is ready within %s (accel %s)", ErrNotReady, q.cfg.ReadyTimeout, q.cfg.Accel)
	}
	return err
}

// BootMs is the time from starting qemu to the first PONG.
func (q *Qemu) BootMs() float64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bootMs
}

func (q *Qemu) setFact(k, v string) { q.facts.set(k, v) }

// Stop asks qemu to quit over QMP, then signals it, and always reaps it.
func (q *Qemu) Stop(ctx context.Context) error {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return nil
	}
	q.stopped = true
	p := q.proc
	q.mu.Unlock()
	var errs []error
	if p != nil {
		gentle := func() {
			if sock := q.qmpSocket(); sock != "" {
				qmpQuit(sock, time.Second)
			}
		}
		errs = append(errs, p.stop(ctx, 3*time.Second, gentle))
	}
	if q.cfg.RunDir != "" {
		errs = append(errs, os.RemoveAll(q.cfg.RunDir))
	}
	return errors.Join(errs...)
}

// Exited is closed when qemu has ended.
func (q *Qemu) Exited() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.proc == nil {
		return make(chan struct{})
	}
	return q.proc.exited
}

// LogTail is the end of the console, for error messages.
func (q *Qemu) LogTail() string {
	q.mu.Lock()
	p := q.proc
	q.mu.Unlock()
	if p == nil {
		return ""
	}
	return p.tail(q.cfg.ConsolePath)
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

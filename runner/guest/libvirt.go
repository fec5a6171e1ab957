package guest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/benchbook/benchbook/runner/guestexec"
	"github.com/benchbook/benchbook/runner/placement"
)

// LibvirtConfig is one libvirt guest.
type LibvirtConfig struct {
	Name   string // the notebook's guest name
	Domain string // the domain's name: DomainName(notebook, cell, guest, n)
	URI    string // default DefaultLibvirtURI
	Boot   Boot   // the flavor's description, as for qemu
	Accel  string // tcg (domain type "qemu") or kvm, already decided
	Net    LibvirtNet
	// ConsolePath is benchbook's bounded copy of the serial console, read
	// through libvirt (so it works for remote hypervisors too).
	ConsolePath  string
	ReadyTimeout time.Duration
	// Ready is the check that tells the guest is ready; the zero value is
	// redis: the flavor's console line, then PING.
	Ready Ready
	Trace func(StepEvent) // called as each start step and undo begins and ends
	// CPUs, when set, are the host CPUs the domain runs on (its
	// <cputune>); only for a hypervisor on this machine. Empty: not placed.
	CPUs placement.Set
}

// Libvirt is a guest booted by a libvirt daemon as a transient domain. The
// domain is created with autodestroy: if benchbook dies, its connection
// drops and libvirtd destroys the domain.
//
// Start's steps run one after the other and own boot, mac and ip; the
// fields others read (conn, xml, netns, log, the console's) change under mu.
type Libvirt struct {
	cfg  LibvirtConfig
	life lifecycle

	boot    Boot       // cfg.Boot, pointed at the staged files and the network's address
	mac     string     // the guest's NIC
	ip      netip.Addr // the guest's address, once known
	ep      Endpoint
	network *lvNetwork
	dom     libvirt.Domain
	watch   *lineWatch
	begin   time.Time // the domain was asked for
	readyBy time.Time // the ready line and the address are due
	runDir  string    // this machine's folder of the scratch files and the exec socket

	mu        sync.Mutex
	conn      *lvConn
	reconnErr error // reconnecting to clean up failed: later undos do without
	xml       string
	netns     string
	log       *Log
	exited    chan struct{}
	conConn   *lvConn       // the connection the console streams on, once it does
	conDone   chan struct{} // closed when the console stream ended
	conErr    error
	bootMs    float64
	facts     factSet
	exec      *guestexec.Client // the exec port, when Boot.Exec: its socket's, or a remote domain's channel stream
}

var _ Guest = (*Libvirt)(nil)

// DomainName is the name of a benchbook domain: benchbook-<notebook>-
// <cell>-<guest>-<n>, with anything but letters, digits, '-' and '_'
// replaced, so doctor --clean finds leftovers by the prefix.
func DomainName(notebook, cell, guest string, n int) string {
	return "benchbook-" + sanitizeName(notebook) + "-" + sanitizeName(cell) + "-" + sanitizeName(guest) + "-" + strconv.Itoa(n)
}

// DomainPrefix starts every domain benchbook makes.
const DomainPrefix = "benchbook-"

// NewLibvirt checks the configuration and that the guest's files exist on
// this machine (benchbook copies or uploads them); a missing one wraps
// ErrUnavailable. It does not contact libvirt: Start does.
func NewLibvirt(cfg LibvirtConfig) (*Libvirt, error) {
	if !strings.HasPrefix(cfg.Domain, DomainPrefix) {
		return nil, fmt.Errorf("guest %s: domain name %q must start with %q", cfg.Name, cfg.Domain, DomainPrefix)
	}
	if cfg.URI == "" {
		cfg.URI = DefaultLibvirtURI
	}
	if err := bootFiles(cfg.Name, cfg.Boot); err != nil {
		return nil, err
	}
	switch cfg.Net.Mode {
	case "network", "bridge", "user":
	case "direct":
		if !staticAddress(cfg.Boot) {
			return nil, fmt.Errorf("guest %s: network direct:%s: a macvtap guest has no DHCP of benchbook's to learn its address from; use a flavor that takes its address on the command line (linux, osv, rumprun) or network:NAME", cfg.Name, cfg.Net.Name)
		}
	default:
		return nil, fmt.Errorf("guest %s: network mode %q: want network, bridge, direct or user", cfg.Name, cfg.Net.Mode)
	}
	if err := forwardedTCP(cfg.Name, cfg.Ready, cfg.Net.Mode); err != nil {
		return nil, err
	}
	cfg.ReadyTimeout, cfg.Accel = vmDefaults(cfg.ReadyTimeout, cfg.Accel)
	if len(cfg.CPUs) > 0 && IsRemoteLibvirt(cfg.URI) {
		return nil, fmt.Errorf("guest %s: CPUs of this machine cannot place a domain of %s, another one", cfg.Name, cfg.URI)
	}
	g := &Libvirt{
		cfg:     cfg,
		life:    lifecycle{guest: cfg.Name, trace: cfg.Trace},
		boot:    cfg.Boot,
		mac:     newMAC(),
		exited:  make(chan struct{}),
		conDone: make(chan struct{}),
	}
	return g, nil
}

// isLibvirtError tells an error libvirtd answered from a broken connection.
func isLibvirtError(err error) bool { return lvErrCode(err) >= 0 }

// Exited is closed when the domain has ended (its console closed).
func (g *Libvirt) Exited() <-chan struct{} { return g.exited }

// LogTail is the end of the console, for error messages.
func (g *Libvirt) LogTail() string {
	g.mu.Lock()
	l := g.log
	g.mu.Unlock()
	if l == nil {
		return ""
	}
	return formatTail(strings.ReplaceAll(l.Tail(2048), "\r", ""), g.cfg.ConsolePath)
}

// BootMs is the time from asking libvirt for the domain to its passing its
// ready check (the first PONG for redis).
func (g *Libvirt) BootMs() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bootMs
}

// DomainXML is the domain's XML as sent to libvirt ("" before Start).
func (g *Libvirt) DomainXML() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.xml
}

func (g *Libvirt) setFact(k, v string) { g.facts.set(k, v) }

// Pids are the processes of a running domain of a hypervisor on this
// machine: its qemu, which libvirtd started (so it is no child of
// benchbook's, yet works for it). None for a remote one, or when
// libvirtd's pid file cannot be read.
func (g *Libvirt) Pids() []int {
	if IsRemoteLibvirt(g.cfg.URI) {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(libvirtRunDir, g.cfg.Domain+".pid"))
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return nil
	}
	return []int{pid}
}

// libvirtRunDir is where the system libvirtd keeps a pid file per running
// qemu domain.
const libvirtRunDir = "/run/libvirt/qemu"

// Facts describe the guest: libvirt_version and qemu_version are the
// daemon's (the hypervisor's machine, for remote URIs).
func (g *Libvirt) Facts() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]string{
		"kind":    "libvirt",
		"uri":     g.cfg.URI,
		"domain":  g.cfg.Domain,
		"flavor":  g.cfg.Boot.Flavor,
		"accel":   g.cfg.Accel,
		"machine": g.cfg.Boot.Machine,
		"memory":  g.cfg.Boot.Memory,
		"cpus":    strconv.Itoa(max(g.cfg.Boot.CPUs, 1)),
		"network": g.cfg.Net.String(),
	}
	if cpus := g.cfg.CPUs; len(cpus) > 0 {
		out["placement"] = describeVCPUs(max(g.cfg.Boot.CPUs, 1), cpus) + " (<cputune>)"
	}
	if g.netns != "" {
		out["network"] += " (libvirtd runs in network namespace " + g.netns + ")"
	}
	g.facts.addTo(out)
	return out
}

// lineWatch closes ready when a console line matches re.
type lineWatch struct {
	re    *regexp.Regexp
	mu    sync.Mutex
	buf   []byte
	ready chan struct{}
	once  sync.Once
}

func newLineWatch(re *regexp.Regexp) *lineWatch {
	return &lineWatch{re: re, ready: make(chan struct{})}
}

func (w *lineWatch) Write(p []byte) (int, error) {
	if w.re == nil {
		return len(p), nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if w.re.Match(bytes.TrimSuffix(w.buf[:i], []byte("\r"))) {
			w.once.Do(func() { close(w.ready) })
		}
		w.buf = w.buf[i+1:]
	}
	// A line without end (a boot banner drawing) cannot grow forever.
	if len(w.buf) > 64<<10 {
		w.buf = append([]byte(nil), w.buf[len(w.buf)-4<<10:]...)
	}
	return len(p), nil
}

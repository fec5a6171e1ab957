package guest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Accel says how guests are accelerated and why.
type Accel struct {
	Name   string // kvm or tcg
	Reason string // why not kvm, when tcg was chosen by "auto"
}

// probeTimeout bounds the KVM probe: a broken KVM may hang with no output.
const probeTimeout = 8 * time.Second

var (
	probeOnce sync.Once
	probeErr  error
)

// ProbeKVM boots test guests under KVM, once per process, and reports why
// KVM cannot run guests here (nil when it can). /dev/kvm existing proves
// nothing: on some hosts qemu then aborts ("failed to set MSR"), hangs with
// no output, or runs a trivial guest but not a Linux kernel. So after a
// 34-byte guest, the probe boots this machine's own kernel until it panics
// for want of a root file system: that exercises what real guests need.
//
// A broken KVM costs the probe its timeout, so the verdict is remembered
// until the machine reboots (keyed by its boot id and qemu's version).
func ProbeKVM(ctx context.Context) error {
	probeOnce.Do(func() {
		key := probeKey()
		if v, ok := readProbeCache(key); ok {
			probeErr = v
			return
		}
		if probeErr = probe(ctx, "kvm"); probeErr == nil {
			if k := newestKernel("/boot"); k != "" {
				probeErr = probeLinux(ctx, "kvm", k)
			}
		}
		if ctx.Err() == nil {
			writeProbeCache(key, probeErr)
		}
	})
	return probeErr
}

// probeKey identifies this boot of this machine with this qemu.
func probeKey() string {
	id, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(id)) + " " + QemuVersion()
}

func probeCachePath() string {
	dir, err := os.UserCacheDir()
	if d := os.Getenv("BENCHBOOK_CACHE"); d != "" {
		dir, err = d, nil
	} else if err == nil {
		dir = filepath.Join(dir, "benchbook")
	}
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "kvm-probe.json")
}

type probeRecord struct {
	Key   string `json:"key"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func readProbeCache(key string) (error, bool) {
	path := probeCachePath()
	if key == "" || path == "" {
		return nil, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	var r probeRecord
	if json.Unmarshal(b, &r) != nil || r.Key != key {
		return nil, false
	}
	if r.OK {
		return nil, true
	}
	return errors.New(r.Error + " (probed earlier since this boot; delete " + path + " to probe again)"), true
}

func writeProbeCache(key string, err error) {
	path := probeCachePath()
	if key == "" || path == "" {
		return
	}
	r := probeRecord{Key: key, OK: err == nil}
	if err != nil {
		r.Error = err.Error()
	}
	b, _ := json.Marshal(r)
	if os.MkdirAll(filepath.Dir(path), 0o755) == nil {
		os.WriteFile(path, b, 0o644)
	}
}

// newestKernel returns a kernel image from dir, or "".
func newestKernel(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if len(m) == 0 {
		return ""
	}
	sort.Strings(m)
	return m[len(m)-1]
}

// linuxProbeTimeout is far more than a kernel needs to reach its root-mount
// panic under KVM (well under a second) or even under TCG (a few seconds).
const linuxProbeTimeout = 20 * time.Second

// probeLinux boots kernel with no root file system: a working hypervisor
// gets it to "Kernel panic", and -no-reboot then ends qemu.
func probeLinux(ctx context.Context, accel, kernel string) error {
	dir, err := os.MkdirTemp("", "benchbook-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(ctx, linuxProbeTimeout)
	defer cancel()
	console := filepath.Join(dir, "console.log")
	p, err := startProc("accel-probe", []string{QemuBinary,
		"-machine", "pc,accel=" + accel, "-m", "128", "-nodefaults", "-no-user-config",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-kernel", kernel, "-append", "console=ttyS0 panic=-1 loglevel=4"}, nil, "", console, regexp.MustCompile(`Kernel panic`), nil)
	if err != nil {
		return err
	}
	werr := p.waitLine(ctx)
	p.stop(context.Background(), time.Second, nil)
	if werr == nil {
		return nil
	}
	out, _ := os.ReadFile(console)
	if errors.Is(werr, context.DeadlineExceeded) {
		if len(bytes.TrimSpace(out)) == 0 {
			return fmt.Errorf("a Linux test guest (%s) hung for %s with no output", filepath.Base(kernel), linuxProbeTimeout)
		}
		return fmt.Errorf("a Linux test guest (%s) did not finish booting in %s", filepath.Base(kernel), linuxProbeTimeout)
	}
	return fmt.Errorf("a Linux test guest failed: %s", lastLines(strings.TrimSpace(string(out)), 1))
}

// ChooseAccel turns a notebook's accel ("auto", "kvm", "tcg", "") into the
// one to use. accel = "kvm" where KVM does not work fails at once.
func ChooseAccel(ctx context.Context, want string) (Accel, error) {
	switch want {
	case "tcg":
		return Accel{Name: "tcg", Reason: "accel = \"tcg\" in the notebook"}, nil
	case "kvm":
		if err := ProbeKVM(ctx); err != nil {
			return Accel{}, fmt.Errorf("accel = \"kvm\", but KVM cannot run a guest on this machine: %v; use accel = \"auto\" to fall back to TCG", err)
		}
		return Accel{Name: "kvm"}, nil
	case "", "auto":
		if err := ProbeKVM(ctx); err != nil {
			return Accel{Name: "tcg", Reason: "KVM unusable: " + err.Error()}, nil
		}
		return Accel{Name: "kvm"}, nil
	}
	return Accel{}, fmt.Errorf("accel %q: want auto, kvm or tcg", want)
}

// probe boots probeKernel under accel: it prints "OK" on the serial port
// and leaves through isa-debug-exit.
func probe(ctx context.Context, accel string) error {
	if accel == "kvm" {
		if _, err := os.Stat("/dev/kvm"); err != nil {
			return fmt.Errorf("no /dev/kvm")
		}
	}
	if _, err := exec.LookPath(QemuBinary); err != nil {
		return fmt.Errorf("%s not found", QemuBinary)
	}
	dir, err := os.MkdirTemp("", "benchbook-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kernel := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(kernel, probeKernel(), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := startProc("accel-probe", []string{QemuBinary,
		"-machine", "pc,accel=" + accel, "-m", "16", "-nodefaults", "-no-user-config",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", kernel}, nil, "", filepath.Join(dir, "console.log"), nil, nil)
	if err != nil {
		return err
	}
	select {
	case <-p.exited:
	case <-ctx.Done():
	}
	p.stop(context.Background(), time.Second, nil)
	out, _ := os.ReadFile(filepath.Join(dir, "console.log"))
	switch {
	case bytes.Contains(out, []byte("OK")):
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("a test guest hung for %s with no output", probeTimeout)
	}
	msg := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	if msg == "" {
		msg = "no output"
	}
	return fmt.Errorf("a test guest failed: %s", msg)
}

// probeKernel is a minimal multiboot kernel (the a.out kludge, so no ELF
// is needed): it writes "OK\n" to COM1 and exits qemu through the
// isa-debug-exit port. It is benchbook's own 34 bytes of code.
func probeKernel() []byte {
	const (
		magic = 0x1BADB002
		flags = 0x00010000 // the load addresses below are valid
		base  = 0x100000
	)
	code := []byte{
		0x66, 0xBA, 0xF8, 0x03, // mov dx, 0x3f8
		0xB0, 'O', 0xEE, // mov al, 'O'; out dx, al
		0xB0, 'K', 0xEE, // mov al, 'K'; out dx, al
		0xB0, '\n', 0xEE, // mov al, '\n'; out dx, al
		0x66, 0xBA, 0xF4, 0x00, // mov dx, 0xf4
		0xB0, 0x00, 0xEE, // mov al, 0; out dx, al (qemu exits with status 1)
		0xF4,       // hlt
		0xEB, 0xFD, // jmp back to hlt
	}
	sum := uint32(magic) + uint32(flags)
	hdr := []uint32{magic, flags, -sum, base, base, 0, 0, base + 32}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, hdr)
	b.Write(code)
	return b.Bytes()
}

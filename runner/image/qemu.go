package image

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchbook/benchbook/runner/image/guestinit"
)

// Net is the guest side of the network, passed on the kernel command line.
type Net = guestinit.Boot

// DefaultNet suits qemu's user networking: 10.0.2.15/24 via 10.0.2.2, redis
// on 6379.
func DefaultNet() Net { return guestinit.DefaultBoot() }

// Machine is a qemu machine type the image boots on.
type Machine string

const (
	// Microvm is qemu's minimal machine: no firmware, no PCI, virtio-mmio
	// devices described by ACPI. It boots faster than PC.
	Microvm Machine = "microvm"
	// PC is the classic i440fx machine with SeaBIOS and virtio-pci.
	PC Machine = "pc"
)

// QemuConfig is one boot of the image.
type QemuConfig struct {
	Machine Machine // default Microvm
	Accel   string  // "tcg" (default) or "kvm"
	Memory  string  // default "256M"
	CPUs    int     // default 1
	Net     Net     // guest address and redis port; default DefaultNet
	// HostFwd is the host side "127.0.0.1:PORT" of a user-network TCP
	// forward to the guest's redis port. Empty: no forward.
	HostFwd string
	// QMP, if set, is the path of a QMP unix socket qemu listens on.
	QMP string
	// TSCKHz is the guest's TSC frequency for microvm under TCG (see
	// Cmdline). 0: HostTSCKHz.
	TSCKHz int
	// Extra kernel command line parameters, appended.
	Extra []string
}

func (c QemuConfig) withDefaults() QemuConfig {
	if c.Machine == "" {
		c.Machine = Microvm
	}
	if c.Accel == "" {
		c.Accel = "tcg"
	}
	if c.Memory == "" {
		c.Memory = "256M"
	}
	if c.CPUs <= 0 {
		c.CPUs = 1
	}
	if !c.Net.Addr.IsValid() {
		c.Net = DefaultNet()
	}
	return c
}

// baseCmdline is the start of every boot's kernel command line. Besides the
// console, panic=-1 makes a failing init reboot, which -no-reboot turns into
// qemu exiting. The rest shortens an emulated boot by about a second:
// quiet (every console byte is an emulated UART write), no crypto self
// tests, no audit, one UART to probe, and no check of the timer IRQ (qemu's
// works).
var baseCmdline = []string{
	"console=ttyS0", "panic=-1", "quiet",
	"cryptomgr.notests", "audit=0", "8250.nr_uarts=1", "no_timer_check",
}

// Cmdline is the kernel command line for a boot: baseCmdline, the network
// (Net.Cmdline) and Extra.
//
// Under TCG, microvm has neither HPET nor ACPI PM timer, so the kernel can
// only calibrate the TSC against the PIT; that needs tight timing which an
// emulated, loaded host rarely gives, and without a calibrated TSC the
// kernel waits forever for its first timer tick. TCG's guest TSC counts
// at the host's rate, so benchbook passes the host's frequency as
// tsc_early_khz and the kernel skips calibrating.
func (im *Image) Cmdline(c QemuConfig) (string, error) {
	c = c.withDefaults()
	parts := append([]string(nil), baseCmdline...)
	if c.Machine == Microvm && c.Accel == "tcg" {
		khz := c.TSCKHz
		if khz == 0 {
			var err error
			if khz, err = HostTSCKHz(); err != nil {
				return "", fmt.Errorf("microvm under TCG: %w (use -M pc)", err)
			}
		}
		// tsc=reliable: the clocksource watchdog would otherwise compare the
		// TSC with jiffies, find it off and fall back to a coarse clock.
		parts = append(parts, "tsc_early_khz="+strconv.Itoa(khz), "tsc=reliable")
	}
	parts = append(parts, c.Net.Cmdline())
	parts = append(parts, c.Extra...)
	return strings.Join(parts, " "), nil
}

// QemuArgs are the arguments of qemu-system-x86_64 (without the program)
// that boot the image: the console on stdout, no other default devices, one
// virtio network card on user networking, and qemu exiting when the guest
// powers off or reboots.
func (im *Image) QemuArgs(c QemuConfig) ([]string, error) {
	c = c.withDefaults()
	cmdline, err := im.Cmdline(c)
	if err != nil {
		return nil, err
	}
	var machine, nic string
	switch c.Machine {
	case Microvm:
		// rtc gives the guest the date. Option ROMs are BIOS code that a
		// direct kernel boot only spends time loading. No PIT or PIC: with
		// tsc_early_khz (see Cmdline) the kernel needs neither.
		machine = "microvm,x-option-roms=off,rtc=on"
		nic = "virtio-net-device"
	case PC:
		machine = "pc"
		nic = "virtio-net-pci"
	default:
		return nil, fmt.Errorf("machine %q: want %s or %s", c.Machine, Microvm, PC)
	}
	netdev := "user,id=n0"
	if c.HostFwd != "" {
		netdev += ",hostfwd=tcp:" + c.HostFwd + "-:" + strconv.Itoa(c.Net.Port)
	}
	args := []string{
		"-M", machine,
		"-accel", c.Accel,
	}
	if c.Accel == "kvm" {
		args = append(args, "-cpu", "host")
	} else {
		// max gives the guest RDRAND, so its entropy pool is ready at once.
		args = append(args, "-cpu", "max")
	}
	args = append(args,
		"-m", c.Memory,
		"-smp", strconv.Itoa(c.CPUs),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-serial", "stdio",
		"-no-reboot",
		"-kernel", im.Kernel,
		"-initrd", im.Initrd,
		"-append", cmdline,
		"-netdev", netdev,
		"-device", nic+",netdev=n0",
	)
	if c.QMP != "" {
		args = append(args, "-qmp", "unix:"+c.QMP+",server=on,wait=off")
	}
	return args, nil
}

var tscOnce = sync.OnceValues(measureTSC)

// HostTSCKHz is the host's TSC frequency in kHz, measured once per process
// against the monotonic clock (to a few parts per million).
func HostTSCKHz() (int, error) { return tscOnce() }

func measureTSC() (int, error) {
	if !haveTSC {
		return 0, errors.New("no TSC on this architecture")
	}
	// The median of a few short windows ignores one where the thread was
	// preempted between reading the two clocks.
	var rates []float64
	for range 5 {
		t0, c0 := time.Now(), rdtsc()
		time.Sleep(10 * time.Millisecond)
		t1, c1 := time.Now(), rdtsc()
		d := t1.Sub(t0)
		if d <= 0 || c1 <= c0 {
			continue
		}
		rates = append(rates, float64(c1-c0)/(float64(d.Nanoseconds())/1e6)) // kHz
	}
	if len(rates) < 3 {
		return 0, errors.New("could not measure the TSC frequency")
	}
	slices.Sort(rates)
	return int(rates[len(rates)/2] + 0.5), nil
}

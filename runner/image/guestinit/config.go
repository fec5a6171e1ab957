// Package guestinit is the first process of benchbook's Linux micro-VM: it
// mounts the kernel's file systems, loads the network drivers, configures
// the network from the kernel command line, runs redis-server with its
// output on the console, reaps orphans, and powers the machine off when
// redis exits.
//
// It runs as PID 1 of a guest whose initramfs holds nothing but redis, its
// libraries and a few kernel modules: no shell, no ip(8), no modprobe. It
// therefore does everything with system calls (golang.org/x/sys/unix and
// rtnetlink) and must be linked statically.
package guestinit

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ConfigPath is where the image build writes the Config, as JSON.
const ConfigPath = "/etc/benchbook/init.json"

// Path is where the init program lives in the image; the kernel runs
// /init of an initramfs with argv[0] "/init".
const Path = "/init"

// Marker starts every line the init prints on the console, so a log reader
// can tell them from the kernel's and redis'.
const Marker = "benchbook-init:"

// StartMarker is printed (after Marker) just before redis-server starts.
const StartMarker = "starting redis-server"

// ReadyMarker is printed (after Marker) when an image without a command
// has set up its disks and waits for loads: a guest's ready line.
const ReadyMarker = "ready for loads"

// ConfigVersion changes whenever Config or the command line parameters
// change meaning.
const ConfigVersion = 2

// Config is what the image build tells the init: fixed per image, so it is
// part of the image digest. What changes per boot comes from the kernel
// command line (see Boot).
type Config struct {
	// Version is ConfigVersion of the benchbook that built the image. An
	// init refuses another: a benchbook-init left from an older build must
	// not half-understand a newer image.
	Version int `json:"version"`
	// Modules are kernel module files, loaded in this order.
	Modules []string `json:"modules"`
	// Command is redis' argv; "{port}" in an argument becomes the port.
	// Empty (the linux image without redis-server): the init starts
	// nothing, says ReadyMarker, and runs until it is stopped.
	Command []string `json:"command"`
	// Env is the environment of Command, KEY=VALUE.
	Env []string `json:"env,omitempty"`
}

// Kernel command line parameters the init reads.
const (
	ParamIP   = "benchbook.ip"   // address/prefix, default 10.0.2.15/24
	ParamGW   = "benchbook.gw"   // default gateway, default 10.0.2.2; "none" for no route
	ParamPort = "benchbook.port" // redis port, default 6379
	ParamIf   = "benchbook.if"   // interface, default the first Ethernet one
	// ParamExec (=1) says the VM has the exec port (guestexec.PortName):
	// the init serves the host's programs on it.
	ParamExec = "benchbook.exec"
)

// Boot is the per-boot configuration, parsed from the kernel command line.
type Boot struct {
	Addr      netip.Prefix
	Gateway   netip.Addr // invalid: no default route
	Port      int
	Interface string // empty: the first Ethernet interface
	Disks     []Disk // scratch disks to format and mount
	Exec      bool   // serve the exec port
}

// DefaultBoot suits qemu's user networking (slirp), whose guest address is
// 10.0.2.15 behind the gateway 10.0.2.2.
func DefaultBoot() Boot {
	return Boot{
		Addr:    netip.MustParsePrefix("10.0.2.15/24"),
		Gateway: netip.MustParseAddr("10.0.2.2"),
		Port:    6379,
	}
}

// ParseCmdline reads the benchbook.* parameters of a kernel command line
// over DefaultBoot; other parameters are ignored.
func ParseCmdline(cmdline string) (Boot, error) {
	b := DefaultBoot()
	for _, f := range strings.Fields(cmdline) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case ParamIP:
			b.Addr, err = netip.ParsePrefix(v)
			if err == nil && !b.Addr.Addr().Is4() {
				err = fmt.Errorf("only IPv4 is supported")
			}
		case ParamGW:
			if v == "none" {
				b.Gateway = netip.Addr{}
				continue
			}
			b.Gateway, err = netip.ParseAddr(v)
			if err == nil && !b.Gateway.Is4() {
				err = fmt.Errorf("only IPv4 is supported")
			}
		case ParamPort:
			b.Port, err = strconv.Atoi(v)
			if err == nil && (b.Port < 1 || b.Port > 65535) {
				err = fmt.Errorf("out of range")
			}
		case ParamIf:
			b.Interface = v
		case ParamDisks:
			b.Disks, err = decodeDisks(v)
		case ParamExec:
			b.Exec = v == "1"
		default:
			continue
		}
		if err != nil {
			return b, fmt.Errorf("kernel command line: %s=%q: %w", k, v, err)
		}
	}
	return b, nil
}

// Cmdline renders b as kernel command line parameters (the inverse of
// ParseCmdline).
func (b Boot) Cmdline() string {
	parts := []string{ParamIP + "=" + b.Addr.String()}
	if b.Gateway.IsValid() {
		parts = append(parts, ParamGW+"="+b.Gateway.String())
	} else {
		parts = append(parts, ParamGW+"=none")
	}
	parts = append(parts, ParamPort+"="+strconv.Itoa(b.Port))
	if b.Interface != "" {
		parts = append(parts, ParamIf+"="+b.Interface)
	}
	if len(b.Disks) > 0 {
		parts = append(parts, DisksParam(b.Disks))
	}
	if b.Exec {
		parts = append(parts, ParamExec+"=1")
	}
	return strings.Join(parts, " ")
}

// DisksParam is the kernel command line parameter for the disks.
func DisksParam(ds []Disk) string { return ParamDisks + "=" + encodeDisks(ds) }

// expand substitutes {port} in argv.
func expand(argv []string, port int) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "{port}", strconv.Itoa(port))
	}
	return out
}

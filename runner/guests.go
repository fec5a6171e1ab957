package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
)

// running is the part of a started guest the runner uses.
type running interface {
	guest.Guest
	Exited() <-chan struct{}
	LogTail() string
}

// instance is a started guest and everything made for it, undone in
// reverse by stop.
type instance struct {
	g       running
	ep      guest.Endpoint
	command []string
	facts   map[string]string
	bootMs  float64
	undo    []func(context.Context) error
}

func (in *instance) stop(ctx context.Context) error {
	var errs []error
	if in.g != nil {
		errs = append(errs, in.g.Stop(ctx))
	}
	for i := len(in.undo) - 1; i >= 0; i-- {
		errs = append(errs, in.undo[i](ctx))
	}
	in.undo = nil
	return errors.Join(errs...)
}

// vmUnavailable says why a VM guest cannot run here, or "".
func (r *run) vmUnavailable(ctx context.Context, spec notebook.GuestSpec) string {
	if spec.Kind == "libvirt" {
		uri := cmp.Or(spec.URI, guest.DefaultLibvirtURI)
		if _, err := guest.ParseLibvirtNet(spec.Network, guest.IsRemoteLibvirt(uri)); err != nil {
			return err.Error()
		}
		if !guest.IsRemoteLibvirt(uri) {
			if _, err := os.Stat(guest.LibvirtSocket); err != nil {
				return "libvirtd is not running (make setup starts it, or: go run ./internal/setup/libvirtd-up)"
			}
		}
	} else if _, err := lookPath(guest.QemuBinary); err != nil {
		return guest.QemuBinary + " not found (apt-get install qemu-system-x86, or make setup)"
	}
	if spec.Image != "" {
		if spec.Image != "builtin:linux-redis" {
			return fmt.Sprintf("unknown image %q (the built-in one is \"builtin:linux-redis\")", spec.Image)
		}
		if _, err := r.builtinImage(ctx); err != nil {
			return err.Error()
		}
		return ""
	}
	for _, p := range append([]string{spec.Kernel, spec.Initrd, spec.Disk}, spec.Disks...) {
		if p == "" {
			continue
		}
		if _, err := os.Stat(r.path(p)); err != nil {
			return fmt.Sprintf("%s is missing (see docs/guests/%s.md for how to make it)", p, cmp.Or(spec.Flavor, "linux"))
		}
	}
	switch n := spec.Network; {
	case spec.Kind == "libvirt":
	case strings.HasPrefix(n, "bridge:"), strings.HasPrefix(n, "network:"):
		return fmt.Sprintf("network = %q is not supported for qemu guests in this version (use \"auto\", \"user\" or \"tap\")", n)
	case n == "tap":
		if err := netns.Available(); err != nil {
			return fmt.Sprintf("network = \"tap\" needs a private network namespace, which needs root (%v)", err)
		}
	}
	return ""
}

// path resolves a notebook-relative path.
func (r *run) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(r.notebookDir(), p)
}

// builtinImage builds (or finds in the cache) the Linux micro-VM, once per run.
func (r *run) builtinImage(ctx context.Context) (*image.Image, error) {
	if r.image == nil && r.imageErr == nil {
		r.image, r.imageErr = image.Build(ctx, r.opt.Image)
	}
	return r.image, r.imageErr
}

// accel decides once per run how VMs are accelerated.
func (r *run) accel(ctx context.Context, want string) (guest.Accel, error) {
	if r.accels == nil {
		r.accels = map[string]guest.Accel{}
	}
	if a, ok := r.accels[want]; ok {
		return a, nil
	}
	a, err := guest.ChooseAccel(ctx, want)
	if err != nil {
		return a, err
	}
	r.accels[want] = a
	return a, nil
}

// planVM applies the guest's flavor to its spec: one description of how it
// boots, for either launcher.
func (cr *cellRun) planVM(ctx context.Context, spec notebook.GuestSpec, in *instance) (guest.Boot, error) {
	vm := guest.VMSpec{
		Name:      spec.Name,
		Flavor:    spec.Flavor,
		Kernel:    cr.path(spec.Kernel),
		Initrd:    cr.path(spec.Initrd),
		Cmdline:   spec.Cmdline,
		Disk:      cr.path(spec.Disk),
		Memory:    spec.Memory,
		CPUs:      spec.CPUs,
		Machine:   spec.Machine,
		GuestPort: spec.GuestPort,
		QemuArgs:  spec.QemuArgs,
	}
	for _, d := range spec.Disks {
		vm.Disks = append(vm.Disks, cr.path(d))
	}
	if spec.Image != "" {
		im, err := cr.builtinImage(ctx)
		if err != nil {
			return guest.Boot{}, err
		}
		vm.Kernel, vm.Initrd = im.Kernel, im.Initrd
		for k, v := range im.Facts() {
			in.facts[k] = v
		}
	}
	return guest.PlanBoot(vm)
}

var libvirtN atomic.Int64

// startLibvirt boots a guest through libvirt for one repeat.
func (cr *cellRun) startLibvirt(ctx context.Context, spec notebook.GuestSpec, logPath string) (_ *instance, err error) {
	in := &instance{facts: map[string]string{}}
	defer func() {
		if err != nil {
			in.stop(context.WithoutCancel(ctx))
		}
	}()
	boot, err := cr.planVM(ctx, spec, in)
	if err != nil {
		return nil, err
	}
	uri := cmp.Or(spec.URI, guest.DefaultLibvirtURI)
	want := spec.Accel
	if guest.IsRemoteLibvirt(uri) && want == "" {
		// This machine's KVM says nothing about the remote one's.
		want = "tcg"
	}
	accel, err := cr.accel(ctx, want)
	if err != nil {
		return nil, err
	}
	if accel.Reason != "" {
		in.facts["accel_reason"] = accel.Reason
	}
	nw, err := guest.ParseLibvirtNet(spec.Network, guest.IsRemoteLibvirt(uri))
	if err != nil {
		return nil, err
	}
	if boot.Flavor == "osv" && boot.Kernel != "" && nw.Mode == "network" {
		// The launcher moves the address into the network's subnet and
		// reserves it there, as for the other static flavors.
		boot = staticOSv(boot)
	}
	slug := strings.TrimSuffix(filepath.Base(cr.nb.Path), filepath.Ext(cr.nb.Path))
	g, err := guest.NewLibvirt(guest.LibvirtConfig{
		Name:         spec.Name,
		Domain:       guest.DomainName(slug, cr.cell.ID, spec.Name, int(libvirtN.Add(1))),
		URI:          uri,
		Boot:         boot,
		Accel:        accel.Name,
		Net:          nw,
		ConsolePath:  logPath,
		ReadyTimeout: spec.ReadyTimeout,
	})
	if err != nil {
		return nil, err
	}
	in.g = g
	if in.ep, err = g.Start(ctx); err != nil {
		return nil, err
	}
	in.bootMs = g.BootMs()
	in.command = []string{"libvirt", uri, "domain", g.Facts()["domain"]}
	in.facts["domain_xml"] = g.DomainXML()
	return in, nil
}

// startQemu boots a qemu guest for one repeat.
func (cr *cellRun) startQemu(ctx context.Context, spec notebook.GuestSpec, logPath string) (_ *instance, err error) {
	in := &instance{facts: map[string]string{}}
	defer func() {
		if err != nil {
			in.stop(context.WithoutCancel(ctx))
		}
	}()
	boot, err := cr.planVM(ctx, spec, in)
	if err != nil {
		return nil, err
	}
	accel, err := cr.accel(ctx, spec.Accel)
	if err != nil {
		return nil, err
	}
	if accel.Reason != "" {
		in.facts["accel_reason"] = accel.Reason
	}
	nw, err := cr.network(ctx, spec, &boot, in)
	if err != nil {
		return nil, err
	}
	runDir, err := os.MkdirTemp("", "bb-qemu-")
	if err != nil {
		return nil, err
	}
	q, err := guest.NewQemu(guest.QemuConfig{
		Name:         spec.Name,
		Boot:         boot,
		Accel:        accel.Name,
		Net:          nw,
		RunDir:       runDir,
		ConsolePath:  logPath,
		ReadyTimeout: spec.ReadyTimeout,
	})
	if err != nil {
		os.RemoveAll(runDir)
		return nil, err
	}
	in.g = q
	in.command = q.Command()
	in.ep, err = q.Start(ctx)
	if err != nil {
		return nil, err
	}
	in.bootMs = q.BootMs()
	return in, nil
}

// network decides how a VM guest is reached. As root, every guest gets a
// private network namespace: a bridge and a tap for it, so nothing collides
// and the host's sysctls and ports are untouched. Without root, qemu's user
// networking forwards a loopback port, and the report says so.
func (cr *cellRun) network(ctx context.Context, spec notebook.GuestSpec, boot *guest.Boot, in *instance) (guest.Network, error) {
	mode := spec.Network
	if mode == "" || mode == "auto" {
		mode = "tap"
		if err := netns.Available(); err != nil {
			mode = "user"
			in.facts["network_note"] = fmt.Sprintf("qemu user networking on the host (no private namespace: %v); with net.ipv4.tcp_syncookies=1 forwarded connections can stall under load", err)
		}
	}
	if mode == "user" {
		port, err := guest.FreePort()
		if err != nil {
			return guest.Network{}, err
		}
		return guest.Network{Mode: "user", HostPort: port}, nil
	}
	br, err := netns.NewBridge(ctx, fmt.Sprintf("%s/%d", guest.GatewayIP, guest.PrefixLen))
	if err != nil {
		return guest.Network{}, fmt.Errorf("private network: %w", err)
	}
	in.undo = append(in.undo, func(ctx context.Context) error { return netns.Delete(ctx, br.Name) })
	if boot.Flavor == "osv" {
		if boot.Kernel != "" {
			*boot = staticOSv(*boot)
		} else {
			// OSv's disk boot takes its address from DHCP: serve it on the
			// private bridge. Without dnsmasq, user networking inside the
			// namespace still isolates the run, but its port forward
			// admits one connection at a time.
			d, err := guest.StartDHCP(ctx, br.Name, br.Bridge)
			if err != nil {
				if !errors.Is(err, guest.ErrUnavailable) {
					return guest.Network{}, err
				}
				in.facts["network_note"] = fmt.Sprintf("qemu user networking inside a private namespace (%v); its port forward admits one connection at a time, and loads of many connections may time out", err)
				return guest.Network{Mode: "user", HostPort: 6379, Netns: br.Name}, nil
			}
			in.undo = append(in.undo, d.Stop)
		}
	}
	return guest.Network{Mode: "tap", Tap: br.Tap, Netns: br.Name}, nil
}

// staticOSv gives a directly booted OSv benchbook's guest address on its
// command line. Left to DHCP it took 9 s more to boot under TCG.
func staticOSv(b guest.Boot) guest.Boot {
	b.Append = fmt.Sprintf("--ip=eth0,%s,255.255.255.0 --defaultgw=%s ", guest.GuestIP, guest.GatewayIP) + b.Append
	return b
}

// startProcess starts a process guest for one repeat.
func (cr *cellRun) startProcess(ctx context.Context, spec notebook.GuestSpec, port int, logPath string) (*instance, error) {
	dir := spec.Dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(cr.notebookDir(), dir)
	}
	g, err := guest.NewProcess(guest.ProcessConfig{
		Name:         spec.Name,
		Command:      spec.Command,
		Env:          spec.Env,
		Dir:          dir,
		Port:         port,
		ReadyTimeout: spec.ReadyTimeout,
		LogPath:      logPath,
	})
	if err != nil {
		return nil, err
	}
	in := &instance{g: g, command: spec.Command, facts: map[string]string{}}
	begin := time.Now()
	in.ep, err = g.Start(ctx)
	if err != nil {
		return nil, err
	}
	in.bootMs = since(begin)
	return in, nil
}

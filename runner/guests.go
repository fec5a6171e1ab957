package runner

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
	"github.com/benchbook/benchbook/runner/image/guestinit"
	"github.com/benchbook/benchbook/runner/placement"
)

// running is the part of a started guest the runner uses.
type running interface {
	guest.Guest
	Exited() <-chan struct{}
	LogTail() string
}

// instance is a started guest and what the runner records of it. The
// guest owns everything made for it: its Stop undoes all of it.
type instance struct {
	g       running
	ep      guest.Endpoint
	command []string // how it was started, for the record; none for a host guest
	facts   map[string]string
	ready   guest.Ready // its ready check, which also tells whether it still answers
	boots   bool        // it boots (a process, a VM): its boot_ms is recorded
	bootMs  float64
	// loadCPUs are where its load runs (the cell's placement); empty:
	// not placed.
	loadCPUs placement.Set
}

// loadVars are the runtime variables of the load's table: the port the
// load reaches the guest on, and the scratch folder {dir} when the guest
// made one (else the load makes its own).
func (in *instance) loadVars() map[string]any {
	v := map[string]any{}
	if _, port, err := net.SplitHostPort(in.ep.Addr); err == nil {
		if n, err := strconv.Atoi(port); err == nil {
			v["port"] = n
		}
	}
	if in.ep.Dir != "" {
		v["dir"] = in.ep.Dir
	}
	return v
}

func (in *instance) stop(ctx context.Context) error {
	if in.g == nil {
		return nil
	}
	return in.g.Stop(ctx)
}

// vmUnavailable says why a VM guest cannot run here, or "".
func (r *run) vmUnavailable(ctx context.Context, spec guest.Spec) string {
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
	} else if why := qemuNetUnavailable(spec); why != "" {
		return why
	}
	if spec.Image != "" {
		if _, ok := image.ImageName(spec.Image); !ok {
			return fmt.Sprintf("unknown image %q (the built-in ones are \"builtin:linux-redis\" and \"builtin:linux\")", spec.Image)
		}
		if _, err := r.builtinImage(ctx, spec); err != nil {
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
	return ""
}

// qemuNetUnavailable says why a qemu guest's network mode cannot run
// here, or "".
func qemuNetUnavailable(spec guest.Spec) string {
	n := spec.Network
	if strings.HasPrefix(n, "bridge:") || strings.HasPrefix(n, "network:") {
		return fmt.Sprintf("network = %q is a libvirt network: a qemu guest takes auto, %s", n, strings.Join(guest.NetModeNames(), ", "))
	}
	if err := guest.CheckQemuNetwork(spec.Flavor, n); err != nil {
		return err.Error()
	}
	m, _ := guest.NetModeOf(n)
	if m.Private {
		if err := netns.Available(); err != nil {
			return fmt.Sprintf("network = %q needs a private network namespace, which needs root (%v)", n, err)
		}
	}
	if n == "passt" {
		if _, err := lookPath(guest.PasstBinary); err != nil {
			return "network = \"passt\" needs passt (apt-get install passt, or make setup)"
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

// builtImage is one built-in image as Build left it.
type builtImage struct {
	im  *image.Image
	err error
}

// builtinImage builds (or finds in the cache) the guest's Linux micro-VM,
// once per run for each set of programs.
func (r *run) builtinImage(ctx context.Context, spec guest.Spec) (*image.Image, error) {
	o := imageOptions(r.opt.Image, spec)
	id := imageKey(o)
	if r.images == nil {
		r.images = map[string]builtImage{}
	}
	b, ok := r.images[id]
	if !ok {
		b.im, b.err = image.Build(ctx, o)
		r.images[id] = b
	}
	return b.im, b.err
}

// imageOptions are the run's image options for a guest: builtin:linux
// with the guest's programs (none is an image with no program at all),
// builtin:linux-redis as the run says.
func imageOptions(o image.BuildOptions, spec guest.Spec) image.BuildOptions {
	if name, _ := image.ImageName(spec.Image); name == image.NameLinux {
		o.Programs = append([]string{}, spec.Programs...)
	}
	return o
}

// imageKey tells the images of a run apart.
func imageKey(o image.BuildOptions) string {
	return o.Name() + " " + strings.Join(o.Programs, " ")
}

// imageReady is the ready check of a builtin:linux guest that holds no
// redis-server and kept the default (redis): the init's ready line.
func imageReady(spec guest.Spec, r guest.Ready) guest.Ready {
	name, _ := image.ImageName(spec.Image)
	if name != image.NameLinux || r.Check != guest.ReadyRedis || slices.Contains(spec.Programs, "redis-server") {
		return r
	}
	return guest.Ready{Check: guest.ReadyLog, Line: regexp.MustCompile(regexp.QuoteMeta(guestinit.Marker) + ".*" + regexp.QuoteMeta(guestinit.ReadyMarker))}
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
func (cr *cellRun) planVM(ctx context.Context, spec guest.Spec, in *instance) (guest.Boot, error) {
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
		Scratch:   spec.Scratch,
	}
	for _, d := range spec.Disks {
		vm.Disks = append(vm.Disks, cr.path(d))
	}
	if spec.Image != "" {
		im, err := cr.builtinImage(ctx, spec)
		if err != nil {
			return guest.Boot{}, err
		}
		vm.Kernel, vm.Initrd = im.Kernel, im.Initrd
		// Its init runs loads inside it (at = "guest") over the exec port.
		vm.Exec = im.Name == image.NameLinux
		if im.Name == image.NameLinux && vm.Memory == "" {
			// The initramfs is unpacked into RAM, and fio alone links
			// ~90 MB of ceph and gluster libraries.
			vm.Memory = "1G"
		}
		for k, v := range im.Facts() {
			in.facts[k] = v
		}
	}
	return guest.PlanBoot(vm)
}

// planInstance is a VM guest's instance before it starts: its ready check
// and how it boots.
func (cr *cellRun) planInstance(ctx context.Context, spec guest.Spec) (*instance, guest.Boot, error) {
	ready, err := spec.ReadyCheck()
	if err != nil {
		return nil, guest.Boot{}, err
	}
	in := &instance{facts: map[string]string{}, ready: imageReady(spec, ready), boots: true}
	boot, err := cr.planVM(ctx, spec, in)
	return in, boot, err
}

var libvirtN atomic.Int64

// startLibvirt boots a guest through libvirt for one repeat.
func (cr *cellRun) startLibvirt(ctx context.Context, spec guest.Spec, logPath string) (*instance, error) {
	uri := cmp.Or(spec.URI, guest.DefaultLibvirtURI)
	want := spec.Accel
	if guest.IsRemoteLibvirt(uri) && want == "" {
		// This machine's KVM says nothing about the remote one's.
		want = "tcg"
	}
	var nw guest.LibvirtNet
	var g *guest.Libvirt
	in, err := cr.startVM(ctx, spec, logPath, want, func(*instance) (err error) {
		nw, err = guest.ParseLibvirtNet(spec.Network, guest.IsRemoteLibvirt(uri))
		return err
	}, func(c guest.QemuConfig) (vmGuest, error) {
		slug := strings.TrimSuffix(filepath.Base(cr.nb.Path), filepath.Ext(cr.nb.Path))
		var err error
		g, err = guest.NewLibvirt(guest.LibvirtConfig{
			Name:         c.Name,
			Domain:       guest.DomainName(slug, cr.cell.ID, spec.Name, int(libvirtN.Add(1))),
			URI:          uri,
			Boot:         c.Boot,
			Accel:        c.Accel,
			Net:          nw,
			ConsolePath:  c.ConsolePath,
			ReadyTimeout: c.ReadyTimeout,
			Ready:        c.Ready,
			Trace:        c.Trace,
			CPUs:         c.CPUs,
		})
		return g, err
	})
	if err != nil {
		return nil, err
	}
	in.command = []string{"libvirt", uri, "domain", g.Facts()["domain"]}
	in.facts["domain_xml"] = g.DomainXML()
	return in, nil
}

// startQemu boots a qemu guest for one repeat.
func (cr *cellRun) startQemu(ctx context.Context, spec guest.Spec, logPath string) (*instance, error) {
	var nw guest.Network
	var q *guest.Qemu
	in, err := cr.startVM(ctx, spec, logPath, spec.Accel, func(in *instance) error {
		var note string
		nw, note = guest.PlanQemuNetwork(spec.Network)
		if note != "" {
			in.facts["network_note"] = note
		}
		return nil
	}, func(c guest.QemuConfig) (vmGuest, error) {
		c.Net = nw
		var err error
		q, err = guest.NewQemu(c)
		return q, err
	})
	if err != nil {
		return nil, err
	}
	in.command = q.Command()
	return in, nil
}

// startVM is what starting either kind of VM guest does, in this order:
// plan its boot, decide its accelerator (want, or what this machine has),
// its network (network, the kind's own), its placement, then make the
// guest with newVM and boot it. The config newVM gets is qemu's, without
// its network: libvirt's has the same fields beside its own.
func (cr *cellRun) startVM(ctx context.Context, spec guest.Spec, logPath, want string,
	network func(*instance) error, newVM func(guest.QemuConfig) (vmGuest, error)) (*instance, error) {
	in, boot, err := cr.planInstance(ctx, spec)
	if err != nil {
		return nil, err
	}
	accel, err := cr.vmAccel(ctx, in, want)
	if err != nil {
		return nil, err
	}
	if err := network(in); err != nil {
		return nil, err
	}
	cpus, err := cr.place(spec, in)
	if err != nil {
		return nil, err
	}
	g, err := newVM(guest.QemuConfig{
		Name:         spec.Name,
		Boot:         boot,
		Accel:        accel,
		ConsolePath:  logPath,
		ReadyTimeout: spec.ReadyTimeout,
		Ready:        in.ready,
		Trace:        cr.traceStep,
		CPUs:         cpus,
	})
	if err != nil {
		return nil, err
	}
	if err := in.bootVM(ctx, g); err != nil {
		return nil, err
	}
	return in, nil
}

// vmAccel is the accelerator a VM guest boots with: want, or what this
// machine has; why it is not what was wanted goes into the facts.
func (cr *cellRun) vmAccel(ctx context.Context, in *instance, want string) (string, error) {
	accel, err := cr.accel(ctx, want)
	if err != nil {
		return "", err
	}
	if accel.Reason != "" {
		in.facts["accel_reason"] = accel.Reason
	}
	return accel.Name, nil
}

// place is where a VM guest of this repeat runs (nil: not placed), with
// its load's CPUs and the placement's note recorded in in.
func (cr *cellRun) place(spec guest.Spec, in *instance) (placement.Set, error) {
	pl, err := cr.placement(spec)
	if err != nil {
		return nil, err
	}
	pl.apply(in)
	return pl.sut, nil
}

// vmGuest is a guest that boots, either kind of VM.
type vmGuest interface {
	running
	BootMs() float64
}

// bootVM starts a VM guest and records its endpoint and boot time.
func (in *instance) bootVM(ctx context.Context, g vmGuest) error {
	in.g = g
	var err error
	if in.ep, err = g.Start(ctx); err != nil {
		return err
	}
	in.bootMs = g.BootMs()
	return nil
}

// startProcess starts a process guest for one repeat. vars are what the
// guest's table was resolved with, for its files.
func (cr *cellRun) startProcess(ctx context.Context, spec guest.Spec, port int, logPath string, vars map[string]any) (*instance, error) {
	ready, err := spec.ReadyCheck()
	if err != nil {
		return nil, err
	}
	dir := spec.Dir
	if !strings.Contains(dir, "{dir}") {
		dir = cr.path(dir)
	}
	files := make([]string, len(spec.Files))
	for i, f := range spec.Files {
		files[i] = cr.path(f)
	}
	pl, err := cr.placement(spec)
	if err != nil {
		return nil, err
	}
	g, err := guest.NewProcess(guest.ProcessConfig{
		Name:         spec.Name,
		Command:      spec.Command,
		Env:          spec.Env,
		Dir:          dir,
		Port:         port,
		ReadyTimeout: spec.ReadyTimeout,
		LogPath:      logPath,
		Trace:        cr.traceStep,
		Ready:        ready,
		Files:        files,
		Vars:         vars,
		DirBase:      cr.path(spec.DirBase),
		CPUs:         pl.sut,
	})
	if err != nil {
		return nil, err
	}
	in := &instance{g: g, command: spec.Command, facts: map[string]string{}, ready: ready, boots: true}
	pl.apply(in)
	begin := time.Now()
	in.ep, err = g.Start(ctx)
	if err != nil {
		return nil, err
	}
	in.bootMs = since(begin)
	return in, nil
}

// startHost makes the host guest's scratch folder for one repeat. It boots
// nothing: there is no boot time to record.
func (cr *cellRun) startHost(ctx context.Context, spec guest.Spec) (*instance, error) {
	pl, err := cr.placement(spec)
	if err != nil {
		return nil, err
	}
	g, err := guest.NewHost(guest.HostConfig{Name: spec.Name, DirBase: cr.path(spec.DirBase), Trace: cr.traceStep})
	if err != nil {
		return nil, err
	}
	in := &instance{g: g, facts: map[string]string{}, ready: guest.Ready{Check: guest.ReadyNone}}
	pl.apply(in)
	if in.ep, err = g.Start(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// traceStep passes the steps of a guest's start and stop to Options.Trace
// ("guest-step NAME STEP", "guest-step-done ...", "guest-undo ...": see
// guest.StepEvent).
func (cr *cellRun) traceStep(e guest.StepEvent) { cr.trace(e.String()) }

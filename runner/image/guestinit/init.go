package guestinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// IsInit reports whether this process is the init of a benchbook image:
// PID 1 started by the kernel as /init. Both conditions are needed: a
// benchbook in a container is PID 1 too, but was not started as /init.
func IsInit() bool {
	return os.Getpid() == 1 && len(os.Args) > 0 && os.Args[0] == Path
}

// Main runs the guest and never returns: when redis-server exits, or when
// setting up fails, it powers the machine off. Errors go to the console.
func Main() {
	if err := run(); err != nil {
		logf("error: %v", err)
	}
	powerOff()
}

func logf(format string, args ...any) {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	fmt.Fprintf(os.Stdout, "%s [%d.%03ds] %s\n", Marker, ts.Sec, ts.Nsec/1e6, fmt.Sprintf(format, args...))
}

func run() error {
	// The kernel starts init with no PATH; the programs it runs (mkfs)
	// are looked up in it.
	_ = os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	if err := mountAll(); err != nil {
		return err
	}
	cfg, err := readConfig(ConfigPath)
	if err != nil {
		return err
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return fmt.Errorf("reading the kernel command line: %w", err)
	}
	boot, err := ParseCmdline(string(cmdline))
	if err != nil {
		return err
	}
	if err := loadModules(cfg.Modules); err != nil {
		return err
	}
	logf("loaded %d modules", len(cfg.Modules))
	ifname, err := configureNetwork(boot)
	if err != nil {
		return err
	}
	logf("network: %s %s gateway %v", ifname, boot.Addr, boot.Gateway)
	if line := nicFacts(ifname); line != "" {
		logf("%s", line)
	}
	tune()
	if err := setupDisks(boot.Disks); err != nil {
		return err
	}
	if len(cfg.Command) == 0 {
		return idle(boot)
	}
	return runRedis(cfg, boot)
}

func mountAll() error {
	mounts := []struct {
		src, dir, fstype string
		flags            uintptr
		data             string
	}{
		{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.dir, err)
		}
		if err := unix.Mount(m.src, m.dir, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dir, err)
		}
	}
	// The kernel opens /dev/console for init before it runs; if the image
	// had no such node, init started without stdout. Retry now that
	// devtmpfs is there, so errors are not lost.
	var st unix.Stat_t
	if unix.Fstat(1, &st) != nil {
		if fd, err := unix.Open("/dev/console", unix.O_RDWR, 0); err == nil {
			for i := 0; i < 3; i++ {
				_ = unix.Dup2(fd, i)
			}
			if fd > 2 {
				unix.Close(fd)
			}
		}
	}
	return nil
}

func readConfig(p string) (Config, error) {
	var c Config
	b, err := os.ReadFile(p)
	if err != nil {
		return c, fmt.Errorf("reading init config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", p, err)
	}
	if c.Version != ConfigVersion {
		return c, fmt.Errorf("%s: version %d, but this init understands version %d: rebuild the image with the benchbook this init came with", p, c.Version, ConfigVersion)
	}
	return c, nil
}

func loadModules(files []string) error {
	for _, f := range files {
		if err := loadModule(f); err != nil {
			return err
		}
	}
	return nil
}

func loadModule(file string) error {
	fd, err := unix.Open(file, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("module %s: %w", file, err)
	}
	defer unix.Close(fd)
	flags := 0
	if !strings.HasSuffix(file, ".ko") {
		// .ko.xz, .ko.zst, .ko.gz: the kernel decompresses them itself when
		// built with CONFIG_MODULE_DECOMPRESS; benchbook ships them as found.
		flags |= unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(fd, "", flags); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("loading module %s: %w", file, err)
	}
	return nil
}

// configureNetwork brings up lo and the guest's interface with boot's
// address and route, and returns the interface's name.
func configureNetwork(boot Boot) (string, error) {
	nl, err := openRtnl()
	if err != nil {
		return "", err
	}
	defer nl.Close()
	if lo, err := net.InterfaceByName("lo"); err == nil {
		if err := nl.linkUp(lo.Index); err != nil {
			return "", err
		}
	}
	ifc, err := waitInterface(boot.Interface, 10*time.Second)
	if err != nil {
		return "", err
	}
	if err := nl.linkUp(ifc.Index); err != nil {
		return "", err
	}
	if err := nl.addAddr(ifc.Index, boot.Addr); err != nil {
		return "", err
	}
	if boot.Gateway.IsValid() {
		if err := nl.addDefaultRoute(ifc.Index, boot.Gateway); err != nil {
			return "", err
		}
	}
	return ifc.Name, nil
}

// nicFacts is the NIC's MTU and the virtio features it negotiated (one
// 0/1 per bit, from sysfs), for the host's record of the network path's
// offloads; "" when the NIC is not virtio.
func nicFacts(ifname string) string {
	mtu, err := os.ReadFile("/sys/class/net/" + ifname + "/mtu")
	if err != nil {
		return ""
	}
	feat, err := os.ReadFile("/sys/class/net/" + ifname + "/device/features")
	if err != nil {
		return ""
	}
	return fmt.Sprintf("nic %s mtu=%s virtio_features=%s", ifname, strings.TrimSpace(string(mtu)), strings.TrimSpace(string(feat)))
}

// waitInterface waits for the named interface, or for the first Ethernet
// interface: a driver may register its device after its module has loaded.
func waitInterface(name string, timeout time.Duration) (*net.Interface, error) {
	deadline := time.Now().Add(timeout)
	for {
		ifs, err := net.Interfaces()
		if err != nil {
			return nil, fmt.Errorf("listing interfaces: %w", err)
		}
		var names []string
		for i := range ifs {
			names = append(names, ifs[i].Name)
			if name != "" && ifs[i].Name == name {
				return &ifs[i], nil
			}
			// An Ethernet card has a MAC; tunnels the kernel creates by
			// itself (sit0, tunl0) do not.
			if name == "" && ifs[i].Flags&net.FlagLoopback == 0 && len(ifs[i].HardwareAddr) == 6 {
				return &ifs[i], nil
			}
		}
		if time.Now().After(deadline) {
			want := name
			if want == "" {
				want = "a network interface"
			}
			return nil, fmt.Errorf("no %s after %s (have %s): does the VM have a virtio-net device?", want, timeout, strings.Join(names, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tune removes what redis warns about at start: its background saves need
// overcommit, and many benchmark clients need many descriptors.
func tune() {
	_ = os.WriteFile("/proc/sys/vm/overcommit_memory", []byte("1"), 0)
	_ = os.WriteFile("/proc/sys/net/core/somaxconn", []byte("4096"), 0)
	lim := unix.Rlimit{Cur: 65536, Max: 65536}
	_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
}

// runRedis starts the command, forwards termination signals to it, and
// returns when redis has exited (the reaper reaps every other child:
// orphans are re-parented to PID 1).
func runRedis(cfg Config, boot Boot) error {
	argv := expand(cfg.Command, boot.Port)
	null, err := os.Open("/dev/null")
	if err != nil {
		return err
	}
	env := cfg.Env
	if env == nil {
		env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	r := startReaper()
	if boot.Exec {
		go serveExec(r)
	}
	logf("%s: %s", StartMarker, shellQuote(argv))
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
		Dir:   "/",
		Env:   env,
		Files: []*os.File{null, os.Stdout, os.Stderr},
	})
	null.Close()
	if err != nil {
		return fmt.Errorf("starting %s: %w", argv[0], err)
	}
	go func() {
		for s := range sigs {
			_ = p.Signal(s)
		}
	}()
	ws, _, err := r.wait(p.Pid)
	switch {
	case err != nil:
		return fmt.Errorf("waiting for %s: %w", argv[0], err)
	case ws.Exited() && ws.ExitStatus() == 0:
		logf("redis-server exited")
		return nil
	case ws.Exited():
		return fmt.Errorf("redis-server exited with status %d", ws.ExitStatus())
	default:
		return fmt.Errorf("redis-server killed by %v", ws.Signal())
	}
}

// idle is an image with nothing to start: it says it is ready, runs what
// the host asks over the exec port, reaps orphans, and returns (powering
// off) on SIGTERM, SIGINT or SIGHUP, which qemu's ACPI shutdown or a QMP
// quit precede.
func idle(boot Boot) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	r := startReaper()
	if boot.Exec {
		go serveExec(r)
	}
	logf("%s", ReadyMarker)
	s := <-sigs
	logf("%v: stopping", s)
	return nil
}

func powerOff() {
	logf("powering off")
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Power off is not wired on every machine type; with panic=-1 and qemu's
	// -no-reboot, the kernel panic that follows init's exit stops qemu too.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	os.Exit(1)
}

// shellQuote joins argv so that empty and spaced arguments stay visible.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

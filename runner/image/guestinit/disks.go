package guestinit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ParamDisks carries the scratch disks of a boot: base64url (no padding)
// of the JSON of a []Disk. One parameter, so that no mkfs option can be
// mistaken for another kernel parameter.
const ParamDisks = "benchbook.disks"

// DiskMarker starts (after Marker) the console line that reports a disk
// the init set up: "benchbook-init: [t] scratch {JSON of DiskReport}".
const DiskMarker = "scratch "

// Disk is a scratch disk the init formats and mounts before it says it is
// ready. The host attaches it as virtio-blk with Serial, which is how the
// init finds it whatever order the devices probe in.
type Disk struct {
	Serial       string   `json:"serial"`
	FS           string   `json:"fs"` // ext4, ext4-nojournal, xfs, btrfs or raw
	Mount        string   `json:"mount,omitempty"`
	Mkfs         []string `json:"mkfs,omitempty"` // extra options
	MountOptions []string `json:"mount_options,omitempty"`
	Scheduler    string   `json:"scheduler,omitempty"` // "": the kernel's
}

// DiskReport is what the init did with a Disk, for the results.
type DiskReport struct {
	Serial       string  `json:"serial"`
	Device       string  `json:"device"` // /dev/vdX; also linked as /dev/SERIAL
	FS           string  `json:"fs"`
	Mkfs         string  `json:"mkfs,omitempty"`      // the mkfs's version line
	MkfsArgv     string  `json:"mkfs_argv,omitempty"` // as run
	MountOptions string  `json:"mount_options"`       // as the kernel shows them
	Scheduler    string  `json:"scheduler"`           // the one in use
	SizeBytes    int64   `json:"size_bytes"`          // as the guest sees it
	MkfsMs       float64 `json:"mkfs_ms,omitempty"`   // time to format
	MountMs      float64 `json:"mount_ms,omitempty"`  // time to mount
}

func encodeDisks(ds []Disk) string {
	b, _ := json.Marshal(ds)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDisks(v string) ([]Disk, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	var ds []Disk
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, err
	}
	return ds, nil
}

// setupDisks formats and mounts each disk, reporting each on the console.
func setupDisks(ds []Disk) error {
	for _, d := range ds {
		r, err := setupDisk(d)
		if err != nil {
			return fmt.Errorf("scratch disk %s (%s): %w", d.Serial, d.FS, err)
		}
		b, _ := json.Marshal(r)
		logf("%s%s", DiskMarker, b)
	}
	return nil
}

func setupDisk(d Disk) (DiskReport, error) {
	r := DiskReport{Serial: d.Serial, FS: d.FS}
	name, err := waitSerial(d.Serial, 10*time.Second)
	if err != nil {
		return r, err
	}
	r.Device = "/dev/" + name
	_ = os.Symlink(name, "/dev/"+d.Serial)
	if d.Scheduler != "" {
		if err := os.WriteFile("/sys/block/"+name+"/queue/scheduler", []byte(d.Scheduler), 0); err != nil {
			return r, fmt.Errorf("IO scheduler %s: %w", d.Scheduler, err)
		}
	}
	r.Scheduler = currentScheduler(name)
	if sectors, err := os.ReadFile("/sys/block/" + name + "/size"); err == nil {
		fmt.Sscan(string(sectors), &r.SizeBytes)
		r.SizeBytes *= 512
	}
	if d.FS == "raw" {
		return r, nil
	}
	argv := mkfsArgv(d, r.Device)
	r.MkfsArgv = shellQuote(argv)
	r.Mkfs = mkfsVersion(argv[0])
	begin := time.Now()
	if out, err := runQuiet(argv); err != nil {
		return r, fmt.Errorf("%s: %w: %s", r.MkfsArgv, err, strings.TrimSpace(out))
	}
	r.MkfsMs = msSince(begin)
	begin = time.Now()
	if err := mountDisk(d, r.Device); err != nil {
		return r, err
	}
	r.MountMs = msSince(begin)
	r.MountOptions = mountOptions(d.Mount)
	return r, nil
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// mkfsArgv is the mkfs command for the disk: quiet, forced (the disk is
// new, and mkfs.xfs/btrfs refuse a device they think is in use), the
// file system's own options, then the notebook's.
func mkfsArgv(d Disk, dev string) []string {
	var argv []string
	switch d.FS {
	case "ext4":
		argv = []string{"mkfs.ext4", "-F", "-q"}
	case "ext4-nojournal":
		argv = []string{"mkfs.ext4", "-F", "-q", "-O", "^has_journal"}
	case "xfs":
		argv = []string{"mkfs.xfs", "-f", "-q"}
	case "btrfs":
		argv = []string{"mkfs.btrfs", "-f", "-q"}
	default:
		argv = []string{"mkfs." + d.FS}
	}
	argv = append(argv, d.Mkfs...)
	return append(argv, dev)
}

// fsType is the kernel's name of the file system.
func fsType(fs string) string {
	if fs == "ext4-nojournal" {
		return "ext4"
	}
	return fs
}

// mountFlags are the mount options that are flags of mount(2) rather than
// the file system's own (which go in its data string).
var mountFlags = map[string]uintptr{
	"ro": unix.MS_RDONLY, "noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME,
	"relatime": unix.MS_RELATIME, "strictatime": unix.MS_STRICTATIME, "lazytime": unix.MS_LAZYTIME,
	"sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC, "nodev": unix.MS_NODEV,
	"nosuid": unix.MS_NOSUID, "noexec": unix.MS_NOEXEC,
}

func splitMountOptions(opts []string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		for _, p := range strings.Split(o, ",") {
			if f, ok := mountFlags[p]; ok {
				flags |= f
			} else if p != "" {
				data = append(data, p)
			}
		}
	}
	return flags, strings.Join(data, ",")
}

func mountDisk(d Disk, dev string) error {
	if err := os.MkdirAll(d.Mount, 0o755); err != nil {
		return fmt.Errorf("mount point %s: %w", d.Mount, err)
	}
	flags, data := splitMountOptions(d.MountOptions)
	if err := unix.Mount(dev, d.Mount, fsType(d.FS), flags, data); err != nil {
		return fmt.Errorf("mount %s on %s (%s, %q): %w", dev, d.Mount, fsType(d.FS), data, err)
	}
	return nil
}

// mountOptions are the options the kernel shows for the mount at dir.
func mountOptions(dir string) string {
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[1] == dir {
			return f[3]
		}
	}
	return ""
}

// currentScheduler is the scheduler in brackets in the sysfs list.
func currentScheduler(dev string) string {
	b, _ := os.ReadFile("/sys/block/" + dev + "/queue/scheduler")
	s := string(b)
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return strings.TrimSpace(s)
}

// waitSerial finds the virtio disk whose serial is serial.
func waitSerial(serial string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		devs, _ := filepath.Glob("/sys/block/vd*")
		for _, d := range devs {
			if b, err := os.ReadFile(d + "/serial"); err == nil && strings.TrimSpace(string(b)) == serial {
				return filepath.Base(d), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no virtio disk with serial %q after %s (disks: %d)", serial, timeout, len(devs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mkfsVersion is the first line a mkfs prints of its version (mke2fs -V
// and mkfs.xfs -V; mkfs.btrfs --version).
func mkfsVersion(prog string) string {
	flag := "-V"
	if strings.Contains(prog, "btrfs") {
		flag = "--version"
	}
	out, _ := runQuiet([]string{prog, flag})
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(line)
}

// runQuiet runs argv and returns its combined output. The init reaps
// orphans with wait4(-1) only in idle(), which starts after the disks.
func runQuiet(argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

package guest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/benchbook/benchbook/runner/image/guestinit"
)

// ScratchDisk is a scratch disk of one boot: what the notebook asked for,
// the serial the guest finds it by, and (once the boot's "scratch" step
// made it) the sparse file behind it.
type ScratchDisk struct {
	Scratch
	Serial string
	Bytes  int64
	Path   string // "" until made
}

// planScratch turns the notebook's tables into disks, and the kernel
// command line parameter that tells the guest's init what to do with them.
func planScratch(ss []Scratch) ([]ScratchDisk, string, error) {
	if len(ss) == 0 {
		return nil, "", nil
	}
	var out []ScratchDisk
	var gd []guestinit.Disk
	for i, s := range ss {
		n, err := parseSize(s.Size)
		if err != nil {
			return nil, "", fmt.Errorf("scratch[%d]: %w", i, err)
		}
		if s.AIO == "native" && s.Cache != "none" && s.Cache != "directsync" {
			return nil, "", fmt.Errorf("scratch[%d]: aio = \"native\" needs cache = \"none\" or \"directsync\" (qemu refuses it otherwise)", i)
		}
		d := ScratchDisk{Scratch: s, Serial: fmt.Sprintf("scratch%d", i), Bytes: n}
		out = append(out, d)
		gd = append(gd, guestinit.Disk{Serial: d.Serial, FS: s.FS, Mount: s.Mount, Mkfs: s.Mkfs, MountOptions: s.MountOptions, Scheduler: s.Scheduler})
	}
	return out, guestinit.DisksParam(gd), nil
}

// parseSize reads "2G", "512M", "1048576" (binary multiples).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("size %q: want a size like \"2G\"", s)
	}
	return v * mult, nil
}

// makeScratchFiles makes each disk's sparse file in dir and pushes its
// removal: a failed, cancelled or finished boot leaves none behind.
func makeScratchFiles(life *lifecycle, dir string, ds []ScratchDisk) error {
	for i := range ds {
		p := filepath.Join(dir, ds[i].Serial+".raw")
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("scratch disk: %w", err)
		}
		life.push(func(context.Context) error {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				return err
			}
			return nil
		})
		err = f.Truncate(ds[i].Bytes)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("scratch disk %s: %w", p, err)
		}
		ds[i].Path = p
	}
	return nil
}

// scratchArgs attach the disks as virtio-blk with their serials, cache
// mode and I/O backend.
func scratchArgs(b Boot) []string {
	var args []string
	for i, d := range b.Scratch {
		if d.Path == "" {
			continue
		}
		id := fmt.Sprintf("sd%d", i)
		args = append(args, "-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=%s,cache=%s,aio=%s", d.Path, id, d.Cache, d.AIO))
		dev := "virtio-blk-pci"
		if b.Machine == "microvm" {
			dev = "virtio-blk-device"
		}
		args = append(args, "-device", dev+",drive="+id+",serial="+d.Serial)
	}
	return args
}

// diskFacts reads the init's reports of its disks from the console and
// names them for the results: scratch_fs, scratch_mkfs, ... for the
// first disk, scratch1_fs, ... for the next.
func diskFacts(consolePath string, ds []ScratchDisk, set func(k, v string)) error {
	reports := map[string]guestinit.DiskReport{}
	f, err := os.Open(consolePath)
	if err != nil {
		return fmt.Errorf("reading the console for the scratch disks' facts: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "] "+guestinit.DiskMarker+"{")
		if !strings.HasPrefix(strings.TrimSpace(line), guestinit.Marker) || i < 0 {
			continue
		}
		var r guestinit.DiskReport
		if json.Unmarshal([]byte(line[i+2+len(guestinit.DiskMarker):]), &r) == nil {
			reports[r.Serial] = r
		}
	}
	for i, d := range ds {
		p := "scratch_"
		if i > 0 {
			p = fmt.Sprintf("scratch%d_", i)
		}
		r, ok := reports[d.Serial]
		if !ok {
			return fmt.Errorf("the guest's init did not report scratch disk %s: is the image builtin:linux?", d.Serial)
		}
		set(p+"fs", d.FS)
		set(p+"size", d.Size)
		set(p+"size_bytes", strconv.FormatInt(r.SizeBytes, 10))
		set(p+"cache", d.Cache)
		set(p+"aio", d.AIO)
		set(p+"scheduler", r.Scheduler)
		set(p+"mount", d.Mount)
		set(p+"mkfs", r.Mkfs)
		set(p+"mkfs_command", r.MkfsArgv)
		set(p+"mkfs_options", strings.Join(d.Mkfs, " "))
		set(p+"mount_options", r.MountOptions)
		set(p+"device", r.Device)
		if r.MkfsMs > 0 {
			set(p+"mkfs_ms", strconv.FormatFloat(r.MkfsMs, 'f', 1, 64))
		}
	}
	return nil
}

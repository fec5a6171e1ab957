package image

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
)

// DiskModules are what scratch disks need in the linux image: the
// virtio block driver, the virtio console (the agent's serial port) and
// the IO schedulers Debian's cloud kernel builds as modules (mq-deadline
// is built in). modules.dep adds their dependencies.
var DiskModules = []string{"virtio_blk", "virtio_console", "bfq", "kyber_iosched"}

// ProgramModules are the kernel modules a program needs to be of any use
// in the guest: the file system a mkfs makes (ext4 is built into Debian's
// cloud kernel; xfs and btrfs are modules).
var ProgramModules = map[string][]string{
	"mkfs.xfs":   {"xfs"},
	"mkfs.btrfs": {"btrfs"},
}

// Name is the name of the image these options build: NameLinux when they
// list programs, else Name.
func (o BuildOptions) Name() string {
	if o.Programs != nil {
		return NameLinux
	}
	return Name
}

// wantsRedis: linux-redis always holds redis-server, linux when asked.
func (o BuildOptions) wantsRedis() bool {
	return o.Programs == nil || slices.Contains(o.Programs, "redis-server")
}

// programFiles are the programs to copy: their host files and where the
// guest has them.
func (o BuildOptions) programFiles() ([]hostFile, error) {
	if o.Programs == nil {
		return []hostFile{{Guest: GuestRedis, Host: o.RedisServer}}, nil
	}
	var out []hostFile
	for _, p := range o.Programs {
		if p == "redis-server" {
			out = append(out, hostFile{Guest: GuestRedis, Host: o.RedisServer})
			continue
		}
		host := p
		if !filepath.IsAbs(p) {
			var err error
			if host, err = exec.LookPath(p); err != nil {
				return nil, fmt.Errorf("program %s: not on PATH (install it on this machine: the image copies the host's): %w", p, err)
			}
		}
		abs, err := filepath.Abs(host)
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", p, err)
		}
		out = append(out, hostFile{Guest: abs, Host: abs})
	}
	return out, nil
}

// modules are the modules to load: Modules, or by default DefaultModules
// (and for linux DiskModules), then what the programs need.
func (o BuildOptions) modules() []string {
	mods := o.Modules
	if mods == nil {
		mods = DefaultModules
		if o.Programs != nil {
			mods = append(slices.Clone(mods), DiskModules...)
		}
	}
	for _, p := range o.Programs {
		mods = append(mods, ProgramModules[filepath.Base(p)]...)
	}
	return mods
}

package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/benchbook/benchbook/runner/image"
)

type imageOpts struct {
	cache  string
	kernel string
}

func imageCommand() *command {
	return &command{
		name:  "image",
		args:  "build linux-redis | build linux PROGRAM...",
		short: "build the Linux micro-VM image that guests with image = \"builtin:linux-redis\" (or \"builtin:linux\") boot",
		long: `Builds benchbook's Linux micro-VM from this machine, without downloading
anything: the kernel of Debian's linux-image-cloud-amd64, an initramfs
holding the host's redis-server with the libraries it links, the virtio
modules the kernel needs, and benchbook itself as /init. The same inputs give
the same bytes; images are cached by digest under ~/.cache/benchbook/images
(or $BENCHBOOK_CACHE), so building again is instant. benchbook run builds it
on first use; this command does it ahead of time and shows what went in.

"linux" holds the programs named instead of redis (as a guest's programs =
[...] lists them), with their libraries and the kernel modules they need
(xfs for mkfs.xfs, btrfs for mkfs.btrfs, the virtio disk driver, the bfq and
kyber IO schedulers). benchbook may be built any way: a dynamically linked
benchbook (a plain go build) goes in as /init with its libraries.

Examples:

  benchbook image build linux-redis
  benchbook image build linux fio mkfs.ext4 mkfs.xfs`,
		flags: func(fs *flag.FlagSet) any {
			o := &imageOpts{}
			fs.StringVar(&o.cache, "cache", "", "image cache `folder` (default ~/.cache/benchbook/images)")
			fs.StringVar(&o.kernel, "kernel-version", "", "a `version` under /lib/modules (default: the newest cloud kernel)")
			return o
		},
		minArgs: 2, maxArgs: -1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*imageOpts)
			if args[0] != "build" {
				return fmt.Errorf("image %s: the only verb is build (benchbook image build linux-redis)", args[0])
			}
			bo := image.BuildOptions{CacheDir: o.cache, KernelVersion: o.kernel}
			switch args[1] {
			case image.Name:
				if len(args) > 2 {
					return fmt.Errorf("image build %s: it takes no programs (use image build %s %s)", image.Name, image.NameLinux, strings.Join(args[2:], " "))
				}
			case image.NameLinux:
				bo.Programs = append([]string{}, args[2:]...)
			default:
				return fmt.Errorf("image build %s: the built-in images are %s and %s", args[1], image.Name, image.NameLinux)
			}
			im, err := image.Build(ctx, bo)
			if err != nil {
				return err
			}
			state := "built"
			if im.Cached {
				state = "already in the cache"
			}
			fmt.Fprintf(env.stdout, "%s %s\n  digest  %s\n  kernel  %s (%s)\n  initrd  %s (%d files, %.1f MiB)\n",
				im.Name, state, im.Digest, im.Kernel, im.KernelVersion, im.Initrd, len(im.Manifest.Files), float64(im.Manifest.InitrdSize)/(1<<20))
			return nil
		},
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/doctor"
	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/internal/tmpdir"
	"github.com/benchbook/benchbook/render/site"
	"github.com/benchbook/benchbook/runner"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/verify"
)

type doctorOpts struct{ clean bool }

func doctorCommand() *command {
	return &command{
		name:  "doctor",
		args:  "[--clean [PATH...]]",
		short: "list the external programs benchbook uses, and how to get missing ones",
		long: `Looks for every external program benchbook can use (redis-server,
redis-benchmark, memtier_benchmark, qemu, libvirtd, hugo, chromium), prints
whether it was found, its version, what it is for, and how to install it.
It also says whether KVM can really run a guest here (it boots test guests;
without KVM, VM guests run under TCG, software emulation) and how guests are
networked. The exit status is 1 only when a required program is missing.

With --clean it removes what crashed or killed runs left behind, and lists
what it removed:

  - benchbook's network namespaces whose process is gone;
  - benchbook-* libvirt domains (and their uploaded volumes) whose run is over;
  - the staging folders (NOTEBOOK.results/.run-CELL-*) of runs killed
    outright, in the results folders PATH names, unless a run is using that
    folder now (its lock says so; the folder is then skipped, and named);
  - the temporary folders of verify and serve ($TMPDIR/benchbook-verify-PID-*,
    $TMPDIR/benchbook-serve-PID-*) and guests' scratch folders
    ($TMPDIR/benchbook-scratch-PID-*) whose process is gone.

A PATH is a notebook (x.toml: its x.results), a results folder, or a folder
searched recursively for results folders (hidden folders skipped); without
PATH, the current folder. benchbook run removes the staging leftovers of the
notebook it runs by itself, and verify and serve their own leftovers.

Example:

  benchbook doctor
  benchbook doctor --clean
  benchbook doctor --clean notebooks`,
		flags: func(fs *flag.FlagSet) any {
			o := &doctorOpts{}
			fs.BoolVar(&o.clean, "clean", false, "remove leftovers of crashed or killed runs (network namespaces, libvirt domains, staging and scratch folders)")
			return o
		},
		maxArgs: -1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			if opts.(*doctorOpts).clean {
				return doctorClean(ctx, env, args)
			}
			if len(args) > 0 {
				return fmt.Errorf("doctor %s: paths are for --clean (benchbook doctor --clean %[1]s)", strings.Join(args, " "))
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROGRAM\tSTATUS\tVERSION\tUSED FOR")
			var missing []doctor.Finding
			requiredMissing := 0
			for _, f := range doctor.Check(ctx, 10*time.Second) {
				status, version := "ok", f.Version
				if f.Path == "" {
					status, version = "missing", "-"
					missing = append(missing, f)
					if f.Required {
						requiredMissing++
					}
				} else if version == "" {
					version = "?"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, status, version, f.Purpose)
			}
			tw.Flush()
			if len(missing) > 0 {
				fmt.Fprintln(env.stdout, "\nTo get what is missing:")
				for _, f := range missing {
					fmt.Fprintf(env.stdout, "  %s: %s\n", f.Name, f.Get)
				}
			}
			fmt.Fprintln(env.stdout)
			if _, err := exec.LookPath(guest.QemuBinary); err == nil {
				if err := guest.ProbeKVM(ctx); err != nil {
					fmt.Fprintf(env.stdout, "KVM: unusable (%v)\n     VM guests run under TCG, software emulation; reports say accel: tcg next to their figures\n", err)
				} else {
					fmt.Fprintln(env.stdout, "KVM: usable")
				}
			}
			if err := netns.Available(); err != nil {
				fmt.Fprintf(env.stdout, "network: qemu user networking on the host (%v); run as root for a private namespace per guest\n", err)
			} else {
				fmt.Fprintln(env.stdout, "network: a private network namespace per VM guest, with its own bridge and sysctls (root)")
			}
			if b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_syncookies"); err == nil {
				fmt.Fprintf(env.stdout, "host net.ipv4.tcp_syncookies = %s (with user networking outside a namespace, 1 can stall forwarded connections under load)\n", strings.TrimSpace(string(b)))
			}
			if left := netns.Leftovers(); len(left) > 0 {
				fmt.Fprintf(env.stdout, "leftovers of crashed runs: %d network namespaces (benchbook doctor --clean removes them)\n", len(left))
			}
			if requiredMissing > 0 {
				return silent(1, fmt.Errorf("required programs missing"))
			}
			return nil
		},
	}
}

func doctorClean(ctx context.Context, env *cmdEnv, paths []string) error {
	var errs []error
	removed, err := cleanStaging(env, paths)
	if err != nil {
		errs = append(errs, err)
	}
	n, err := cleanScratch(env)
	removed += n
	if err != nil {
		errs = append(errs, err)
	}
	left := netns.Leftovers()
	for _, name := range left {
		if err := netns.Delete(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(env.stdout, "removed network namespace %s\n", name)
	}
	removed += len(left)
	if _, err := os.Stat(guest.LibvirtSocket); err == nil {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		domains, err := guest.CleanLibvirt(cctx, guest.DefaultLibvirtURI)
		for _, d := range domains {
			fmt.Fprintf(env.stdout, "removed libvirt %s\n", d)
		}
		removed += len(domains)
		if err != nil {
			errs = append(errs, fmt.Errorf("libvirt leftovers: %w", err))
		}
	}
	if removed == 0 {
		fmt.Fprintln(env.stdout, "nothing to clean")
	}
	return errors.Join(errs...)
}

// cleanStaging removes the staging folders of killed runs in the results
// folders paths name, skipping (and naming) those a live run is using.
func cleanStaging(env *cmdEnv, paths []string) (int, error) {
	folders, err := doctor.ResultsFolders(paths)
	if err != nil {
		return 0, err
	}
	return sweepEach(env, folders, "removed staging folder %s (left by a run that was killed)\n", runner.CleanStaging,
		func(dir string, err error) error {
			var locked *runner.LockedError
			if errors.As(err, &locked) {
				fmt.Fprintf(env.stdout, "skipped %s: a run is using it (%s)\n", dir, locked.Holder)
				return nil
			}
			return err
		})
}

// sweepEach runs clean over each of where, prints each path it removed
// with removedFmt, and counts them; failed says what an error of one is
// (nil: not one to return).
func sweepEach(env *cmdEnv, where []string, removedFmt string, clean func(string) ([]string, error), failed func(string, error) error) (int, error) {
	var errs []error
	removed := 0
	for _, w := range where {
		gone, err := clean(w)
		for _, p := range gone {
			fmt.Fprintf(env.stdout, removedFmt, p)
		}
		removed += len(gone)
		if err != nil {
			if err = failed(w, err); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// scratchPrefixes name the temporary folders tagged with their owner's pid
// (internal/tmpdir) that doctor sweeps.
var scratchPrefixes = append([]string{verify.ScratchPrefix, site.TempPrefix, guest.ScratchPrefix}, guest.RunDirPrefixes...)

// cleanScratch removes the scratch folders of benchbook processes that are
// gone.
func cleanScratch(env *cmdEnv) (int, error) {
	return sweepEach(env, scratchPrefixes, "removed scratch folder %s (its process is gone)\n", tmpdir.Sweep,
		func(_ string, err error) error { return err })
}

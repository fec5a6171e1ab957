// Command vmbench measures what booting guests costs under this machine's
// qemu: boot-to-ready (qemu start to the first PONG) per flavor and machine
// type, and the runner's own overhead (from ready to the load's start, and
// teardown). `make bench` runs it.
//
// The built-in Linux micro-VM is always measured. OSv and rumprun are
// measured when their images are given:
//
//	BENCHBOOK_OSV_DISK=images/osv/usr.img
//	BENCHBOOK_OSV_KERNEL=images/osv/loader-stripped.elf   (direct boot)
//	BENCHBOOK_RUMPRUN_KERNEL=images/rumprun/redis.bin BENCHBOOK_RUMPRUN_DISK=images/rumprun/data.iso
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/image"
)

func main() {
	boots := flag.Int("boots", 3, "boots per configuration")
	initBin := flag.String("init", "", "static guest init (default: build ./runner/image/initrd/init)")
	flag.Parse()
	if err := run(*boots, *initBin); err != nil {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
		os.Exit(1)
	}
}

type row struct {
	name     string
	accel    string
	bootMs   []float64
	stopMs   []float64
	overhead []float64
	teardown []float64
	err      error
}

func run(boots int, initBin string) error {
	ctx := context.Background()
	if initBin == "" {
		dir, err := os.MkdirTemp("", "vmbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		initBin = filepath.Join(dir, "init")
		cmd := exec.Command("go", "build", "-trimpath", "-o", initBin, "./runner/image/initrd/init")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build init: %v\n%s", err, out)
		}
	}
	im, err := image.Build(ctx, image.BuildOptions{InitBinary: initBin})
	if err != nil {
		return err
	}
	accel, err := guest.ChooseAccel(ctx, "auto")
	if err != nil {
		return err
	}
	specs := []struct {
		name string
		spec guest.VMSpec
	}{
		{"linux microvm", guest.VMSpec{Name: "linux", Flavor: "linux", Kernel: im.Kernel, Initrd: im.Initrd, Machine: "microvm"}},
		{"linux pc", guest.VMSpec{Name: "linux", Flavor: "linux", Kernel: im.Kernel, Initrd: im.Initrd, Machine: "pc"}},
	}
	if d := os.Getenv("BENCHBOOK_OSV_DISK"); d != "" {
		specs = append(specs, struct {
			name string
			spec guest.VMSpec
		}{"osv disk (BIOS)", guest.VMSpec{Name: "osv", Flavor: "osv", Disk: d}})
		if k := os.Getenv("BENCHBOOK_OSV_KERNEL"); k != "" {
			specs = append(specs, struct {
				name string
				spec guest.VMSpec
			}{"osv direct", guest.VMSpec{Name: "osv", Flavor: "osv", Disk: d, Kernel: k, Cmdline: []string{"--rootfs=rofs", "/redis-server", "redis.conf"}}})
		}
	}
	if k := os.Getenv("BENCHBOOK_RUMPRUN_KERNEL"); k != "" {
		specs = append(specs, struct {
			name string
			spec guest.VMSpec
		}{"rumprun", guest.VMSpec{Name: "rumprun", Flavor: "rumprun", Kernel: k, Cmdline: []string{"redis-server", "/data/conf/redis.conf"}, Disks: []string{os.Getenv("BENCHBOOK_RUMPRUN_DISK")}}})
	}
	var rows []row
	for _, s := range specs {
		r := row{name: s.name, accel: accel.Name}
		for i := 0; i < boots && r.err == nil; i++ {
			b, err := guest.PlanBoot(s.spec)
			if err != nil {
				r.err = err
				break
			}
			port, _ := guest.FreePort()
			runDir, _ := os.MkdirTemp("", "vmbench-q-")
			q, err := guest.NewQemu(guest.QemuConfig{Name: s.spec.Name, Boot: b, Accel: accel.Name, Net: guest.Network{Mode: "user", HostPort: port}, RunDir: runDir, ReadyTimeout: 3 * time.Minute})
			if err != nil {
				r.err = err
				break
			}
			if _, err := q.Start(ctx); err != nil {
				r.err = err
				break
			}
			r.bootMs = append(r.bootMs, q.BootMs())
			t0 := time.Now()
			q.Stop(ctx)
			r.stopMs = append(r.stopMs, ms(time.Since(t0)))
		}
		rows = append(rows, r)
	}
	over, tear, err := runnerOverhead(ctx, boots, initBin)
	rows = append(rows, row{name: "runner, linux microvm (private netns)", accel: accel.Name, overhead: over, teardown: tear, err: err})

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "guest\taccel\tboot-to-PONG ms (median, min-max)\tqemu teardown ms\tready-to-load ms\trunner teardown ms\n")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t%s\tfailed: %v\t\t\t\n", r.name, r.accel, firstLine(r.err))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.accel, stat(r.bootMs), stat(r.stopMs), stat(r.overhead), stat(r.teardown))
	}
	tw.Flush()
	fmt.Printf("\n%d boots each; accel %s", boots, accel.Name)
	if accel.Reason != "" {
		fmt.Printf(" (%s)", accel.Reason)
	}
	fmt.Println(". Goal: ready-to-load <= 50 ms, teardown <= 1 s.")
	return nil
}

// runnerOverhead runs a one-guest notebook through the runner and times its
// steps: guest ready -> load started, load done -> guest stopped.
func runnerOverhead(ctx context.Context, boots int, initBin string) (over, tear []float64, err error) {
	dir, err := os.MkdirTemp("", "vmbench-nb-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "nb.toml")
	src := fmt.Sprintf(`title = "overhead"
[guests.linux]
kind = "qemu"
image = "builtin:linux-redis"
[loads.tiny]
clients = 1
requests = 50
[[cells]]
kind = "bench"
id = "o"
guests = ["linux"]
load = "tiny"
repeat = %d
`, boots)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return nil, nil, err
	}
	nb, err := notebook.ParseFile(path)
	if err != nil {
		return nil, nil, err
	}
	var last = map[string]time.Time{}
	_, err = runner.Run(ctx, nb, results.ForNotebook(path), runner.Options{
		Version: "vmbench",
		Image:   image.BuildOptions{InitBinary: initBin},
		Trace: func(ev string) {
			now := time.Now()
			last[ev] = now
			switch ev {
			case "load-started":
				over = append(over, ms(now.Sub(last["guest-ready"])))
			case "guest-stopped":
				tear = append(tear, ms(now.Sub(last["load-done"])))
			}
		},
	})
	return over, tear, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func stat(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if s[len(s)-1] < 10 {
		return fmt.Sprintf("%.2f (%.2f-%.2f)", s[len(s)/2], s[0], s[len(s)-1])
	}
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s[len(s)/2], s[0], s[len(s)-1])
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

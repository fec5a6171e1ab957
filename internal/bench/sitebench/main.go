// Command sitebench measures `benchbook build` on a generated corpus of prose
// notebooks against Hugo building the same pages as Markdown, in the same
// run on the same machine:
//
//	go run ./internal/bench/sitebench            # 1,000 notebooks
//	go run ./internal/bench/sitebench -n 200 -runs 1
//
// Each notebook is about 1,000 words of prose in three cells, with a table
// and a Go code block (highlighted by both tools). It prints the cold build
// time of both tools, benchbook's no-change rebuild and its one-edit
// rebuild, each the median of -runs runs, and the ratios against the goals.
//
// Each cold build writes into a new folder unless -rm is given. On an ext4
// without a journal (the root of the machines this project runs on is one), the
// kernel steps over every inode deleted in the last 30 s before it hands
// out a new one, so a build right after `rm -rf public` pays for the
// deletion, the more the more files both had; -rm measures that case.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "sitebench: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 1000, "notebooks in the corpus")
	runs := flag.Int("runs", 3, "runs per measurement; the median is shown")
	keep := flag.String("keep", "", "generate the corpus in this `folder` and keep it (default: a temporary folder)")
	hugoBin := flag.String("hugo", "hugo", "Hugo `program`")
	rm := flag.Bool("rm", false, "delete the previous output right before each cold build, as `rm -rf public && build` does, instead of building into a new folder")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	work := *keep
	if work == "" {
		tmp, err := os.MkdirTemp("", "sitebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	nbDir := filepath.Join(work, "notebooks")
	hugoDir := filepath.Join(work, "hugo")
	if err := generate(nbDir, hugoDir, *n); err != nil {
		return err
	}

	bin := filepath.Join(work, "benchbook")
	fmt.Fprintf(os.Stderr, "sitebench: building benchbook\n")
	if err := command(ctx, "", "go", "build", "-trimpath", "-o", bin, "./cmd/benchbook"); err != nil {
		return err
	}
	hugoVersion, err := exec.CommandContext(ctx, *hugoBin, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w (install it: apt-get install -y hugo)", *hugoBin, err)
	}

	// Every cold build writes into a folder never used before, and nothing
	// is deleted until all runs are done. On this machine's ext4 (no
	// journal) a file created within 30 s of deletions makes the kernel
	// step over every recently deleted inode first: building right after
	// removing the previous output took up to twice as long, for either
	// tool, and by how much depended on what ran before. The filesystem is
	// synced before each timed build so one tool's writeback does not land
	// in the other's time.
	outDir := func(tool string, i int) string {
		if *rm {
			i = 0
		}
		return filepath.Join(work, fmt.Sprintf("%s-public-%d", tool, i))
	}
	clean := func(tool string, i int) error {
		if !*rm {
			return nil
		}
		return os.RemoveAll(outDir(tool, i))
	}
	defer func() {
		for i := -1; i < *runs; i++ {
			os.RemoveAll(outDir("hugo", i))
			os.RemoveAll(outDir("benchbook", i))
		}
	}()
	hugo := func(i int) error {
		return command(ctx, "", *hugoBin, "--quiet", "--source", hugoDir, "--destination", outDir("hugo", i), "--cacheDir", filepath.Join(work, "hugo-cache", fmt.Sprint(i)))
	}
	build := func(i int) func() error {
		return func() error { return command(ctx, "", bin, "build", nbDir, "-o", outDir("benchbook", i)) }
	}

	// One untimed build of each first, so both find the corpus and their
	// own program in the page cache.
	fmt.Fprintf(os.Stderr, "sitebench: warm-up\n")
	if err := hugo(-1); err != nil {
		return err
	}
	if err := build(-1)(); err != nil {
		return err
	}

	var cold, hugoCold, noChange, oneEdit []time.Duration
	for i := range *runs {
		fmt.Fprintf(os.Stderr, "sitebench: run %d of %d\n", i+1, *runs)

		// Hugo, cold: a new (or just emptied) output folder, no resource cache.
		if err := clean("hugo", i); err != nil {
			return err
		}
		d, err := timed(func() error { return hugo(i) })
		if err != nil {
			return err
		}
		hugoCold = append(hugoCold, d)

		// benchbook, cold: a new (or just emptied) output folder, no manifest.
		if err := clean("benchbook", i); err != nil {
			return err
		}
		if d, err = timed(build(i)); err != nil {
			return err
		}
		cold = append(cold, d)

		if d, err = timed(build(i)); err != nil {
			return err
		}
		noChange = append(noChange, d)

		// One edit: a sentence added to one notebook's prose.
		victim := filepath.Join(nbDir, fmt.Sprintf("note-%04d.toml", (i*37)%*n))
		if err := appendProse(victim, fmt.Sprintf("An edit made by run %d.", i)); err != nil {
			return err
		}
		if d, err = timed(build(i)); err != nil {
			return err
		}
		oneEdit = append(oneEdit, d)
	}

	h := median(hugoCold)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(os.Stdout, "site build of %d prose notebooks (~1,000 words, a table and a code block each), median of %d runs, %d cores\n", *n, *runs, runtime.NumCPU())
	fmt.Fprintf(os.Stdout, "hugo: %s", hugoVersion)
	if *rm {
		fmt.Fprintln(os.Stdout, "each cold build right after deleting the previous output (-rm)")
	}
	fmt.Fprintln(w, "measurement\ttime\tvs hugo cold\tgoal\tmet\t")
	row := func(name string, d time.Duration, goal string, ok bool) {
		fmt.Fprintf(w, "%s\t%.3fs\t%.3f×\t%s\t%s\t\n", name, d.Seconds(), d.Seconds()/h.Seconds(), goal, yes(ok))
	}
	fmt.Fprintf(w, "hugo cold build\t%.3fs\t1.000×\t\t\t\n", h.Seconds())
	row("benchbook cold build", median(cold), "≤ 0.70×", median(cold).Seconds() <= 0.7*h.Seconds())
	row("benchbook no-change rebuild", median(noChange), "≤ 0.05×", median(noChange).Seconds() <= 0.05*h.Seconds())
	row("benchbook one-edit rebuild", median(oneEdit), "≤ 0.15s", median(oneEdit) <= 150*time.Millisecond)
	return w.Flush()
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

func timed(f func() error) (time.Duration, error) {
	syscall.Sync()
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// command runs a program to completion; its output is shown only when it
// fails. Its process group is killed when ctx ends.
func command(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

func appendProse(path, sentence string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.LastIndex(data, []byte(`"""`))
	if i < 0 {
		return fmt.Errorf("%s: no prose to edit", path)
	}
	edited := slices.Concat(data[:i], []byte(sentence+"\n"), data[i:])
	return os.WriteFile(path, edited, 0o644)
}

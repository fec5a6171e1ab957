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
// rebuild, each the median of -runs runs, and the ratios against the goals,
// in wall time and in CPU time (user and system): on a machine shared with
// other work the CPU time moves less.
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
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "sitebench: %v\n", err)
		os.Exit(1)
	}
}

// bench is one sitebench run: the corpus, the two programs, and the
// times measured.
type bench struct {
	n, runs int
	rm      bool
	hugoBin string

	work, nbDir, hugoDir string
	bin                  string // benchbook, built for the run
	hugoVersion          []byte

	hugoCold, cold, noChange, oneEdit samples

	// The history corpora (-history): the prose notebooks with a bench
	// cell, without and with that many runs of history each, built by
	// benchbook and, with -baseline, by another benchbook in turn.
	history           int
	plainDir, histDir string
	histories         []*historyBuilds
	histPages         int
}

// historyBuilds are the times of one benchbook on the history corpora.
type historyBuilds struct {
	name, bin                         string
	plainCold, histCold, histNoChange samples
}

// sample is one timed build: wall time and the CPU time (user and system)
// of the program.
type sample struct{ wall, cpu time.Duration }

type samples []sample

func (s samples) wall() time.Duration {
	return median(s, func(x sample) time.Duration { return x.wall })
}
func (s samples) cpu() time.Duration { return median(s, func(x sample) time.Duration { return x.cpu }) }

func run() error {
	b := &bench{}
	flag.IntVar(&b.n, "n", 1000, "notebooks in the corpus")
	flag.IntVar(&b.runs, "runs", 5, "runs per measurement; the median is shown")
	keep := flag.String("keep", "", "generate the corpus in this `folder` and keep it (default: a temporary folder)")
	flag.StringVar(&b.hugoBin, "hugo", "hugo", "Hugo `program`")
	flag.IntVar(&b.history, "history", 50, "also build the notebooks with a bench cell, without history and with this many `runs` of it each (0: not)")
	baseline := flag.String("baseline", "", "also build the history corpora with this benchbook `program` (e.g. one built from an older commit), in turn with the one built from this tree, and show both")
	flag.BoolVar(&b.rm, "rm", false, "delete the previous output right before each cold build, as `rm -rf public && build` does, instead of building into a new folder")
	flag.Parse()
	if b.history > 0 {
		b.histories = []*historyBuilds{{name: "this tree"}}
		if *baseline != "" {
			b.histories = append(b.histories, &historyBuilds{name: "baseline", bin: *baseline})
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	b.work = *keep
	if b.work == "" {
		tmp, err := os.MkdirTemp("", "sitebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		b.work = tmp
	}
	defer b.removeOutputs()
	if err := b.prepare(ctx); err != nil {
		return err
	}
	if err := b.measure(ctx); err != nil {
		return err
	}
	return b.report(os.Stdout)
}

// prepare generates the corpus, builds benchbook and finds Hugo.
func (b *bench) prepare(ctx context.Context) error {
	b.nbDir = filepath.Join(b.work, "notebooks")
	b.hugoDir = filepath.Join(b.work, "hugo")
	if err := generate(b.nbDir, b.hugoDir, b.n); err != nil {
		return err
	}
	if b.history > 0 {
		b.plainDir, b.histDir = filepath.Join(b.work, "bench-plain"), filepath.Join(b.work, "bench-history")
		fmt.Fprintf(os.Stderr, "sitebench: generating %d runs of history for each notebook\n", b.history)
		if err := generateHistory(b.nbDir, b.plainDir, b.histDir, b.n, b.history); err != nil {
			return err
		}
	}
	b.bin = filepath.Join(b.work, "benchbook")
	fmt.Fprintf(os.Stderr, "sitebench: building benchbook\n")
	if _, err := command(ctx, "", "go", "build", "-trimpath", "-o", b.bin, "./cmd/benchbook"); err != nil {
		return err
	}
	if len(b.histories) > 0 {
		b.histories[0].bin = b.bin
	}
	v, err := exec.CommandContext(ctx, b.hugoBin, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w (install it: apt-get install -y hugo)", b.hugoBin, err)
	}
	b.hugoVersion = v
	return nil
}

// Every cold build writes into a folder never used before, and nothing is
// deleted until all runs are done. On this machine's ext4 (no journal) a
// file created within 30 s of deletions makes the kernel step over every
// recently deleted inode first: building right after removing the previous
// output took up to twice as long, for either tool, and by how much
// depended on what ran before. The filesystem is synced before each timed
// build so one tool's writeback does not land in the other's time.
func (b *bench) outDir(tool string, i int) string {
	if b.rm {
		i = 0
	}
	return filepath.Join(b.work, fmt.Sprintf("%s-public-%d", tool, i))
}

func (b *bench) clean(tool string, i int) error {
	if !b.rm {
		return nil
	}
	return os.RemoveAll(b.outDir(tool, i))
}

func (b *bench) removeOutputs() {
	for i := -1; i < b.runs; i++ {
		os.RemoveAll(b.outDir("hugo", i))
		os.RemoveAll(b.outDir("benchbook", i))
		for n := range b.histories {
			plain, hist := historyTools(n)
			os.RemoveAll(b.outDir(plain, i))
			os.RemoveAll(b.outDir(hist, i))
		}
	}
}

func (b *bench) hugo(ctx context.Context, i int) (time.Duration, error) {
	return command(ctx, "", b.hugoBin, "--quiet", "--source", b.hugoDir, "--destination", b.outDir("hugo", i), "--cacheDir", filepath.Join(b.work, "hugo-cache", fmt.Sprint(i)))
}

func (b *bench) build(ctx context.Context, i int) func() (time.Duration, error) {
	return func() (time.Duration, error) {
		return command(ctx, "", b.bin, "build", b.nbDir, "-o", b.outDir("benchbook", i))
	}
}

// measure times every build of every run, after one untimed build of each
// tool, so both find the corpus and their own program in the page cache.
func (b *bench) measure(ctx context.Context) error {
	fmt.Fprintf(os.Stderr, "sitebench: warm-up\n")
	if _, err := b.hugo(ctx, -1); err != nil {
		return err
	}
	if _, err := b.build(ctx, -1)(); err != nil {
		return err
	}
	for i := range b.runs {
		fmt.Fprintf(os.Stderr, "sitebench: run %d of %d\n", i+1, b.runs)
		if err := b.measureRun(ctx, i); err != nil {
			return err
		}
		for _, h := range b.histories {
			if err := b.measureHistory(ctx, h, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *bench) measureRun(ctx context.Context, i int) error {
	// Hugo, cold: a new (or just emptied) output folder, no resource cache.
	if err := b.clean("hugo", i); err != nil {
		return err
	}
	d, err := timed(func() (time.Duration, error) { return b.hugo(ctx, i) })
	if err != nil {
		return err
	}
	b.hugoCold = append(b.hugoCold, d)

	// benchbook, cold: a new (or just emptied) output folder, no manifest.
	if err := b.clean("benchbook", i); err != nil {
		return err
	}
	if d, err = timed(b.build(ctx, i)); err != nil {
		return err
	}
	b.cold = append(b.cold, d)

	if d, err = timed(b.build(ctx, i)); err != nil {
		return err
	}
	b.noChange = append(b.noChange, d)

	// One edit: a sentence added to one notebook's prose.
	victim := filepath.Join(b.nbDir, fmt.Sprintf("note-%04d.toml", (i*37)%b.n))
	if err := appendProse(victim, fmt.Sprintf("An edit made by run %d.", i)); err != nil {
		return err
	}
	if d, err = timed(b.build(ctx, i)); err != nil {
		return err
	}
	b.oneEdit = append(b.oneEdit, d)
	return nil
}

// report prints the medians side by side with Hugo's cold build, in wall
// time and in CPU time.
func (b *bench) report(out io.Writer) error {
	h := b.hugoCold
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(out, "site build of %d prose notebooks (~1,000 words, a table and a code block each), median of %d runs, %d cores\n", b.n, b.runs, runtime.NumCPU())
	fmt.Fprintf(out, "hugo: %s", b.hugoVersion)
	if b.rm {
		fmt.Fprintln(out, "each cold build right after deleting the previous output (-rm)")
	}
	fmt.Fprintln(w, "measurement\twall\tvs hugo cold\tCPU\tvs hugo cold\tgoal\tmet (wall, CPU)\t")
	row := func(name string, s samples, goal string, ok func(wall, cpu float64) bool) {
		rw, rc := s.wall().Seconds()/h.wall().Seconds(), s.cpu().Seconds()/h.cpu().Seconds()
		met := ""
		if ok != nil {
			met = yes(ok(rw, rc))
		}
		fmt.Fprintf(w, "%s\t%.3fs\t%.3f×\t%.3fs\t%.3f×\t%s\t%s\t\n", name, s.wall().Seconds(), rw, s.cpu().Seconds(), rc, goal, met)
	}
	within := func(limit float64) func(float64, float64) bool {
		return func(rw, rc float64) bool { return rw <= limit && rc <= limit }
	}
	row("hugo cold build", h, "", nil)
	row("benchbook cold build", b.cold, "≤ 0.70×", within(0.7))
	row("benchbook no-change rebuild", b.noChange, "≤ 0.05×", within(0.05))
	edit := b.oneEdit.wall() <= 150*time.Millisecond
	row("benchbook one-edit rebuild", b.oneEdit, "≤ 0.15s wall", func(float64, float64) bool { return edit })
	for _, hb := range b.histories {
		b.historyRows(row, hb)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(b.histories) > 0 {
		fmt.Fprintf(out, "history pages: %d\n", b.histPages)
		for _, hb := range b.histories {
			fmt.Fprintln(out, b.historySummary(hb))
		}
	}
	return nil
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// timed runs f, which returns the CPU time of the program it ran.
func timed(f func() (time.Duration, error)) (sample, error) {
	syscall.Sync()
	start := time.Now()
	cpu, err := f()
	return sample{wall: time.Since(start), cpu: cpu}, err
}

func median(s samples, of func(sample) time.Duration) time.Duration {
	ds := make([]time.Duration, len(s))
	for i, x := range s {
		ds[i] = of(x)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// command runs a program to completion and returns its CPU time (user and
// system); its output is shown only when it fails. Its process group is
// killed when ctx ends.
func command(ctx context.Context, dir, name string, args ...string) (time.Duration, error) {
	cmd := testutil.GroupCommand(ctx, 5*time.Second, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
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

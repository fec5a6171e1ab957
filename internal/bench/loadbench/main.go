// Command loadbench compares the load generators on one local redis-server:
// the same connections, pipeline, value size and request count for each,
// repeated, with FLUSHALL between runs. It reports each tool's throughput
// and the CPU its generator process spent per million requests, which is
// what tells whether the builtin generator is as cheap as memtier.
//
// builtin runs as a child process (this program re-executed with -child) so
// that its CPU time is measured from rusage the same way as the others'.
//
// memtier_benchmark is not packaged in Debian: it runs when MEMTIER_BENCHMARK
// names a build of it, and is skipped with a note otherwise. Each pipeline
// depth runs every tool -repeat times, alternating their order, and the
// table gives medians, ratios to memtier and redis-benchmark and whether
// builtin meets issue 16's goals for its own cost.
//
//	MEMTIER_BENCHMARK=/path/to/memtier_benchmark go run ./internal/bench/loadbench [-requests 100000] [-clients 50] [-repeat 5] [-pipelines 1,16]
//
// On a machine busy with other work the tails move with whatever else runs.
// Run as root under a real-time policy, every tool and the redis it loads
// (its children) preempt that work alike, which steadies the comparison:
//
//	go build -o /tmp/loadbench ./internal/bench/loadbench && chrt -f 10 /tmp/loadbench -requests 2000000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/bench/benchmain"
	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/redistest"
	"github.com/benchbook/benchbook/runner/load"
	"github.com/benchbook/benchbook/runner/placement"
)

func main() { benchmain.Main("loadbench", run) }

type options struct {
	requests, threads, clients, dataSize, repeat int
	tools, pipelines                             string
	child, addr, spec                            string
	cpuProfile                                   string
	place                                        bool
	placed                                       string // what -place did, for the report
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := benchmain.Flags("loadbench", stderr)
	fs.IntVar(&o.requests, "requests", 100000, "total requests per run")
	fs.IntVar(&o.threads, "threads", 1, "threads")
	fs.IntVar(&o.clients, "clients", 50, "connections per thread")
	fs.StringVar(&o.pipelines, "pipelines", "1,16", "pipeline depths, each measured for every tool")
	fs.IntVar(&o.dataSize, "data-size", 32, "value size in bytes")
	fs.IntVar(&o.repeat, "repeat", 5, "runs per tool and pipeline depth, alternating")
	fs.StringVar(&o.tools, "tools", strings.Join([]string{load.ToolBuiltin, load.ToolRedisBenchmark, load.ToolMemtier}, ","), "redis tools to compare")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write builtin's CPU profile of its last run at each pipeline depth to `FILE`.pN")
	fs.BoolVar(&o.place, "place", true, "run redis on the first allowed CPU and the generators on the second, as benchbook's placement = \"auto\" does (with at least two CPUs)")
	// Hidden: the child side of a builtin run.
	fs.StringVar(&o.child, "child", "", "internal: run this tool in-process and print its measurement as JSON")
	fs.StringVar(&o.addr, "addr", "", "internal: redis address for -child")
	fs.StringVar(&o.spec, "spec", "", "internal: load spec as JSON for -child")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.child != "" {
		return runChild(ctx, o, stdout)
	}
	cpuProfile = o.cpuProfile
	return compare(ctx, o, stdout, stderr)
}

// runChild runs one load in this process and prints its Measurement as JSON.
func runChild(ctx context.Context, o options, stdout io.Writer) error {
	var s load.Spec
	if err := json.Unmarshal([]byte(o.spec), &s); err != nil {
		return fmt.Errorf("child: -spec: %w", err)
	}
	l, err := load.New(o.child)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("child: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("child: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	m, err := l.Run(ctx, load.Target{Addr: o.addr}, s)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(m)
}

// row is one tool at one pipeline depth: the figures of its runs.
type row struct {
	tool, version string
	pipeline      int
	opsPerSec     []float64
	cpuPerMreq    []float64 // CPU seconds per million requests
	p50, p99      []float64 // µs
	note          string
}

// figures are a row's medians.
type figures struct{ ops, cpu, p50, p99 float64 }

func (r row) medians() figures {
	return figures{median(r.opsPerSec), median(r.cpuPerMreq), median(r.p50), median(r.p99)}
}

func (r *row) add(m load.Measurement) {
	mreq := float64(m.Totals.Ops) / 1e6
	r.opsPerSec = append(r.opsPerSec, m.Totals.OpsPerSec)
	r.cpuPerMreq = append(r.cpuPerMreq, m.CPU.Seconds()/mreq)
	r.p50 = append(r.p50, m.Totals.LatencyP50)
	r.p99 = append(r.p99, m.Totals.LatencyP99)
}

// memtierEnv names memtier_benchmark's path: it is not packaged in Debian,
// so the bench runs it only where someone built it and said where.
const memtierEnv = "MEMTIER_BENCHMARK"

func compare(ctx context.Context, o options, stdout, stderr io.Writer) error {
	conns := o.threads * o.clients
	pipelines, err := parseInts(o.pipelines)
	if err != nil {
		return fmt.Errorf("-pipelines: %w", err)
	}
	if conns <= 0 || o.requests < conns || o.repeat < 1 {
		return fmt.Errorf("want requests >= threads*clients > 0 and repeat >= 1")
	}
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	restore, memtierNote := useMemtier(dir)
	defer restore()
	srv, err := redistest.Launch(dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if o.place {
		if o.placed, err = place(srv.Pid()); err != nil {
			return err
		}
	}

	spec := load.Spec{
		Threads: o.threads, Clients: o.clients, Requests: o.requests / conns,
		DataSize: o.dataSize, Ratio: load.DefaultRatio, Timeout: 5 * time.Minute,
	}
	tools := strings.Split(o.tools, ",")
	var all [][]row
	for _, p := range pipelines {
		spec.Pipeline = p
		rows, err := measure(ctx, srv.Addr, spec, tools, o.repeat, memtierNote, stderr)
		if err != nil {
			return err
		}
		all = append(all, rows)
	}
	report(stdout, o, spec, all)
	return nil
}

// useMemtier puts $MEMTIER_BENCHMARK on PATH as memtier_benchmark (the name
// the load package looks up), under dir. Unset, it returns why memtier is
// skipped.
func useMemtier(dir string) (restore func(), note string) {
	path := os.Getenv(memtierEnv)
	if path == "" {
		return func() {}, "skipped: set " + memtierEnv + " to memtier_benchmark's path"
	}
	if _, err := os.Stat(path); err != nil {
		return func() {}, fmt.Sprintf("skipped: %s: %v", memtierEnv, err)
	}
	bin := filepath.Join(dir, "bin")
	abs, _ := filepath.Abs(path)
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return func() {}, "skipped: " + err.Error()
	}
	if err := os.Symlink(abs, filepath.Join(bin, "memtier_benchmark")); err != nil {
		return func() {}, "skipped: " + err.Error()
	}
	old := os.Getenv("PATH")
	os.Setenv("PATH", bin+string(os.PathListSeparator)+old)
	return func() { os.Setenv("PATH", old) }, ""
}

// measure runs every tool repeat times at spec's pipeline, alternating the
// order each round (ABC CBA ABC...) so that a drift of a shared machine
// falls on every tool alike.
func measure(ctx context.Context, addr string, spec load.Spec, tools []string, repeat int, memtierNote string, log io.Writer) ([]row, error) {
	rows := make([]row, len(tools))
	var live []int
	for i, tool := range tools {
		rows[i] = row{tool: tool, pipeline: spec.Pipeline}
		if tool == load.ToolMemtier && memtierNote != "" {
			rows[i].note = memtierNote
			continue
		}
		version, err := load.Available(tool)
		if err != nil {
			rows[i].note = err.Error()
			continue
		}
		rows[i].version = version
		live = append(live, i)
	}
	for round := range repeat {
		order := slices.Clone(live)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			r := &rows[i]
			if _, err := redistest.Do(ctx, addr, "FLUSHALL"); err != nil {
				return nil, fmt.Errorf("FLUSHALL: %w", err)
			}
			s := spec
			s.Tool = r.tool
			m, err := runOnce(ctx, r.tool, addr, s)
			if err != nil {
				return nil, fmt.Errorf("%s pipeline %d run %d: %w", r.tool, spec.Pipeline, round+1, err)
			}
			r.add(m)
			fmt.Fprintf(log, "pipeline %d round %d %s: %.0f ops/s, %.2f CPU s/Mreq, p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f µs\n",
				spec.Pipeline, round+1, r.tool, m.Totals.OpsPerSec, r.cpuPerMreq[len(r.cpuPerMreq)-1],
				m.Totals.LatencyP50, m.Totals.LatencyP90, m.Totals.LatencyP99, m.Totals.LatencyP999)
		}
	}
	return rows, nil
}

// place puts redis (pid) on the first allowed CPU and this process, so
// every generator it starts, on the second: the split benchbook's
// placement = "auto" makes between a system under test and its load.
// Unplaced, the generator's threads and redis meet on either CPU, and a
// generator with more threads (the Go runtime's) is the one that pays.
func place(pid int) (string, error) {
	allowed, err := placement.Allowed()
	if err != nil || len(allowed) < 2 {
		return "not placed (fewer than two CPUs allowed)", nil
	}
	sut, gen := allowed[:1], allowed[1:2]
	if err := placement.PinTasks(pid, sut); err != nil {
		return "", fmt.Errorf("place redis: %w", err)
	}
	if _, err := placement.PinProcess(gen); err != nil {
		return "", fmt.Errorf("place the generators: %w", err)
	}
	return fmt.Sprintf("redis on CPU %s, the generators on CPU %s", sut, gen), nil
}

func report(w io.Writer, o options, spec load.Spec, all [][]row) {
	fmt.Fprintf(w, "%d requests per run (SET:GET %s), %d thread(s) x %d clients, %d-byte values, one redis-server on loopback;\n",
		spec.Threads*spec.Clients*spec.Requests, spec.Ratio, o.threads, o.clients, o.dataSize)
	if o.placed == "" {
		o.placed = "not placed (-place=false)"
	}
	fmt.Fprintf(w, "placement: %s;\n", o.placed)
	fmt.Fprintf(w, "median of %d runs per tool, alternating (ABC CBA...); CPU is the generator process's user+system time (rusage);\n"+
		"spread is (max - min) / median of the runs; ÷mt and ÷rb are ratios to memtier's and redis-benchmark's medians\n\n", o.repeat)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tversion\tpipeline\tops/s\tspread\tCPU s/Mreq\tspread\tp50 µs\tp99 µs\tops ÷mt\tCPU ÷mt\tp99 ÷mt\tops ÷rb\tCPU ÷rb\tp99 ÷rb\t")
	for _, rows := range all {
		mt, rb := find(rows, load.ToolMemtier), find(rows, load.ToolRedisBenchmark)
		for _, r := range rows {
			if r.note != "" {
				fmt.Fprintf(tw, "%s\t-\t%d\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t(%s)\n", r.tool, r.pipeline, r.note)
				continue
			}
			f := r.medians()
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%.2f\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.tool, r.version, r.pipeline,
				f.ops, spread(r.opsPerSec), f.cpu, spread(r.cpuPerMreq), f.p50, f.p99, ratio(f.ops, mt, figures.opsOf), ratio(f.cpu, mt, figures.cpuOf), ratio(f.p99, mt, figures.p99Of),
				ratio(f.ops, rb, figures.opsOf), ratio(f.cpu, rb, figures.cpuOf), ratio(f.p99, rb, figures.p99Of))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, rows := range all {
		goals(w, rows)
	}
	fmt.Fprintf(w, "\nThe load generator and redis-server share this machine's %d cores, so the figures are the generators' relative costs, not redis' capacity.\n", runtime.NumCPU())
}

func (f figures) opsOf() float64 { return f.ops }
func (f figures) cpuOf() float64 { return f.cpu }
func (f figures) p99Of() float64 { return f.p99 }

// find returns the medians of tool's row, nil when it did not run.
func find(rows []row, tool string) *figures {
	for _, r := range rows {
		if r.tool == tool && r.note == "" && len(r.opsPerSec) > 0 {
			f := r.medians()
			return &f
		}
	}
	return nil
}

func ratio(v float64, base *figures, of func(figures) float64) string {
	if base == nil || of(*base) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v/of(*base))
}

// goals says whether builtin meets issue 16's goals for its generator's
// cost at one pipeline depth: ops/s at least memtier's and redis-
// benchmark's, CPU per request at most 0.8x memtier's, p99 within 10 % of
// memtier's.
func goals(w io.Writer, rows []row) {
	b, mt, rb := find(rows, load.ToolBuiltin), find(rows, load.ToolMemtier), find(rows, load.ToolRedisBenchmark)
	if b == nil {
		return
	}
	p := rows[0].pipeline
	check := func(what string, base *figures, got, limit float64, atLeast bool) {
		if base == nil {
			fmt.Fprintf(w, "pipeline %d: %s: not measured\n", p, what)
			return
		}
		verdict := "met"
		if (atLeast && got < limit) || (!atLeast && got > limit) {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "pipeline %d: %s: %.2f, %s\n", p, what, got, verdict)
	}
	if mt != nil {
		check("builtin ops/s >= 1.0x memtier's", mt, b.ops/mt.ops, 1, true)
		check("builtin CPU/req <= 0.8x memtier's", mt, b.cpu/mt.cpu, 0.8, false)
		check("builtin p99 <= 1.1x memtier's", mt, b.p99/mt.p99, 1.1, false)
	} else {
		check("builtin vs memtier", nil, 0, 0, true)
	}
	if rb != nil {
		check("builtin ops/s >= 1.0x redis-benchmark's", rb, b.ops/rb.ops, 1, true)
	}
}

// spread is how far a row's runs scatter, (max - min) / median: on a
// shared machine the ratios of medians mean little past it.
func spread(v []float64) string {
	m := median(v)
	if m == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f %%", 100*(slices.Max(v)-slices.Min(v))/m)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// cpuProfile is -cpuprofile, for runOnce to hand to builtin's child.
var cpuProfile string

// runOnce runs one load in a child process and returns its Measurement with
// the child's CPU time. External tools are children of the load package
// already; builtin is made one by re-executing this program.
func runOnce(ctx context.Context, tool, addr string, s load.Spec) (load.Measurement, error) {
	if tool != load.ToolBuiltin {
		l, err := load.New(tool)
		if err != nil {
			return load.Measurement{}, err
		}
		return l.Run(ctx, load.Target{Addr: addr}, s)
	}
	self, err := os.Executable()
	if err != nil {
		return load.Measurement{}, err
	}
	spec, err := json.Marshal(s)
	if err != nil {
		return load.Measurement{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout+30*time.Second)
	defer cancel()
	args := []string{"-child", tool, "-addr", addr, "-spec", string(spec)}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", fmt.Sprintf("%s.p%d", cpuProfile, s.Pipeline))
	}
	cmd := testutil.GroupCommand(ctx, 2*time.Second, self, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return load.Measurement{}, fmt.Errorf("child: %w: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	var m load.Measurement
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return m, fmt.Errorf("child output: %w", err)
	}
	if m.Totals.Ops == 0 {
		return m, errors.New("child measured nothing")
	}
	st := cmd.ProcessState
	m.CPU = st.UserTime() + st.SystemTime()
	return m, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

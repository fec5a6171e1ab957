// Command loadbench compares the load generators on one local redis-server:
// the same connections, pipeline, value size and request count for each,
// repeated, with FLUSHALL between runs. It reports each tool's throughput
// and the CPU its generator process spent per million requests, which is
// what tells whether the builtin generator is as cheap as memtier.
//
// builtin runs as a child process (this program re-executed with -child) so
// that its CPU time is measured from rusage the same way as the others'.
//
//	go run ./internal/bench/loadbench [-requests 100000] [-clients 50] [-repeat 3]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/redistest"
	"github.com/benchbook/benchbook/runner/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

type options struct {
	requests, threads, clients, pipeline, dataSize, repeat int
	tools                                                  string
	child, addr, spec                                      string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.requests, "requests", 100000, "total requests per run")
	fs.IntVar(&o.threads, "threads", 1, "threads")
	fs.IntVar(&o.clients, "clients", 50, "connections per thread")
	fs.IntVar(&o.pipeline, "pipeline", 1, "pipeline depth")
	fs.IntVar(&o.dataSize, "data-size", 32, "value size in bytes")
	fs.IntVar(&o.repeat, "repeat", 3, "runs per tool")
	fs.StringVar(&o.tools, "tools", strings.Join([]string{load.ToolBuiltin, load.ToolRedisBenchmark, load.ToolMemtier}, ","), "redis tools to compare")
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
	m, err := l.Run(ctx, load.Target{Addr: o.addr}, s)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(m)
}

type row struct {
	tool, version string
	opsPerSec     []float64
	cpuPerMreq    []float64 // CPU seconds per million requests
	p50, p99      []float64 // µs
	note          string
}

func compare(ctx context.Context, o options, stdout, stderr io.Writer) error {
	conns := o.threads * o.clients
	if conns <= 0 || o.requests < conns || o.repeat < 1 {
		return fmt.Errorf("want requests >= threads*clients > 0 and repeat >= 1")
	}
	spec := load.Spec{
		Threads: o.threads, Clients: o.clients, Requests: o.requests / conns,
		Pipeline: o.pipeline, DataSize: o.dataSize, Ratio: load.DefaultRatio,
		Timeout: 5 * time.Minute,
	}
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := redistest.Launch(dir)
	if err != nil {
		return err
	}
	defer srv.Stop()

	var rows []row
	for _, tool := range strings.Split(o.tools, ",") {
		r := row{tool: tool}
		version, err := load.Available(tool)
		if err != nil {
			r.note = err.Error()
			rows = append(rows, r)
			continue
		}
		r.version = version
		s := spec
		s.Tool = tool
		for i := range o.repeat {
			if _, err := redistest.Do(ctx, srv.Addr, "FLUSHALL"); err != nil {
				return fmt.Errorf("FLUSHALL: %w", err)
			}
			m, err := runOnce(ctx, tool, srv.Addr, s)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", tool, i+1, err)
			}
			mreq := float64(m.Totals.Ops) / 1e6
			r.opsPerSec = append(r.opsPerSec, m.Totals.OpsPerSec)
			r.cpuPerMreq = append(r.cpuPerMreq, m.CPU.Seconds()/mreq)
			r.p50 = append(r.p50, m.Totals.LatencyP50)
			r.p99 = append(r.p99, m.Totals.LatencyP99)
			fmt.Fprintf(stderr, "%s run %d: %.0f ops/s, %.2f CPU s/Mreq\n", tool, i+1, m.Totals.OpsPerSec, m.CPU.Seconds()/mreq)
		}
		rows = append(rows, r)
	}

	fmt.Fprintf(stdout, "%d requests per run (SET:GET %s), %d thread(s) x %d clients, pipeline %d, %d-byte values, median of %d runs\n\n",
		spec.Threads*spec.Clients*spec.Requests, spec.Ratio, o.threads, o.clients, o.pipeline, o.dataSize, o.repeat)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\tversion\tops/s\tCPU s / Mreq\tp50 µs\tp99 µs\t")
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t(%s)\n", r.tool, r.note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.0f\t%.0f\t\n", r.tool, r.version,
			median(r.opsPerSec), median(r.cpuPerMreq), median(r.p50), median(r.p99))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nThe load generator and redis-server share this machine's %d cores, so the figures are the generators' relative costs, not redis' capacity.\n", runtime.NumCPU())
	return nil
}

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
	cmd := exec.CommandContext(ctx, self, "-child", tool, "-addr", addr, "-spec", string(spec))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
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

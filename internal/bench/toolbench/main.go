// Command toolbench checks that benchbook's figures agree with the tools
// run by hand, with the same parameters, side by side: a fio job through
// load.Run and fio itself (its JSON read directly), wrk's requests/s
// against one nginx and iperf3's received bits/s against one iperf3 server
// (both on loopback; wrk's Requests/sec line and iperf3's JSON read
// directly), and the command tool's wall_ms against hyperfine's mean for
// the same command. The two sides
// alternate, n times, in an ABBA order (so that a drift of the machine
// falls on both); each line gives the median of the n figures of each side
// and their ratio. The last lines give benchbook's own overhead per run of
// a command: its wall_ms above hyperfine's mean for `true` (what starting
// and reaping a process costs benchbook beyond hyperfine), and what load.Run
// spends per run beyond the command's wall time.
//
//	go run ./internal/bench/toolbench [-n 7] [-fio-runtime 2s] [-wrk-duration 2s] [-iperf3-duration 2s] [-runs 10] [-true-runs 300]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/bench/benchmain"
	"github.com/benchbook/benchbook/internal/testutil/servertest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/runner/load"
)

func main() { benchmain.Main("toolbench", run) }

type options struct {
	n, runs, warmup int
	trueRuns        int
	fioRuntime      time.Duration
	fileSize        int
	wrkDuration     time.Duration
	wrkConnections  int
	iperf3Duration  time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := benchmain.Flags("toolbench", stderr)
	fs.IntVar(&o.n, "n", 7, "alternating measurements per side; figures are their medians")
	fs.DurationVar(&o.fioRuntime, "fio-runtime", 2*time.Second, "runtime of each fio job")
	fs.DurationVar(&o.wrkDuration, "wrk-duration", 2*time.Second, "duration of each wrk run, in whole seconds")
	fs.IntVar(&o.wrkConnections, "wrk-connections", 10, "connections of each wrk run (one thread)")
	fs.DurationVar(&o.iperf3Duration, "iperf3-duration", 2*time.Second, "duration of each iperf3 test, in whole seconds")
	fs.IntVar(&o.runs, "runs", 10, "runs of a command per measurement (benchbook's runs, hyperfine's --runs)")
	fs.IntVar(&o.trueRuns, "true-runs", 300, "runs of true per measurement: a mean of 0.7 ms runs needs hundreds to hold within a few percent (hyperfine's own mean of 30 scattered from 0.69 to 1.07 ms here)")
	fs.IntVar(&o.warmup, "warmup", 2, "untimed runs of a command before them")
	fs.IntVar(&o.fileSize, "file-mb", 32, "size of the file the timed command hashes, in MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, prog := range []string{"fio", "hyperfine", "sha256sum", "wrk", "iperf3"} {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Errorf("%s not on PATH (make setup): %w", prog, err)
		}
	}
	work, err := os.MkdirTemp("", "toolbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := bench{o: o, work: work, log: stderr}
	rows, err := b.all(ctx)
	if err != nil {
		return err
	}
	report(stdout, o, rows)
	return nil
}

// row is one comparison: the n figures of each side.
type row struct {
	what, unit      string
	benchbook, hand []float64
	handName        string
	// runOverhead, for a command: what load.Run took per run beyond the
	// command's wall time, in ms.
	runOverhead []float64
	// tool, metric and format, for a tool's row: the log's name of the
	// tool, the metric of its Measurement, and how its figures are logged.
	tool, metric, format string
}

type bench struct {
	o    options
	work string
	log  io.Writer
}

func (b bench) all(ctx context.Context) ([]row, error) {
	fio, err := b.fio(ctx)
	if err != nil {
		return nil, fmt.Errorf("fio: %w", err)
	}
	wrk, err := b.wrk(ctx)
	if err != nil {
		return nil, fmt.Errorf("wrk: %w", err)
	}
	iperf3, err := b.iperf3(ctx)
	if err != nil {
		return nil, fmt.Errorf("iperf3: %w", err)
	}
	file := filepath.Join(b.work, "data")
	if err := writeRandom(file, b.o.fileSize<<20); err != nil {
		return nil, err
	}
	hash, err := b.command(ctx, fmt.Sprintf("sha256sum of %d MiB", b.o.fileSize), []string{"sha256sum", file}, b.o.runs)
	if err != nil {
		return nil, fmt.Errorf("sha256sum: %w", err)
	}
	noop, err := b.command(ctx, "true", []string{"true"}, b.o.trueRuns)
	if err != nil {
		return nil, fmt.Errorf("true: %w", err)
	}
	// The command rows last, sha256sum then true: report reads them there.
	return []row{fio, wrk, iperf3, hash, noop}, nil
}

// alternate calls a and b n times each, a first on odd rounds and b first
// on even ones (ABBA...).
func alternate(n int, a, b func(i int) error) error {
	for i := range n {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if err := first(i); err != nil {
			return err
		}
		if err := second(i); err != nil {
			return err
		}
	}
	return nil
}

// viaBenchbook is benchbook's side of round i of a tool's row: values
// run by load.Run against t, its metric kept and logged.
func (b bench) viaBenchbook(ctx context.Context, r *row, i int, t load.Target, values notebook.Values) error {
	m, err := load.Run(ctx, t, values)
	if err != nil {
		return err
	}
	v := m.Metrics[r.metric]
	r.benchbook = append(r.benchbook, v)
	fmt.Fprintf(b.log, "%s %d: benchbook "+r.format+" %s\n", r.tool, i+1, v, r.unit)
	return nil
}

// byHand keeps and logs v, the figure of round i of a tool's row run by
// hand, and passes on the error of that run.
func (b bench) byHand(r *row, i int, v float64, err error) error {
	r.hand = append(r.hand, v)
	fmt.Fprintf(b.log, "%s %d: by hand "+r.format+" %s\n", r.tool, i+1, v, r.unit)
	return err
}

// fio runs a 4k random read job on a fresh folder each time, through
// load.Run and as a user would type it.
func (b bench) fio(ctx context.Context) (row, error) {
	r := row{what: "fio randread 4k, psync, read_iops", unit: "IO/s", handName: "fio --output-format=json", tool: "fio", metric: "read_iops", format: "%.0f"}
	runtime := fmt.Sprintf("%dms", b.o.fioRuntime.Milliseconds())
	values := notebook.Values{"tool": load.ToolFio, "rw": "randread", "bs": "4k", "size": "64M", "ioengine": "psync", "runtime": runtime, "time_based": true}
	err := alternate(b.o.n, func(i int) error {
		dir, err := os.MkdirTemp(b.work, "bb-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		return b.viaBenchbook(ctx, &r, i, load.Target{Dir: dir}, values)
	}, func(i int) error {
		dir, err := os.MkdirTemp(b.work, "hand-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		iops, err := fioByHand(ctx, dir, runtime)
		return b.byHand(&r, i, iops, err)
	})
	return r, err
}

// fioByHand runs the same job with fio's plain JSON output and reads its
// IOPS, as someone checking benchbook would.
func fioByHand(ctx context.Context, dir, runtime string) (float64, error) {
	cmd := exec.CommandContext(ctx, "fio", "--output-format=json", "--name=byhand", "--rw=randread", "--bs=4k", "--size=64M",
		"--ioengine=psync", "--runtime="+runtime, "--time_based", "--directory="+dir)
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("fio by hand: %w", err)
	}
	var doc struct {
		Jobs []struct {
			Read struct {
				IOPS float64 `json:"iops"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if i := strings.IndexByte(string(out), '{'); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Jobs) != 1 {
		return 0, fmt.Errorf("fio by hand: reading its JSON: %v", err)
	}
	return doc.Jobs[0].Read.IOPS, nil
}

// wrk runs the same wrk load against one nginx serving a 1 KiB file,
// through load.Run and as a user would type it.
func (b bench) wrk(ctx context.Context) (row, error) {
	srv, err := servertest.LaunchNginx(filepath.Join(b.work, "nginx"))
	if err != nil {
		return row{}, err
	}
	defer srv.Stop()
	secs := strconv.Itoa(int(b.o.wrkDuration / time.Second))
	conns := strconv.Itoa(b.o.wrkConnections)
	r := row{what: fmt.Sprintf("wrk GET 1 KiB, %s connections, requests_per_sec", conns), unit: "req/s", handName: "wrk, its Requests/sec", tool: "wrk", metric: "requests_per_sec", format: "%.0f"}
	values := notebook.Values{"tool": load.ToolWrk, "threads": int64(1), "connections": int64(b.o.wrkConnections), "duration": secs + "s", "path": "/1k.bin"}
	err = alternate(b.o.n, func(i int) error {
		return b.viaBenchbook(ctx, &r, i, load.Target{Addr: srv.Addr}, values)
	}, func(i int) error {
		rps, err := wrkByHand(ctx, "http://"+srv.Addr+"/1k.bin", secs, conns)
		return b.byHand(&r, i, rps, err)
	})
	return r, err
}

var wrkRate = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)

// wrkByHand runs wrk without a script and reads its Requests/sec line.
func wrkByHand(ctx context.Context, url, secs, conns string) (float64, error) {
	out, err := exec.CommandContext(ctx, "wrk", "-t1", "-c"+conns, "-d"+secs+"s", url).Output()
	if err != nil {
		return 0, fmt.Errorf("wrk by hand: %w", err)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk by hand: no Requests/sec in %q", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// iperf3 runs the same TCP test against one iperf3 server, through
// load.Run and as a user would type it.
func (b bench) iperf3(ctx context.Context) (row, error) {
	srv, err := servertest.LaunchIperf3()
	if err != nil {
		return row{}, err
	}
	defer srv.Stop()
	secs := strconv.Itoa(int(b.o.iperf3Duration / time.Second))
	r := row{what: "iperf3 TCP, 1 stream, received_bits_per_sec", unit: "bits/s", handName: "iperf3 --json, sum_received", tool: "iperf3", metric: "received_bits_per_sec", format: "%.3g"}
	values := notebook.Values{"tool": load.ToolIperf3, "duration": secs + "s"}
	err = alternate(b.o.n, func(i int) error {
		return b.viaBenchbook(ctx, &r, i, load.Target{Addr: srv.Addr}, values)
	}, func(i int) error {
		bps, err := iperf3ByHand(ctx, srv.Addr, secs)
		return b.byHand(&r, i, bps, err)
	})
	return r, err
}

// iperf3ByHand runs the client with its plain options and reads the
// received rate of its JSON.
func iperf3ByHand(ctx context.Context, addr, secs string) (float64, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	out, err := exec.CommandContext(ctx, "iperf3", "-c", host, "-p", port, "-t", secs, "-J").Output()
	if err != nil {
		return 0, fmt.Errorf("iperf3 by hand: %w", err)
	}
	var doc struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || doc.Error != "" {
		return 0, fmt.Errorf("iperf3 by hand: %v %s", err, doc.Error)
	}
	return doc.End.SumReceived.BitsPerSecond, nil
}

// command times argv with benchbook's command tool and with hyperfine
// (no shell, -N), the same runs and warmups.
func (b bench) command(ctx context.Context, what string, argv []string, runs int) (row, error) {
	r := row{what: what + ", wall_ms", unit: "ms", handName: "hyperfine -N, mean"}
	args := make([]any, len(argv))
	for i, a := range argv {
		args[i] = a
	}
	values := notebook.Values{"tool": load.ToolCommand, "command": args, "runs": int64(runs), "warmup": int64(b.o.warmup)}
	err := alternate(b.o.n, func(i int) error {
		m, err := load.Run(ctx, load.Target{Dir: b.work}, values)
		if err != nil {
			return err
		}
		wall := m.Metrics["wall_ms"]
		r.benchbook = append(r.benchbook, wall)
		fmt.Fprintf(b.log, "%s %d: benchbook %.3f ms\n", what, i+1, wall)
		// What load.Run does per run that is not the command: the same
		// runs without warmups, so that all its time is accounted for.
		noWarmup := maps.Clone(values)
		noWarmup["warmup"] = int64(0)
		start := time.Now()
		if m, err = load.Run(ctx, load.Target{Dir: b.work}, noWarmup); err != nil {
			return err
		}
		r.runOverhead = append(r.runOverhead, (ms(time.Since(start))-ms(m.Duration))/float64(runs))
		return nil
	}, func(i int) error {
		mean, err := hyperfine(ctx, b.work, strings.Join(argv, " "), runs, b.o.warmup)
		r.hand = append(r.hand, mean)
		fmt.Fprintf(b.log, "%s %d: hyperfine %.3f ms\n", what, i+1, mean)
		return err
	})
	return r, err
}

// hyperfine returns hyperfine's mean for command, in ms.
func hyperfine(ctx context.Context, work, command string, runs, warmup int) (float64, error) {
	out := filepath.Join(work, "hyperfine.json")
	cmd := exec.CommandContext(ctx, "hyperfine", "-N", "--style", "none", "--runs", fmt.Sprint(runs), "--warmup", fmt.Sprint(warmup), "--export-json", out, "--", command)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("hyperfine: %w: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Results []struct {
			Mean float64 `json:"mean"` // seconds
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Results) != 1 {
		return 0, errors.Join(errors.New("hyperfine: reading its JSON"), err)
	}
	return doc.Results[0].Mean * 1000, nil
}

func writeRandom(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	src, err := os.Open("/dev/urandom")
	if err != nil {
		f.Close()
		return err
	}
	defer src.Close()
	if _, err := io.CopyN(f, src, int64(size)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func report(w io.Writer, o options, rows []row) {
	fmt.Fprintf(w, "benchbook against the tools run by hand, the same parameters, alternating; medians of %d measurements per side\n", o.n)
	fmt.Fprintf(w, "(fio: one %s job each; wrk: %s, 1 thread, %d connections, against one nginx; iperf3: one %s TCP test each, on loopback;\n", o.fioRuntime, o.wrkDuration, o.wrkConnections, o.iperf3Duration)
	fmt.Fprintf(w, "commands: %d runs (true: %d) after %d warmups each, the mean of the runs)\n\n", o.runs, o.trueRuns, o.warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tbenchbook\tby hand\tratio\tby hand is")
	for _, r := range rows {
		bb, hand := median(r.benchbook), median(r.hand)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\n", r.what, withUnit(bb, r.unit), withUnit(hand, r.unit), bb/hand, r.handName)
	}
	tw.Flush()
	noop := rows[len(rows)-1]
	fmt.Fprintf(w, "\nbenchbook's overhead per run: %+.3f ms of wall_ms over hyperfine's mean for `true`;\n", median(noop.benchbook)-median(noop.hand))
	fmt.Fprintf(w, "load.Run's own time per run beyond the command's wall time: %.2f ms (true), %.2f ms (sha256sum)\n",
		median(noop.runOverhead), median(rows[len(rows)-2].runOverhead))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// withUnit writes v in unit, with an SI prefix past a million (bits/s).
func withUnit(v float64, unit string) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f G%s", v/1e9, unit)
	case v >= 1e6:
		return fmt.Sprintf("%.2f M%s", v/1e6, unit)
	}
	return format(v) + " " + unit
}

func format(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

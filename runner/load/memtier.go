package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// memtier runs memtier_benchmark and reads its --json-out-file.
//
// memtier's JSON has traps (see shared/testdata/loadgen/README.md), handled
// here:
//
//   - Totals' "Average Latency" is always 0: averages come from the
//     histogram memtier embeds (the figure its own table prints), else from
//     Accumulated Latency / Count.
//   - Percentile keys are cut to six characters ("p99.99" twice for 99.99
//     and 99.999, "p100.0"): the spectrum is read from the embedded
//     histogram instead, keys serve only when it is missing.
//   - A closed port exits 0 with a table of zeros, and JSON "Connection
//     Errors" stays 0: a run with no completed request, or with connection
//     errors on stderr, is an error.
//   - --run-count > 1 has no "ALL STATS" and its aggregate is bogus: it is
//     refused (benchbook repeats runs itself) and never passed.
type memtier struct{}

var _ Load = memtier{}

const memtierProg = "memtier_benchmark"

// memtierPercentiles is what memtier is asked to print; the JSON keys of
// these six survive its truncation.
const memtierPercentiles = "50,90,99,99.9,99.99,100"

var memtierVersionRE = regexp.MustCompile(`v=(\S+)(?:\s+sha=([0-9a-f]+))?`)

func memtierVersion(ctx context.Context) (string, error) {
	return toolVersion(ctx, memtierProg, parseMemtierVersion)
}

// parseMemtierVersion reads "memtier_benchmark v=2.1.0 sha=...". A build from
// git master says v=255.255.255, so the commit is added to tell builds apart.
func parseMemtierVersion(line string) string {
	m := memtierVersionRE.FindStringSubmatch(line)
	switch {
	case m == nil:
		return line
	case m[1] == "255.255.255" && m[2] != "" && strings.Trim(m[2], "0") != "":
		return m[1] + " (sha " + m[2] + ")"
	}
	return m[1]
}

func memtierArgv(path string, t Target, s Spec, jsonFile string) ([]string, error) {
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Addr, err)
	}
	argv := []string{path,
		"-s", host, "-p", port, "--protocol=redis",
		"-t", strconv.Itoa(s.Threads),
		"-c", strconv.Itoa(s.Clients),
	}
	if s.TestTime > 0 {
		argv = append(argv, "--test-time="+strconv.Itoa(int(s.TestTime/time.Second)))
	} else {
		argv = append(argv, "-n", strconv.Itoa(s.Requests))
	}
	argv = append(argv,
		"--ratio="+s.Ratio.String(),
		"-d", strconv.Itoa(s.DataSize),
		"--pipeline="+strconv.Itoa(s.Pipeline),
		"--key-pattern="+s.KeyPattern,
	)
	// memtier refuses --key-minimum=0, which is its default anyway.
	if s.KeyMinimum > 0 {
		argv = append(argv, "--key-minimum="+strconv.Itoa(s.KeyMinimum))
	}
	argv = append(argv,
		"--key-maximum="+strconv.Itoa(s.KeyMaximum),
		"--hide-histogram",
		"--print-percentiles="+memtierPercentiles,
	)
	if jsonFile != "" {
		argv = append(argv, "--json-out-file="+jsonFile)
	}
	return argv, nil
}

func (memtier) Run(ctx context.Context, t Target, s Spec) (Measurement, error) {
	m := Measurement{Tool: ToolMemtier}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("memtier: %w", err) }
	s, err := s.forTool(ToolMemtier)
	if err != nil {
		return fail(err)
	}
	if s.TestTime%time.Second != 0 {
		return fail(fmt.Errorf("test_time %s: memtier counts whole seconds", s.TestTime))
	}
	path, err := exec.LookPath(memtierProg)
	if err != nil {
		return fail(fmt.Errorf("%s not on PATH (see benchbook doctor): %w", memtierProg, err))
	}
	if m.ToolVersion, err = memtierVersion(ctx); err != nil {
		return fail(err)
	}
	dir, err := os.MkdirTemp("", "benchbook-memtier-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	jsonFile := filepath.Join(dir, "memtier.json")
	if m.Command, err = memtierArgv(path, t, s, jsonFile); err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithTimeoutCause(ctx, s.Timeout, errTimeout)
	defer cancel()
	if err := checkReachable(ctx, t); err != nil {
		return fail(err)
	}
	if s.Warmup > 0 {
		if err := memtierWarmup(ctx, path, t, s, dir); err != nil {
			return fail(err)
		}
	}
	res, err := runMemtier(ctx, t.wrap(m.Command), dir, s.Progress)
	m.CPU = res.cpu()
	var lost *memtierConnError
	switch {
	case errors.As(err, &lost):
		m.Errors = 1
		return fail(fmt.Errorf("against %s: %w", t.Addr, lost))
	case err != nil:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || ctx.Err() != nil {
			return fail(describeProcErr(ctx, err, s.Timeout, res.stderr))
		}
	}
	data, readErr := os.ReadFile(jsonFile)
	if readErr != nil {
		data = nil
	}
	got, err := parseMemtierRun(res.exitCode, res.stderr, data)
	got.Tool, got.ToolVersion, got.Command, got.CPU = m.Tool, m.ToolVersion, m.Command, m.CPU
	if err != nil {
		return got, fmt.Errorf("memtier: against %s: %w", t.Addr, err)
	}
	return got, nil
}

// memtierWarmup runs the same load, by time, and throws its results away.
func memtierWarmup(ctx context.Context, path string, t Target, s Spec, dir string) error {
	w := s
	w.Requests = 0
	w.TestTime = max(time.Second, s.Warmup.Round(time.Second))
	argv, err := memtierArgv(path, t, w, "")
	if err != nil {
		return err
	}
	res, err := runMemtier(ctx, t.wrap(argv), dir, nil)
	var lost *memtierConnError
	switch {
	case errors.As(err, &lost):
		return fmt.Errorf("warmup against %s: %w", t.Addr, lost)
	case err != nil:
		return fmt.Errorf("warmup: %w", describeProcErr(ctx, err, s.Timeout, res.stderr))
	}
	return nil
}

// memtierConnError stops a memtier run at its first connection error. memtier
// would go on restarting its threads for five seconds, then exit 0 with the
// figures of the lost connections dropped; a run that lost a connection is
// void anyway, as for builtin.
type memtierConnError struct{ line string }

func (e *memtierConnError) Error() string {
	return fmt.Sprintf("memtier_benchmark reported %q; the run was stopped", e.line)
}

// runMemtier is runProc, stopped at memtier's first connection error.
func runMemtier(ctx context.Context, argv []string, dir string, progress func(Progress)) (procResult, error) {
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	show := memtierProgress(progress)
	return runProc(ctx, argv, dir, func(line string) {
		if strings.HasPrefix(line, "Connection error:") {
			abort(&memtierConnError{line})
		}
		if show != nil {
			show(line)
		}
	})
}

// memtierProgressRE matches memtier's live line, e.g.
// "[RUN #1 45%,   2 secs]  2 threads 20 conns: 12345 ops, 5678 (avg: 5900) ops/sec, ..."
var memtierProgressRE = regexp.MustCompile(`\[RUN #\d+ +\d+%, +(\d+) secs\].*?(\d+) ops, +(\d+) \(avg`)

func memtierProgress(fn func(Progress)) func(string) {
	if fn == nil {
		return nil
	}
	return func(line string) {
		m := memtierProgressRE.FindStringSubmatch(line)
		if m == nil {
			return
		}
		secs, _ := strconv.Atoi(m[1])
		ops, _ := strconv.ParseInt(m[2], 10, 64)
		rate, _ := strconv.ParseFloat(m[3], 64)
		fn(Progress{Elapsed: time.Duration(secs) * time.Second, Ops: ops, OpsPerSec: rate})
	}
}

// countConnErrors counts memtier's "Connection error: ..." stderr lines,
// which its JSON does not count.
func countConnErrors(stderr []byte) int64 {
	return int64(bytes.Count(stderr, []byte("Connection error:")))
}

// parseMemtierRun interprets a finished memtier run from its exit code,
// stderr and JSON file (nil when it wrote none).
func parseMemtierRun(exitCode int, stderr, jsonData []byte) (Measurement, error) {
	if exitCode != 0 {
		return Measurement{}, fmt.Errorf("exit status %d%s", exitCode, stderrHint(stderr))
	}
	if jsonData == nil {
		return Measurement{}, fmt.Errorf("no JSON output file%s", stderrHint(stderr))
	}
	m, err := parseMemtierJSON(jsonData)
	if err != nil {
		return m, err
	}
	connErrs := countConnErrors(stderr)
	m.Errors += connErrs
	switch {
	case m.Totals.Ops == 0:
		return m, fmt.Errorf("no request completed (%d connection errors)%s", connErrs, stderrHint(stderr))
	case connErrs > 0:
		return m, fmt.Errorf("%d connection errors during the run%s", connErrs, stderrHint(stderr))
	}
	return m, nil
}

type mtFile struct {
	Configuration struct {
		RunCount int `json:"run_count"`
	} `json:"configuration"`
	AllStats *mtSection `json:"ALL STATS"`
}

type mtSection struct {
	Runtime struct {
		TotalDuration float64 `json:"Total duration"`
		TimeUnit      string  `json:"Time unit"`
		Interrupted   string  `json:"Interrupted"`
	} `json:"Runtime"`
	Sets   mtStats `json:"Sets"`
	Gets   mtStats `json:"Gets"`
	Totals mtStats `json:"Totals"`
}

type mtStats struct {
	Count       int64                      `json:"Count"`
	OpsPerSec   float64                    `json:"Ops/sec"`
	HitsPerSec  float64                    `json:"Hits/sec"`
	MissPerSec  float64                    `json:"Misses/sec"`
	ConnErrors  int64                      `json:"Connection Errors"`
	AvgLatency  float64                    `json:"Average Latency"`
	AccLatency  float64                    `json:"Accumulated Latency"`
	MaxLatency  float64                    `json:"Max Latency"`
	KBPerSec    float64                    `json:"KB/sec"`
	Percentiles map[string]json.RawMessage `json:"Percentile Latencies"`
	TimeSerie   map[string]mtSecond        `json:"Time-Serie"`
}

// mtSecond is one second of memtier's "Time-Serie": its latencies are
// milliseconds, as elsewhere in the file.
type mtSecond struct {
	Count int64    `json:"Count"`
	P99   *float64 `json:"p99.00"`
}

// timeline is s's "Time-Serie" as a Timeline: the requests answered in
// each second and their p99. memtier's seconds count from the run's start
// and its last one holds the run's tail (20 requests after 5 full
// seconds in a recorded run), so the last is left out, as the builtin
// load leaves out its last partial interval; nil when no full second is
// left or the seconds are not 0, 1, 2...
func (s mtStats) timeline() *Timeline {
	n := len(s.TimeSerie) - 1
	if n < 1 {
		return nil
	}
	t := &Timeline{Interval: time.Second, OpsPerSec: make([]float64, n), LatencyP99: make([]float64, n)}
	for i := range n {
		sec, ok := s.TimeSerie[strconv.Itoa(i)]
		if !ok {
			return nil
		}
		t.OpsPerSec[i] = float64(sec.Count)
		if sec.P99 == nil {
			t.LatencyP99 = nil
		} else if t.LatencyP99 != nil {
			t.LatencyP99[i] = math.Round(*sec.P99 * 1000) // memtier prints whole µs
		}
	}
	return t
}

// parseMemtierJSON reads memtier's --json-out-file (format version 2).
func parseMemtierJSON(data []byte) (Measurement, error) {
	var m Measurement
	var f mtFile
	if err := json.Unmarshal(data, &f); err != nil {
		return m, fmt.Errorf("reading its JSON output: %w", err)
	}
	if f.Configuration.RunCount > 1 {
		return m, fmt.Errorf("run_count %d is not supported: its aggregate figures are unreliable; benchbook repeats runs itself (cell repeat)", f.Configuration.RunCount)
	}
	sec := f.AllStats
	if sec == nil {
		return m, errors.New(`its JSON output has no "ALL STATS" section`)
	}
	if sec.Runtime.Interrupted == "true" {
		return m, errors.New("the run was interrupted")
	}
	unit := time.Millisecond
	switch sec.Runtime.TimeUnit {
	case "MILLISECONDS", "":
	case "MICROSECONDS":
		unit = time.Microsecond
	case "SECONDS":
		unit = time.Second
	default:
		return m, fmt.Errorf("unknown time unit %q in its JSON output", sec.Runtime.TimeUnit)
	}
	m.Duration = time.Duration(sec.Runtime.TotalDuration * float64(unit))
	var err error
	if m.Sets, err = sec.Sets.stats(m.Duration, 0); err != nil {
		return m, fmt.Errorf("sets: %w", err)
	}
	if m.Gets, err = sec.Gets.stats(m.Duration, 0); err != nil {
		return m, fmt.Errorf("gets: %w", err)
	}
	// Totals' own average is always 0.
	fallbackAvg := 0.0
	if t := sec.Totals; t.Count > 0 {
		fallbackAvg = t.AccLatency / float64(t.Count) * 1000
	}
	if m.Totals, err = sec.Totals.stats(m.Duration, fallbackAvg); err != nil {
		return m, fmt.Errorf("totals: %w", err)
	}
	m.Errors = sec.Totals.ConnErrors
	m.Timeline = sec.Totals.timeline()
	return m, nil
}

// stats converts one memtier block; latencies there are milliseconds.
// avgUs replaces its Average Latency when not 0 and no histogram decodes.
func (s mtStats) stats(d time.Duration, avgUs float64) (Stats, error) {
	st := Stats{
		Ops:        s.Count,
		OpsPerSec:  s.OpsPerSec,
		KBPerSec:   s.KBPerSec,
		Hits:       int64(math.Round(s.HitsPerSec * d.Seconds())),
		Misses:     int64(math.Round(s.MissPerSec * d.Seconds())),
		LatencyAvg: s.AvgLatency * 1000,
		LatencyMax: s.MaxLatency * 1000,
	}
	if avgUs != 0 {
		st.LatencyAvg = avgUs
	}
	if s.Count == 0 {
		// An empty histogram reads 0.007 ms at every percentile: no figures.
		return Stats{Ops: 0}, nil
	}
	keys, h, err := s.percentiles()
	if err != nil {
		return st, err
	}
	if h != nil && h.TotalCount() == s.Count {
		// The histogram is in microseconds; it is what memtier's own table
		// reads its average and percentiles from.
		st.LatencyAvg = h.Mean()
		for _, p := range spectrum {
			st.Percentiles = append(st.Percentiles, Percentile{P: p, LatencyUs: float64(h.ValueAtQuantile(p))})
		}
	} else {
		st.Percentiles = keys
	}
	at := func(p float64) float64 {
		for _, k := range keys {
			if k.P == p {
				return k.LatencyUs
			}
		}
		if h != nil && h.TotalCount() > 0 {
			return float64(h.ValueAtQuantile(p))
		}
		return 0
	}
	st.LatencyP50, st.LatencyP90, st.LatencyP99, st.LatencyP999 = at(50), at(90), at(99), at(99.9)
	return st, nil
}

// percentiles reads the "pNN.NN" keys (µs, ascending, duplicates from
// memtier's key truncation dropped) and the embedded histogram, if any.
func (s mtStats) percentiles() ([]Percentile, *hdr.Histogram, error) {
	var keys []Percentile
	var h *hdr.Histogram
	for k, raw := range s.Percentiles {
		if k == "Histogram log format" {
			var hl struct {
				Compressed string `json:"Compressed Histogram"`
			}
			if err := json.Unmarshal(raw, &hl); err != nil || hl.Compressed == "" {
				continue
			}
			decoded, err := hdr.Decode([]byte(hl.Compressed))
			if err != nil {
				return nil, nil, fmt.Errorf("decoding its latency histogram: %w", err)
			}
			h = decoded
			continue
		}
		p, err := strconv.ParseFloat(strings.TrimPrefix(k, "p"), 64)
		if err != nil || !strings.HasPrefix(k, "p") {
			continue
		}
		var ms float64
		if err := json.Unmarshal(raw, &ms); err != nil {
			return nil, nil, fmt.Errorf("percentile %s: %w", k, err)
		}
		keys = append(keys, Percentile{P: p, LatencyUs: ms * 1000})
	}
	slices.SortFunc(keys, func(a, b Percentile) int {
		if a.P != b.P {
			return cmpFloat(a.P, b.P)
		}
		return cmpFloat(a.LatencyUs, b.LatencyUs)
	})
	keys = slices.CompactFunc(keys, func(a, b Percentile) bool { return a.P == b.P })
	return keys, h, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

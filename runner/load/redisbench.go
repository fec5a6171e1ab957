package load

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisBenchmark runs redis-benchmark (Debian redis-tools) with --csv.
//
// The mapping is approximate where redis-benchmark cannot do what the Spec
// says, and refuses where approximating would mislead:
//
//   - redis-benchmark runs SET and GET as separate tests, never a mix. The
//     Spec's total (threads*clients*requests) is split by the ratio and each
//     share runs as its own process (one `-t set,get` process when the ratio
//     is 1:1). Totals add the two: ops and time are summed; average latency
//     is the ops-weighted mean; p50/p95/p99 are ops-weighted means of the two
//     tests' values (an approximation: the tool prints no histogram); max is
//     the larger max.
//   - Connections: -c threads*clients; --threads when Threads > 1.
//   - Keys: random only (key_pattern must be R:R), named key:<12 digits> in
//     [0, key_maximum-key_minimum] (-r), not memtier-<n>.
//   - test_time is refused: the tool only counts requests.
//   - Warmup runs the same load for that long and kills it.
//   - Not reported, so left zero: p90, p99.9, hits/misses, KB/s, errors.
//     Percentiles holds 0 (min), 50, 95, 99 and 100 (max).
type redisBenchmark struct{}

var _ Load = redisBenchmark{}

const redisBenchmarkProg = "redis-benchmark"

func redisBenchmarkVersion(ctx context.Context) (string, error) {
	return toolVersion(ctx, redisBenchmarkProg, secondField("")) // "redis-benchmark 7.0.15"
}

// rbRun is one redis-benchmark process of a plan.
type rbRun struct {
	tests    string // -t
	requests int    // -n
}

// redisBenchmarkPlan splits the Spec's requests between SET and GET tests.
func redisBenchmarkPlan(s Spec) []rbRun {
	total := s.Threads * s.Clients * s.Requests
	sets := int(math.Round(float64(total) * float64(s.Ratio.Set) / float64(s.Ratio.Set+s.Ratio.Get)))
	gets := total - sets
	switch {
	case sets == gets:
		return []rbRun{{"set,get", sets}}
	case sets == 0:
		return []rbRun{{"get", gets}}
	case gets == 0:
		return []rbRun{{"set", sets}}
	}
	return []rbRun{{"set", sets}, {"get", gets}}
}

func redisBenchmarkArgv(path string, t Target, s Spec, run rbRun) ([]string, error) {
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t.Addr, err)
	}
	argv := []string{path,
		"-h", host, "-p", port,
		"-c", strconv.Itoa(s.Threads * s.Clients),
		"-n", strconv.Itoa(run.requests),
		"-d", strconv.Itoa(s.DataSize),
		"-P", strconv.Itoa(s.Pipeline),
		"-r", strconv.Itoa(s.KeyMaximum - s.KeyMinimum + 1),
		"-t", run.tests,
		"-q", "--csv",
	}
	if s.Threads > 1 {
		argv = append(argv, "--threads", strconv.Itoa(s.Threads))
	}
	return argv, nil
}

func (redisBenchmark) Run(ctx context.Context, t Target, s Spec) (Measurement, error) {
	m := Measurement{Tool: ToolRedisBenchmark}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("redis-benchmark: %w", err) }
	s, err := s.forTool(ToolRedisBenchmark)
	if err != nil {
		return fail(err)
	}
	if s.TestTime > 0 {
		return fail(fmt.Errorf("test_time %s: redis-benchmark only counts requests; set requests instead", s.TestTime))
	}
	if s.KeyPattern != "R:R" {
		return fail(fmt.Errorf("key_pattern %q: redis-benchmark only picks keys at random (R:R)", s.KeyPattern))
	}
	path, err := t.lookPath(redisBenchmarkProg)
	if err != nil {
		return fail(fmt.Errorf("not on PATH (apt-get install redis-tools; see benchbook doctor): %w", err))
	}
	if m.ToolVersion, err = redisBenchmarkVersion(ctx); err != nil {
		return fail(err)
	}
	plan := redisBenchmarkPlan(s)
	for _, run := range plan {
		argv, err := redisBenchmarkArgv(path, t, s, run)
		if err != nil {
			return fail(err)
		}
		m.Commands = append(m.Commands, argv)
	}
	m.Command = m.Commands[0]
	if len(m.Commands) == 1 {
		m.Commands = nil
	}

	ctx, cancel := context.WithTimeoutCause(ctx, s.Timeout, errTimeout)
	defer cancel()
	if t.Guest == nil {
		// Inside the guest its redis was ready when the guest was.
		if err := checkReachable(ctx, t); err != nil {
			return fail(err)
		}
	}
	if s.Warmup > 0 {
		if err := redisBenchmarkWarmup(ctx, path, t, s); err != nil {
			return fail(err)
		}
	}
	var rows []rbRow
	var done int64
	start := time.Now()
	for _, run := range plan {
		argv, _ := redisBenchmarkArgv(path, t, s, run)
		res, err := runTool(ctx, t, argv, "", toolFiles{})
		m.CPU += res.cpu()
		if err != nil {
			return fail(describeProcErr(ctx, err, s.Timeout, res.stderr))
		}
		got, err := parseRedisBenchmarkCSV(bytes.NewReader(res.stdout))
		if err != nil {
			return fail(fmt.Errorf("%w%s", err, stderrHint(res.stderr)))
		}
		for j := range got {
			got[j].requests = run.requests
		}
		rows = append(rows, got...)
		done += int64(run.requests)
		if s.Progress != nil {
			// The CSV mode prints nothing live: one report per process.
			s.Progress(Progress{Ops: done, OpsPerSec: got[len(got)-1].rps, Elapsed: time.Since(start)})
		}
	}
	if err := redisBenchmarkCombine(&m, rows); err != nil {
		return fail(err)
	}
	return m, nil
}

// redisBenchmarkWarmup runs the load with an unreachable request count and
// kills it after s.Warmup: the tool has no time bound of its own.
func redisBenchmarkWarmup(ctx context.Context, path string, t Target, s Spec) error {
	argv, err := redisBenchmarkArgv(path, t, s, rbRun{"set,get", math.MaxInt32})
	if err != nil {
		return err
	}
	errWarmupOver := errors.New("warmup over")
	wctx, cancel := context.WithTimeoutCause(ctx, s.Warmup, errWarmupOver)
	defer cancel()
	res, err := runTool(wctx, t, argv, "", toolFiles{})
	if errors.Is(err, errWarmupOver) {
		return nil
	}
	if err == nil {
		err = errors.New("exited before the warmup was over")
	}
	return fmt.Errorf("warmup: %w", describeProcErr(ctx, err, s.Timeout, res.stderr))
}

// describeProcErr turns runProc's error into a message saying what happened.
func describeProcErr(ctx context.Context, err error, timeout time.Duration, stderr []byte) error {
	hint := stderrHint(stderr)
	switch {
	case errors.Is(err, errTimeout):
		return fmt.Errorf("killed after its timeout of %s%s", timeout, hint)
	case ctx.Err() != nil:
		return fmt.Errorf("cancelled: %w", err)
	}
	return fmt.Errorf("%w%s", err, hint)
}

// rbRow is one line of redis-benchmark's CSV; latencies in milliseconds.
type rbRow struct {
	test                          string
	rps                           float64
	avg, min, p50, p95, p99, peak float64
	requests                      int // from the plan, not the CSV
}

// rbColumns are the CSV header names (redis-benchmark 6.2 and later). Older
// versions print only "test","rps" rows without a header.
var rbColumns = []string{"test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "max_latency_ms"}

// parseRedisBenchmarkCSV reads the rows of `redis-benchmark --csv`.
func parseRedisBenchmarkCSV(r io.Reader) ([]rbRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	records, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading CSV output: %w", err)
	}
	col := map[string]int{"test": 0, "rps": 1}
	var rows []rbRow
	for i, rec := range records {
		if i == 0 && len(rec) > 0 && rec[0] == "test" {
			col = map[string]int{}
			for j, name := range rec {
				col[name] = j
			}
			for _, name := range rbColumns[:2] {
				if _, ok := col[name]; !ok {
					return nil, fmt.Errorf("CSV header %q lacks column %q", strings.Join(rec, ","), name)
				}
			}
			continue
		}
		row := rbRow{test: rec[0]}
		fields := []*float64{&row.rps, &row.avg, &row.min, &row.p50, &row.p95, &row.p99, &row.peak}
		for k, name := range rbColumns[1:] {
			j, ok := col[name]
			if !ok {
				continue
			}
			if j >= len(rec) {
				return nil, fmt.Errorf("CSV line %d: no column %q in %q", i+1, name, strings.Join(rec, ","))
			}
			v, err := strconv.ParseFloat(rec[j], 64)
			if err == nil && math.IsInf(v, 1) && name == "rps" {
				// redis-benchmark times in milliseconds: a test that ends
				// within one has an infinite rate.
				return nil, fmt.Errorf("CSV line %d: %s ran too briefly for redis-benchmark to time it (rps %q); give the load more requests", i+1, rec[0], rec[j])
			}
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("CSV line %d: column %q: not a number: %q", i+1, name, rec[j])
			}
			*fields[k] = v
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("no results in its CSV output")
	}
	return rows, nil
}

// redisBenchmarkCombine fills m from the SET and GET rows.
func redisBenchmarkCombine(m *Measurement, rows []rbRow) error {
	var totalOps int64
	var totalSec, avg, p50, p95, p99, peak, low float64
	low = math.Inf(1)
	for _, row := range rows {
		if row.rps <= 0 {
			return fmt.Errorf("test %s: %g requests per second", row.test, row.rps)
		}
		ops := int64(row.requests)
		sec := float64(row.requests) / row.rps
		st := Stats{
			Ops: ops, OpsPerSec: row.rps,
			LatencyAvg: row.avg * 1000, LatencyP50: row.p50 * 1000,
			LatencyP99: row.p99 * 1000, LatencyMax: row.peak * 1000,
		}
		if row.peak > 0 {
			st.Percentiles = []Percentile{
				{0, row.min * 1000}, {50, row.p50 * 1000}, {95, row.p95 * 1000},
				{99, row.p99 * 1000}, {100, row.peak * 1000},
			}
		}
		switch row.test {
		case "SET":
			m.Sets = st
		case "GET":
			m.Gets = st
		default:
			return fmt.Errorf("unexpected test %q in its output", row.test)
		}
		totalOps += ops
		totalSec += sec
		w := float64(ops)
		avg += w * row.avg
		p50 += w * row.p50
		p95 += w * row.p95
		p99 += w * row.p99
		peak = max(peak, row.peak)
		low = min(low, row.min)
	}
	w := float64(totalOps)
	m.Duration = time.Duration(totalSec * float64(time.Second))
	m.Totals = Stats{
		Ops: totalOps, OpsPerSec: w / totalSec,
		LatencyAvg: avg / w * 1000, LatencyP50: p50 / w * 1000,
		LatencyP99: p99 / w * 1000, LatencyMax: peak * 1000,
	}
	if peak > 0 {
		m.Totals.Percentiles = []Percentile{
			{0, low * 1000}, {50, p50 / w * 1000}, {95, p95 / w * 1000},
			{99, p99 / w * 1000}, {100, peak * 1000},
		}
	}
	return nil
}

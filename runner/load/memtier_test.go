package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

// memtierSample is one recorded memtier run from shared/testdata.
type memtierSample struct {
	exitCode int
	stdout   []byte
	stderr   []byte
	json     []byte // nil when the run wrote none
}

func readMemtierSample(t *testing.T, dir, name string) memtierSample {
	t.Helper()
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name+ext))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return b
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(read(".exitcode"))))
	if err != nil {
		t.Fatalf("%s.exitcode: %v", name, err)
	}
	return memtierSample{exitCode: code, stdout: read(".stdout"), stderr: read(".stderr"), json: read(".json")}
}

// tableTotals reads the "Totals" row of memtier's stdout table, by column.
func tableTotals(t *testing.T, stdout []byte) map[string]float64 {
	t.Helper()
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Type ") {
			header = regexp.MustCompile(`\S+ Latency|\S+`).FindAllString(line, -1)
		}
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "Totals" && len(f) == len(header) {
			row := map[string]float64{}
			for i, s := range f[1:] {
				row[header[i+1]], _ = strconv.ParseFloat(s, 64)
			}
			return row
		}
	}
	t.Fatal("no Totals row in stdout")
	return nil
}

func TestParseMemtierRecorded(t *testing.T) {
	dir := sharedTestdata(t, "loadgen/memtier")
	tests := []struct {
		name    string
		wantErr string // substring; "" means success
		hits    bool   // GETs hit (small key space)
		pcts    []float64
	}{
		{name: "a_requests_ratio1-10"},
		{name: "b1_testtime5"},
		{name: "b2_testtime5_pipeline16", hits: true}, // 5 s of SETs
		{name: "c_percentiles"},
		{name: "c2_percentiles_many"},
		{name: "e_keymax1000_ratio1-1_seed", hits: true},
		{name: "f_with_histogram"},
		{name: "d_runcount3", wantErr: "run_count 3 is not supported"},
		{name: "d2_runcount3_print_all_runs", wantErr: "run_count 3 is not supported"},
		{name: "g_error_closed_port", wantErr: "no request completed (12 connection errors)"},
		{name: "g2_error_bad_option", wantErr: "exit status 2; stderr: error: ratio must be expressed as [0-n]:[0-n]."},
		{name: "g3_error_unknown_host", wantErr: "exit status 1; stderr: no-such-host.invalid:6399: error: Name or service not known"},
	}
	// Every recorded sample is in the table.
	cmds, _ := filepath.Glob(filepath.Join(dir, "*.exitcode"))
	if len(cmds) != len(tests) {
		t.Errorf("%d recorded samples, %d in the table", len(cmds), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sample := readMemtierSample(t, dir, tt.name)
			m, err := parseMemtierRun(sample.exitCode, sample.stderr, sample.json)
			if testutil.ExpectErr(t, err, tt.wantErr) {
				return
			}
			tot := m.Totals
			if m.Sets.Ops+m.Gets.Ops != tot.Ops || tot.Ops == 0 || m.Duration <= 0 {
				t.Errorf("sets %d + gets %d vs totals %d, duration %s", m.Sets.Ops, m.Gets.Ops, tot.Ops, m.Duration)
			}
			// The figures match memtier's own table.
			row := tableTotals(t, sample.stdout)
			near := func(what string, got, want, tol float64) {
				if math.Abs(got-want) > tol {
					t.Errorf("%s = %g, memtier's table says %g", what, got, want)
				}
			}
			sec := m.Duration.Seconds()
			near("ops/sec", tot.OpsPerSec, row["Ops/sec"], 0.01)
			near("avg latency", tot.LatencyAvg, row["Avg. Latency"]*1000, 0.5)
			near("p50", tot.LatencyP50, row["p50 Latency"]*1000, 0.5)
			near("p99", tot.LatencyP99, row["p99 Latency"]*1000, 0.5)
			near("p99.9", tot.LatencyP999, row["p99.9 Latency"]*1000, 0.5)
			near("KB/sec", tot.KBPerSec, row["KB/sec"], 0.01)
			near("hits", float64(tot.Hits), row["Hits/sec"]*sec, 1)
			near("misses", float64(tot.Misses), row["Misses/sec"]*sec, 1)
			if tt.hits != (tot.Hits > 0) {
				t.Errorf("hits %d", tot.Hits)
			}
			for _, st := range []Stats{m.Sets, m.Gets, tot} {
				if st.LatencyAvg <= 0 || st.LatencyP50 > st.LatencyP99 || st.LatencyP99 > st.LatencyMax {
					t.Errorf("latencies out of order: %+v", st)
				}
				if len(st.Percentiles) != len(spectrum) || st.Percentiles[len(spectrum)-1].P != 100 {
					t.Errorf("spectrum %v", st.Percentiles)
				}
			}
		})
	}
}

// The percentile keys memtier cuts to six characters ("p99.99" twice,
// "p100.0") still read as distinct, sorted percentiles.
func TestMemtierTruncatedPercentileKeys(t *testing.T) {
	dir := sharedTestdata(t, "loadgen/memtier")
	sample := readMemtierSample(t, dir, "c2_percentiles_many")
	var f mtFile
	if err := json.Unmarshal(sample.json, &f); err != nil {
		t.Fatal(err)
	}
	keys, h, err := f.AllStats.Gets.percentiles()
	if err != nil || h == nil {
		t.Fatalf("keys %v, histogram %v, error %v", keys, h, err)
	}
	var ps []float64
	for _, k := range keys {
		ps = append(ps, k.P)
	}
	if want := []float64{50, 90, 95, 99, 99.9, 99.99, 100}; !slices.Equal(ps, want) {
		t.Errorf("percentiles %v, want %v", ps, want)
	}
	if last := keys[len(keys)-1]; last.LatencyUs != 3951 {
		t.Errorf("p100 = %g us, want 3951", last.LatencyUs)
	}
}

func TestParseMemtierVersion(t *testing.T) {
	tests := map[string]string{
		"memtier_benchmark v=2.1.0 sha=8b4a7a3e:0 bits=64 libevent=2.1.12-stable": "2.1.0",
		"memtier_benchmark v=255.255.255 sha=2f74d611:0 bits=64":                  "255.255.255 (sha 2f74d611)",
		"memtier_benchmark v=255.255.255 sha=00000000:0 bits=64":                  "255.255.255",
		"something else": "something else",
	}
	dir := sharedTestdata(t, "loadgen/memtier")
	if b, err := os.ReadFile(filepath.Join(dir, "version.stdout")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		tests[line] = "255.255.255 (sha 2f74d611)"
	}
	for in, want := range tests {
		if got := parseMemtierVersion(in); got != want {
			t.Errorf("parseMemtierVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMemtierProgress(t *testing.T) {
	var got []Progress
	fn := memtierProgress(func(p Progress) { got = append(got, p) })
	fn("[RUN #1 45%,   2 secs]  2 threads 20 conns:       12345 ops,    5678 (avg:    5900) ops/sec, 1.00KB/sec")
	fn("Connection error: Connection refused")
	if len(got) != 1 || got[0].Ops != 12345 || got[0].OpsPerSec != 5678 || got[0].Elapsed.Seconds() != 2 {
		t.Errorf("progress %+v", got)
	}
}

func TestMemtierArgv(t *testing.T) {
	s := Spec{Tool: ToolMemtier, Threads: 2, Clients: 10, Requests: 2000, KeyMinimum: 0}.WithDefaults()
	argv, err := memtierArgv("memtier_benchmark", Target{Addr: "127.0.0.1:6399"}, s, "out.json")
	checkArgv(t, argv, err, "memtier_benchmark -s 127.0.0.1 -p 6399 --protocol=redis -t 2 -c 10 -n 2000 --ratio=1:10 -d 32 --pipeline=1 --key-pattern=R:R --key-maximum=10000000 --hide-histogram --print-percentiles=50,90,99,99.9,99.99,100 --json-out-file=out.json")
}

// memtier's per-second figures become the run's timeline, its last,
// partial second left out; a run shorter than two seconds has none.
func TestMemtierTimeline(t *testing.T) {
	dir := sharedTestdata(t, "loadgen/memtier")
	for _, tt := range []struct {
		name    string
		seconds int
	}{
		{"b1_testtime5", 5},
		{"b2_testtime5_pipeline16", 5},
		{"a_requests_ratio1-10", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sample := readMemtierSample(t, dir, tt.name)
			m, err := parseMemtierRun(sample.exitCode, sample.stderr, sample.json)
			if err != nil {
				t.Fatal(err)
			}
			if tt.seconds == 0 {
				if m.Timeline != nil {
					t.Errorf("timeline %+v, want none", m.Timeline)
				}
				return
			}
			// The same seconds read generically from the file.
			var raw struct {
				All struct {
					Totals struct {
						Series map[string]map[string]float64 `json:"Time-Serie"`
					}
				} `json:"ALL STATS"`
			}
			if err := json.Unmarshal(sample.json, &raw); err != nil {
				t.Fatal(err)
			}
			tl := m.Timeline
			if tl == nil || tl.Interval != time.Second || len(tl.OpsPerSec) != tt.seconds || len(tl.LatencyP99) != tt.seconds {
				t.Fatalf("timeline %+v, want %d seconds of ops and p99", tl, tt.seconds)
			}
			for i := range tt.seconds {
				sec := raw.All.Totals.Series[strconv.Itoa(i)]
				if tl.OpsPerSec[i] != sec["Count"] || math.Abs(tl.LatencyP99[i]-sec["p99.00"]*1000) > 1e-6 {
					t.Errorf("second %d: %g ops, p99 %g µs; the file says %g requests, p99 %g ms", i, tl.OpsPerSec[i], tl.LatencyP99[i], sec["Count"], sec["p99.00"])
				}
			}
		})
	}
}

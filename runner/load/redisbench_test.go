package load

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

func TestParseRedisBenchmarkRecorded(t *testing.T) {
	dir := sharedTestdata(t, "loadgen/redis-benchmark")
	tests := []struct {
		name    string
		want    []rbRow // test, rps, avg, min, p50, p95, p99, max
		wantErr string
	}{
		{name: "a_set_get_csv", want: []rbRow{
			{"SET", 56497.18, 0.568, 0.128, 0.495, 0.767, 4.359, 11.967, 0},
			{"GET", 67567.57, 0.479, 0.088, 0.471, 0.679, 0.775, 5.351, 0},
		}},
		{name: "e_set_get_pipeline16_csv", want: []rbRow{
			{"SET", 833333.31, 0.703, 0.256, 0.703, 0.967, 1.159, 1.295, 0},
			{"GET", 769230.75, 0.678, 0.064, 0.639, 0.935, 2.015, 2.183, 0},
		}},
		// Killed by timeout: nothing on stdout.
		{name: "f2_error_closed_port_csv", wantErr: "no results"},
		// Not CSV (no --csv): refused, not misread.
		{name: "b_set_get_quiet", wantErr: "not a number"},
		{name: "d_set_get_pipeline16_quiet", wantErr: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join(dir, tt.name+".stdout"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRedisBenchmarkCSV(bytes.NewReader(out))
			if testutil.ExpectErr(t, err, tt.wantErr) {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("rows\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// redis-benchmark before 6.2 printed only test and rps, without a header.
func TestParseRedisBenchmarkOldCSV(t *testing.T) {
	got, err := parseRedisBenchmarkCSV(strings.NewReader("\"SET\",\"40000.00\"\n\"GET\",\"50000.00\"\n"))
	if err != nil || len(got) != 2 || got[1].rps != 50000 || got[1].p50 != 0 {
		t.Fatalf("rows %v, error %v", got, err)
	}
}

func TestRedisBenchmarkCombine(t *testing.T) {
	dir := sharedTestdata(t, "loadgen/redis-benchmark")
	out, err := os.ReadFile(filepath.Join(dir, "a_set_get_csv.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseRedisBenchmarkCSV(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	// The recording ran -n 20000 for each test.
	for i := range rows {
		rows[i].requests = 20000
	}
	var m Measurement
	if err := redisBenchmarkCombine(&m, rows); err != nil {
		t.Fatal(err)
	}
	if m.Totals.Ops != 40000 || m.Sets.Ops != 20000 || m.Gets.LatencyP99 != 775 || m.Totals.LatencyMax != 11967 {
		t.Errorf("totals %+v", m.Totals)
	}
	wantSec := 20000/56497.18 + 20000/67567.57
	if got := m.Duration.Seconds(); got < wantSec-1e-6 || got > wantSec+1e-6 {
		t.Errorf("duration %gs, want %gs", got, wantSec)
	}
	if want := 40000 / wantSec; m.Totals.OpsPerSec < want-0.01 || m.Totals.OpsPerSec > want+0.01 {
		t.Errorf("ops/s %g, want %g", m.Totals.OpsPerSec, want)
	}
	if want := (0.568 + 0.479) / 2 * 1000; m.Totals.LatencyAvg < want-1e-9 || m.Totals.LatencyAvg > want+1e-9 {
		t.Errorf("avg %g, want %g", m.Totals.LatencyAvg, want)
	}
}

func TestRedisBenchmarkPlan(t *testing.T) {
	tests := []struct {
		ratio Ratio
		want  string
	}{
		{Ratio{1, 10}, "[{set 4545} {get 45455}]"},
		{Ratio{1, 1}, "[{set,get 25000}]"},
		{Ratio{0, 1}, "[{get 50000}]"},
		{Ratio{3, 0}, "[{set 50000}]"},
	}
	for _, tt := range tests {
		s := Spec{Tool: ToolRedisBenchmark, Clients: 5, Requests: 10000, Ratio: tt.ratio}.WithDefaults()
		if got := fmt.Sprint(redisBenchmarkPlan(s)); got != tt.want {
			t.Errorf("ratio %s: plan %s, want %s", tt.ratio, got, tt.want)
		}
	}
}

func TestRedisBenchmarkRefuses(t *testing.T) {
	for name, s := range map[string]Spec{
		"test_time":   {TestTime: time.Second},
		"key_pattern": {KeyPattern: "S:S"},
	} {
		_, err := redisBenchmark{}.Run(t.Context(), Target{Addr: closedAddr(t)}, s)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestRedisBenchmarkArgv(t *testing.T) {
	s := Spec{Tool: ToolRedisBenchmark, Threads: 2, Clients: 25, Requests: 100, Pipeline: 16, KeyMaximum: 999}.WithDefaults()
	argv, err := redisBenchmarkArgv("redis-benchmark", Target{Addr: "127.0.0.1:6399"}, s, rbRun{"set", 500})
	checkArgv(t, argv, err, "redis-benchmark -h 127.0.0.1 -p 6399 -c 50 -n 500 -d 32 -P 16 -r 1000 -t set -q --csv --threads 2")
}

// A test that ends within redis-benchmark's millisecond clock prints an
// infinite rate: a clear error, not a figure.
func TestRedisBenchmarkInfiniteRate(t *testing.T) {
	csv := "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n" +
		"\"SET\",\"inf\",\"0.100\",\"0.050\",\"0.100\",\"0.150\",\"0.200\",\"0.300\"\n"
	_, err := parseRedisBenchmarkCSV(strings.NewReader(csv))
	if err == nil || !strings.Contains(err.Error(), "SET ran too briefly") {
		t.Fatalf("err = %v", err)
	}
}

package load

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/notebook"
)

func sysbenchValues(kv ...any) notebook.Values {
	return toolValues(ToolSysbench, notebook.Values{"time": "1s"}, kv...)
}

func TestSysbenchRun(t *testing.T) {
	needTool(t, "sysbench")
	tests := []struct {
		name   string
		values notebook.Values
		extra  []string // metrics beyond the common ones
	}{
		{"cpu", sysbenchValues("test", "cpu", "cpu_max_prime", int64(2000)), nil},
		{"memory", sysbenchValues("test", "memory", "threads", int64(2)), []string{"memory_bw"}},
		{"fileio", sysbenchValues("test", "fileio", "file_total_size", "8M", "file_num", int64(4)), []string{"reads_per_sec", "writes_per_sec", "fsyncs_per_sec", "read_bw", "write_bw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := mustRun(t, Target{Dir: dir}, tt.values)
			checkSysbench(t, m, tt.extra)
			if m.CPU <= 0 || m.Duration < 900e6 {
				t.Errorf("cpu %s, duration %s", m.CPU, m.Duration)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("files left in the scratch folder: %v", files)
			}
			if tt.name == "fileio" && (len(m.Commands) != 3 || m.Commands[0][len(m.Commands[0])-1] != "prepare") {
				t.Errorf("commands %q: want prepare, run, cleanup", m.Commands)
			}
		})
	}
}

func checkSysbench(t *testing.T, m Measurement, extra []string) {
	t.Helper()
	if m.Tool != ToolSysbench || m.ToolVersion != "1.0.20" || m.Command[len(m.Command)-1] != "run" {
		t.Errorf("tool %q, version %q, command %q", m.Tool, m.ToolVersion, m.Command)
	}
	want := append([]string{"events_per_sec", "latency_min", "latency_avg", "latency_p95", "latency_max"}, extra...)
	for _, name := range want {
		if _, ok := m.Metrics[name]; !ok {
			t.Errorf("no %s in %v", name, m.Metrics)
		}
	}
	if len(m.Metrics) != len(want) {
		t.Errorf("metrics %v, want %v", m.Metrics, want)
	}
	for name, v := range m.Metrics {
		if !slices.ContainsFunc(sysbenchMetrics, func(x notebook.Metric) bool { return x.Name == name }) {
			t.Errorf("metric %q is not declared", name)
		}
		if v < 0 || v != v {
			t.Errorf("%s = %g", name, v)
		}
	}
	if m.Metrics["events_per_sec"] <= 0 {
		t.Errorf("events_per_sec %g", m.Metrics["events_per_sec"])
	}
	// min and max are printed to 10 µs; the mean and the percentile are
	// finer, and the percentile is a histogram bucket's value.
	lo, hi := m.Metrics["latency_min"]-5, m.Metrics["latency_max"]*1.05+5
	for _, name := range []string{"latency_avg", "latency_p95"} {
		if v := m.Metrics[name]; v < lo || v > hi {
			t.Errorf("%s %g outside min %g .. max %g", name, v, m.Metrics["latency_min"], m.Metrics["latency_max"])
		}
	}
	checkSpectrum(t, m.Percentiles)
}

func TestSysbenchFails(t *testing.T) {
	needTool(t, "sysbench")
	tests := []struct {
		name   string
		values notebook.Values
		want   []string
		setup  func(dir string)
	}{
		{"a value sysbench refuses", sysbenchValues("test", "memory", "memory_block_size", "0"), []string{`memory_block_size "0": want a size like`}, nil},
		{"another test's option", sysbenchValues("test", "cpu", "memory_oper", "read"), []string{`memory_oper applies to test = "memory" only, and this table has test = "cpu"`}, nil},
		{"a time in fractions", sysbenchValues("time", "1500ms"), []string{`time = "1500ms": want whole multiples of 1s (the tool counts no less), like "1s" or "2s"`}, nil},
		{"an unknown test", sysbenchValues("test", "oltp"), []string{`test = "oltp": want one of "cpu", "memory" or "fileio"`}, nil},
		{
			"files it cannot lay out", sysbenchValues("test", "fileio", "file_total_size", "4M", "file_num", int64(1)),
			[]string{"laying out the files (prepare): exit status 1: FATAL: Can't open file errno = 21 (Is a directory)"},
			func(dir string) { os.Mkdir(filepath.Join(dir, "test_file.0"), 0o755) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(dir)
			}
			runFails(t, Target{Dir: dir}, tt.values, tt.want)
			if left := childrenNamed(t, "sysbench"); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

func TestSysbenchParseCaptured(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{name: "cpu"},
		{name: "memory", extra: []string{"memory_bw"}},
		{name: "fileio", extra: []string{"reads_per_sec", "writes_per_sec", "fsyncs_per_sec", "read_bw", "write_bw"}},
		{name: "fileio-prepare", want: "no results in its output"},
		{name: "badopt", want: "no results in its output"},
		{name: "badvalue", want: "it failed: FATAL: Invalid value for memory-block-size: abc"},
		{name: "fileio-prepare-fails", want: "it failed: FATAL: Can't open file errno = 21 (Is a directory)"},
		{name: "fileio-unprepared", want: "FATAL: Cannot open file 'test_file.0' errno = 2 (No such file or directory) | WARNING: Did you forget to run the prepare step?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _ := captured(t, "sysbench", tt.name)
			out, err := parseSysbench(stdout)
			if testutil.ExpectErr(t, err, tt.want) {
				return
			}
			m := Measurement{Tool: ToolSysbench, Command: []string{"sysbench", "run"}}
			out.fill(&m)
			checkSysbench(t, m, tt.extra)
			// What sysbench printed, to its two decimals of a millisecond.
			for key, name := range map[string]string{"95th percentile": "latency_p95", "avg": "latency_avg"} {
				if got, printed := m.Metrics[name]/1000, out.latency[key]; got < printed-0.005 || got > printed+0.005 {
					t.Errorf("%s %g ms, sysbench printed %g", name, got, printed)
				}
			}
		})
	}
}

// FuzzSysbench covers the reading of sysbench's report, seeded with every
// recorded output: figures that are declared and finite, or an error.
func FuzzSysbench(f *testing.F) {
	for _, b := range recordedOutputs(f, "sysbench") {
		f.Add(b)
	}
	f.Add([]byte("General statistics:\n total time: 1s\n total number of events: 1e300\nLatency (ms):\n min: 1\n avg: 1\n max: 1\n sum: 1\n"))
	f.Add([]byte("General statistics:\n total time: 1s\n total number of events: 3\nLatency (ms):\n min: 1\n avg: 1\n max: 2\n sum: 4\n 0.5 |** 2\n 9 |* 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := parseSysbench(data)
		if err != nil {
			return
		}
		var m Measurement
		out.fill(&m)
		if len(m.Metrics) == 0 {
			t.Fatal("a parsed report with no figures")
		}
		checkFuzzed(t, m, sysbenchMetrics, 1e300)
	})
}

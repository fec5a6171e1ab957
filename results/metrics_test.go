package results

import (
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// A file without declarations (written before they were stored) knows its
// metrics from the redis catalogue, per command prefixes included.
func TestMetricCatalogue(t *testing.T) {
	tests := []struct {
		name   string
		ok     bool
		unit   string
		label  string
		better int
	}{
		{"ops_per_sec", true, "ops/s", "Requests per second", +1},
		{"kb_per_sec", true, "KB/s", "Kilobytes per second", +1},
		{"latency_avg", true, "µs", "Average latency", -1},
		{"latency_p50", true, "µs", "p50 latency", -1},
		{"latency_p90", true, "µs", "p90 latency", -1},
		{"latency_p99", true, "µs", "p99 latency", -1},
		{"latency_p999", true, "µs", "p99.9 latency", -1},
		{"latency_max", true, "µs", "Max latency", -1},
		{"hits", true, "", "Hits", +1},
		{"misses", true, "", "Misses", -1},
		{"errors", true, "", "Errors", -1},
		{"boot_ms", true, "ms", "Boot time", -1},
		{"sets.ops_per_sec", true, "ops/s", "SET requests per second", +1},
		{"gets.latency_p99", true, "µs", "GET p99 latency", -1},
		{"gets.misses", true, "", "GET misses", -1},
		{"sets.boot_ms", false, "", "sets.boot_ms", 0}, // boot is per guest, not per command
		{"gets.bogus", false, "", "gets.bogus", 0},
		{"dels.ops_per_sec", false, "", "dels.ops_per_sec", 0},
		{"ops", false, "", "ops", 0},
		{"read_iops", false, "", "read_iops", 0},
	}
	old := &File{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := Lookup(tt.name); ok != tt.ok {
				t.Errorf("Lookup ok = %v, want %v", ok, tt.ok)
			}
			m := old.Metric(tt.name)
			if m.Unit != tt.unit || m.Label != tt.label || m.Sign() != tt.better {
				t.Errorf("Metric = %+v (sign %d), want unit %q label %q better %d", m, m.Sign(), tt.unit, tt.label, tt.better)
			}
		})
	}
}

// A file that declares its metrics is believed, whatever the catalogue says
// of the same name.
func TestFileMetric(t *testing.T) {
	f := &File{Metrics: Declare([]notebook.Metric{
		{Name: "iops", Unit: "IO/s", Better: notebook.BetterHigher, Doc: "I/Os per second, all directions"},
		{Name: "write_clat_p99", Unit: "µs", Better: notebook.BetterLower, Doc: "99th percentile of completion latency of writes"},
		{Name: "read_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "fileio: bytes read per second"},
		{Name: "latency_avg", Unit: "µs", Better: notebook.BetterLower, Doc: "mean event latency (sysbench's sum of latencies over its events)"},
		{Name: "latency_max", Unit: "ms", Better: notebook.BetterLower, Doc: "longest event"},
		{Name: "compile_rate", Unit: "files/s", Better: notebook.BetterHigher},
		{Name: "errors", Better: notebook.BetterLower, Doc: "a count"},
	})}
	tests := []struct {
		name, unit, label string
		better            int
	}{
		{"iops", "IO/s", "I/Os per second", +1},
		{"write_clat_p99", "µs", "99th percentile of completion latency of writes", -1},
		{"read_bw", "bytes/s", "Bytes read per second", +1},
		{"latency_avg", "µs", "Average latency", -1}, // a redis name and unit: the catalogue's label
		{"latency_max", "ms", "Longest event", -1},   // another unit: its own
		{"compile_rate", "files/s", "compile_rate", +1},
		{"errors", "", "Errors", -1},
		{"ops_per_sec", "ops/s", "Requests per second", +1}, // undeclared: the catalogue
		{"nothing", "", "nothing", 0},
	}
	for _, tt := range tests {
		m := f.Metric(tt.name)
		if m.Name != tt.name || m.Unit != tt.unit || m.Label != tt.label || m.Sign() != tt.better {
			t.Errorf("Metric(%q) = %+v (sign %d), want unit %q label %q better %d", tt.name, m, m.Sign(), tt.unit, tt.label, tt.better)
		}
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		unit string
		mag  float64
		div  float64
		want string
	}{
		{"µs", 9599, 1, "µs"},
		{"µs", 14143, 1e3, "ms"},
		{"µs", 25e6, 1e6, "s"},
		{"µs", 25e12, 1e6, "s"}, // no rung above seconds
		{"ms", 0.25, 1, "ms"},   // never scaled down
		{"ms", 12000, 1e3, "s"},
		{"bytes/s", 123456789, 1e6, "MB/s"},
		{"bytes/s", 9999, 1, "bytes/s"},
		{"bytes", 52428800, 1e6, "MB"},
		{"bytes/s", 1.5e10, 1e9, "GB/s"},
		{"B/s", 2e7, 1e6, "MB/s"},
		{"bits/s", 9.4e9, 1e6, "Mbit/s"},
		{"bits/s", -9.4e10, 1e9, "Gbit/s"},
		{"ops/s", 1e9, 1, "ops/s"},
		{"KB/s", 1e9, 1, "KB/s"}, // the redis tools' own prefix (1024s)
		{"IO/s", 5e6, 1, "IO/s"},
		{"", 1e9, 1, ""},
		{"µs", 0, 1, "µs"},
	}
	for _, tt := range tests {
		div, unit := Scale(tt.unit, tt.mag)
		if div != tt.div || unit != tt.want {
			t.Errorf("Scale(%q, %g) = %g, %q; want %g, %q", tt.unit, tt.mag, div, unit, tt.div, tt.want)
		}
	}
}

// Declarations are stored and read back; a file without them (every file
// written before) encodes exactly as it always did, with no metrics key.
func TestMetricsStored(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	f := sampleFile()
	old, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(old), `"metrics": [`) {
		t.Errorf("a file without declarations stores a metrics list:\n%s", old)
	}
	f.Metrics = Declare([]notebook.Metric{{Name: "read_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "bytes read per second"}})
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(f.Cell)
	if err != nil {
		t.Fatal(err)
	}
	want := Metric{Name: "read_bw", Unit: "bytes/s", Label: "Bytes read per second", Better: notebook.BetterHigher, Doc: "bytes read per second"}
	if len(got.Metrics) != 1 || got.Metrics[0] != want || got.Metric("read_bw") != want {
		t.Errorf("read back %+v, want %+v", got.Metrics, want)
	}
}

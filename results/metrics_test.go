package results

import (
	"slices"
	"testing"
)

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
		{"", false, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsMetric(tt.name); got != tt.ok {
				t.Errorf("IsMetric = %v, want %v", got, tt.ok)
			}
			if got := Unit(tt.name); got != tt.unit {
				t.Errorf("Unit = %q, want %q", got, tt.unit)
			}
			if got := Label(tt.name); got != tt.label {
				t.Errorf("Label = %q, want %q", got, tt.label)
			}
			if got := Better(tt.name); got != tt.better {
				t.Errorf("Better = %d, want %d", got, tt.better)
			}
		})
	}
}

func TestMetricNames(t *testing.T) {
	names := MetricNames()
	// 12 base metrics, 11 of them per command, twice.
	if len(names) != 12+2*11 {
		t.Errorf("%d names, want 34: %v", len(names), names)
	}
	for _, n := range names {
		if !IsMetric(n) {
			t.Errorf("MetricNames lists %q, which IsMetric rejects", n)
		}
	}
	for _, want := range []string{"ops_per_sec", "sets.kb_per_sec", "gets.latency_p999", "boot_ms"} {
		if !slices.Contains(names, want) {
			t.Errorf("MetricNames misses %q", want)
		}
	}
	if slices.Contains(names, "gets.boot_ms") {
		t.Error("MetricNames lists gets.boot_ms")
	}
}

package results

import "strings"

// Metric names of the catalogue. Loads report the totals under these names,
// and per command under the same names prefixed with SetsPrefix or
// GetsPrefix ("gets.latency_p99").
const (
	OpsPerSec   = "ops_per_sec"
	KBPerSec    = "kb_per_sec"
	LatencyAvg  = "latency_avg"
	LatencyP50  = "latency_p50"
	LatencyP90  = "latency_p90"
	LatencyP99  = "latency_p99"
	LatencyP999 = "latency_p999"
	LatencyMax  = "latency_max"
	Hits        = "hits"
	Misses      = "misses"
	Errors      = "errors"
	BootMs      = "boot_ms" // guest-level: time until it answered PING

	SetsPrefix = "sets."
	GetsPrefix = "gets."
)

// Metric describes one base metric of the catalogue.
type Metric struct {
	Name  string
	Unit  string // "ops/s", "KB/s", "µs", "ms" or "" for counts
	Label string // for axes, table headers and captions, without the unit
	// Better is +1 when higher is better, -1 when lower is better.
	Better int
	// PerCommand says whether the metric also exists per command
	// ("sets."/"gets." prefixes).
	PerCommand bool
}

// Catalogue lists the base metrics in the order reports show them.
var Catalogue = []Metric{
	{OpsPerSec, "ops/s", "Requests per second", +1, true},
	{KBPerSec, "KB/s", "Kilobytes per second", +1, true},
	{LatencyAvg, "µs", "Average latency", -1, true},
	{LatencyP50, "µs", "p50 latency", -1, true},
	{LatencyP90, "µs", "p90 latency", -1, true},
	{LatencyP99, "µs", "p99 latency", -1, true},
	{LatencyP999, "µs", "p99.9 latency", -1, true},
	{LatencyMax, "µs", "Max latency", -1, true},
	{Hits, "", "Hits", +1, true},
	{Misses, "", "Misses", -1, true},
	{Errors, "", "Errors", -1, true},
	{BootMs, "ms", "Boot time", -1, false},
}

// Lookup finds the catalogue entry of a metric name, prefixed or not. The
// returned Metric keeps the full name and a label naming the command, e.g.
// "GET p99 latency".
func Lookup(name string) (Metric, bool) {
	base, cmd := name, ""
	switch {
	case strings.HasPrefix(name, SetsPrefix):
		base, cmd = name[len(SetsPrefix):], "SET"
	case strings.HasPrefix(name, GetsPrefix):
		base, cmd = name[len(GetsPrefix):], "GET"
	}
	for _, m := range Catalogue {
		if m.Name != base {
			continue
		}
		if cmd == "" {
			return m, true
		}
		if !m.PerCommand {
			return Metric{}, false
		}
		m.Name = name
		m.Label = cmd + " " + lowerFirst(m.Label)
		return m, true
	}
	return Metric{}, false
}

// lowerFirst lowers "Requests per second" into "requests per second" but
// leaves "p99 latency" alone.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// IsMetric reports whether name is in the catalogue, prefixes included.
func IsMetric(name string) bool {
	_, ok := Lookup(name)
	return ok
}

// Unit is the unit of a metric, "" for counts and unknown names.
func Unit(metric string) string {
	m, _ := Lookup(metric)
	return m.Unit
}

// Label is a human name of a metric; an unknown metric is its own label.
func Label(metric string) string {
	if m, ok := Lookup(metric); ok {
		return m.Label
	}
	return metric
}

// Better is +1 when a higher value of metric is better, -1 when lower is
// better, and 0 for unknown metrics.
func Better(metric string) int {
	m, _ := Lookup(metric)
	return m.Better
}

// MetricNames lists every valid metric name: the base names in catalogue
// order, then the "sets." names, then the "gets." names. Use it for
// "did you mean" hints and documentation.
func MetricNames() []string {
	var names, sets, gets []string
	for _, m := range Catalogue {
		names = append(names, m.Name)
		if m.PerCommand {
			sets = append(sets, SetsPrefix+m.Name)
			gets = append(gets, GetsPrefix+m.Name)
		}
	}
	return append(append(names, sets...), gets...)
}

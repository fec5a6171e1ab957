package results

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/benchbook/benchbook/notebook"
)

// A metric's unit, label and better direction come from the results file
// that holds it: the runner stores the declarations of the cell's load tool
// beside the figures (File.Metrics), so any tool's metrics render, and a
// report re-rendered years later still says what its figures were. Files
// written before that have no declarations; their metrics are the redis
// ones and are found in the Catalogue. File.Metric is the one lookup, for
// the renderer, claims and verify alike.

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
	BootMs      = "boot_ms" // guest-level: time until it was ready

	SetsPrefix = "sets."
	GetsPrefix = "gets."
)

// Metric is what a report knows of a metric: how to label its figures and
// which way is better. A results file stores one per metric it holds.
type Metric struct {
	Name  string `json:"name"`
	Unit  string `json:"unit,omitempty"`  // "ops/s", "µs", "bytes/s"; "" for counts
	Label string `json:"label,omitempty"` // for axes, headers and captions, without the unit
	// Better is notebook.BetterHigher, notebook.BetterLower, or "" when
	// neither is.
	Better string `json:"better,omitempty"`
	Doc    string `json:"doc,omitempty"` // the tool's one-line description
	// PerCommand says whether a catalogue metric also exists per command
	// ("sets."/"gets." prefixes); never stored.
	PerCommand bool `json:"-"`
}

// Sign is +1 when a higher figure is better, -1 when a lower one is, and 0
// when neither is (or the metric is unknown).
func (m Metric) Sign() int {
	switch m.Better {
	case notebook.BetterHigher:
		return +1
	case notebook.BetterLower:
		return -1
	}
	return 0
}

// Metric returns what f declares of the metric called name; for a file
// without declarations (written before they were stored) the catalogue's
// entry; and for a name neither knows, a Metric labelled with its name,
// without unit or direction.
func (f *File) Metric(name string) Metric {
	if f != nil {
		for _, m := range f.Metrics {
			if m.Name == name {
				if m.Label == "" {
					m.Label = name
				}
				return m
			}
		}
	}
	if m, ok := Lookup(name); ok {
		return m
	}
	return Metric{Name: name, Label: name}
}

// Declare is what a results file stores of the metrics a cell's tools
// declare: each with its unit, direction and doc, and a label -- the
// catalogue's where the name and unit are a redis metric's ("Average
// latency"), else the doc's first phrase ("Bytes read per second"), else
// the name.
func Declare(ms []notebook.Metric) []Metric {
	out := make([]Metric, 0, len(ms))
	for _, m := range ms {
		d := Metric{Name: m.Name, Unit: m.Unit, Better: m.Better, Doc: m.Doc, Label: docLabel(m.Doc)}
		if c, ok := Lookup(m.Name); ok && c.Unit == m.Unit {
			d.Label = c.Label
		}
		if d.Label == "" {
			d.Label = m.Name
		}
		out = append(out, d)
	}
	return out
}

// docLabel is the label a metric's doc gives: its first phrase, without a
// leading "test: " scope, capitalised. "fileio: bytes read per second" ->
// "Bytes read per second"; "mean event latency (sysbench's sum...)" ->
// "Mean event latency".
func docLabel(doc string) string {
	if scope, rest, ok := strings.Cut(doc, ": "); ok && !strings.Contains(scope, " ") {
		doc = rest
	}
	if i := strings.IndexAny(doc, "(,;"); i >= 0 {
		doc = doc[:i]
	}
	doc = strings.TrimSpace(doc)
	r, n := utf8.DecodeRuneInString(doc)
	if n == 0 {
		return ""
	}
	return string(unicode.ToUpper(r)) + doc[n:]
}

// Catalogue lists the redis tools' base metrics, and boot_ms, in the order
// reports show them: what a results file without declarations holds.
var Catalogue = []Metric{
	{OpsPerSec, "ops/s", "Requests per second", notebook.BetterHigher, "", true},
	{KBPerSec, "KB/s", "Kilobytes per second", notebook.BetterHigher, "", true},
	{LatencyAvg, "µs", "Average latency", notebook.BetterLower, "", true},
	{LatencyP50, "µs", "p50 latency", notebook.BetterLower, "", true},
	{LatencyP90, "µs", "p90 latency", notebook.BetterLower, "", true},
	{LatencyP99, "µs", "p99 latency", notebook.BetterLower, "", true},
	{LatencyP999, "µs", "p99.9 latency", notebook.BetterLower, "", true},
	{LatencyMax, "µs", "Max latency", notebook.BetterLower, "", true},
	{Hits, "", "Hits", notebook.BetterHigher, "", true},
	{Misses, "", "Misses", notebook.BetterLower, "", true},
	{Errors, "", "Errors", notebook.BetterLower, "", true},
	{BootMs, "ms", "Boot time", notebook.BetterLower, "", false},
}

// Lookup finds the catalogue entry of a metric name, prefixed or not. The
// returned Metric keeps the full name and a label naming the command, e.g.
// "GET p99 latency". Use File.Metric, which knows every tool's metrics;
// Lookup is its fallback for files without declarations.
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

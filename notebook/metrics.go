package notebook

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Which metrics a bench cell produces is known from its declarations: its
// load's tool declares them (Decl.MetricsOf, which adds those a table
// declares itself), and every guest that is started adds the guest-level
// GuestMetrics. check judges the metric names of plots, tables, claims and
// inline values by these; the runner stores them, with their units and
// directions, in the results file.

// GuestMetrics are the figures the runner records of a guest itself,
// whatever the load: the time from its start until it was ready.
var GuestMetrics = []Metric{
	{Name: "boot_ms", Unit: "ms", Better: BetterLower, Doc: "time from the guest's start until it was ready"},
}

// guestKindHost is the kind of guest that is the machine itself: nothing
// is started, so it has no boot time.
const guestKindHost = "host"

// Primary is the metric a cell of this tool shows and is judged by when
// the notebook names none: the first the tool declares (the load tools'
// test keeps each tool's primary first).
func (d Decl) Primary() string {
	if len(d.Metrics) == 0 {
		return ""
	}
	return d.Metrics[0].Name
}

// headlineLatencies join a tool's primary metric in a table's default
// columns and verify's default comparisons when the tool declares them
// under these common names: the columns benchbook has always shown for the
// redis tools.
var headlineLatencies = []string{"latency_avg", "latency_p99"}

// CellMetrics returns the metrics bench cell c produces, in the order its
// tools declare them, then the guest-level ones, and the names of its
// tools. The tool is the load's tool key, through its param's value when
// it is written "{param}"; a param the cell sweeps may switch tools, and
// the metrics are then those of every tool it sweeps over. A cell whose
// load or tool is unknown (reported elsewhere) produces nothing.
func (nb *Notebook) CellMetrics(c *Cell) (ms []Metric, tools []string) {
	if c == nil {
		return nil, nil
	}
	for _, vars := range nb.metricVars(c) {
		mt, tool := nb.MetricsAt(c, vars)
		if tool == "" {
			continue
		}
		if !slices.Contains(tools, tool) {
			tools = append(tools, tool)
		}
		for _, m := range mt {
			if !slices.ContainsFunc(ms, func(x Metric) bool { return x.Name == m.Name }) {
				ms = append(ms, m)
			}
		}
	}
	return ms, tools
}

// MetricsAt returns the metrics bench cell c produces when its params have
// the values vars (a sweep point, with -p overrides), and its tool; no
// metrics and "" when the load or its tool is unknown.
func (nb *Notebook) MetricsAt(c *Cell, vars map[string]any) ([]Metric, string) {
	if c == nil || nb.Loads[c.Load] == nil {
		return nil, ""
	}
	values, d, err := nb.LoadValues(c.Load, vars)
	if err != nil {
		return nil, ""
	}
	ms := d.MetricsOf(values)
	if nb.startsGuests(c, vars) {
		ms = append(ms, GuestMetrics...)
	}
	return ms, d.Name
}

// DefaultMetrics are the metrics a table of bench cell c shows, and verify
// compares, when neither names any: each tool's primary metric, then its
// mean and 99th percentile latency when it has them under their common
// names (latency_avg, latency_p99).
func (nb *Notebook) DefaultMetrics(c *Cell) []string {
	ms, tools := nb.CellMetrics(c)
	var out []string
	for _, tool := range tools {
		if p := LoadTool(tool).Primary(); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, name := range headlineLatencies {
		if hasMetric(ms, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// PrimaryMetric is the metric a plot of bench cell c draws when it names
// none: the primary metric of its (first) tool.
func (nb *Notebook) PrimaryMetric(c *Cell) string {
	if _, tools := nb.CellMetrics(c); len(tools) > 0 {
		return LoadTool(tools[0]).Primary()
	}
	return ""
}

// metricVars are the param values a cell's tool is resolved with: the
// params' values, then each value of each axis the cell sweeps (the tool is
// one param at most, so the sweep's product is not needed).
func (nb *Notebook) metricVars(c *Cell) []map[string]any {
	base := nb.ParamValues()
	out := []map[string]any{base}
	for _, a := range c.Sweep {
		for _, v := range a.Values {
			vars := maps.Clone(base)
			vars[a.Param] = v
			out = append(out, vars)
		}
	}
	return out
}

// startsGuests reports whether any guest of c is started (and so has a
// boot time): every kind but the host itself.
func (nb *Notebook) startsGuests(c *Cell, vars map[string]any) bool {
	for _, g := range c.Guests {
		t := nb.Guests[g]
		if t == nil {
			continue
		}
		kind, _ := t.Values["kind"].(string)
		if name, isRef := wholeRef(kind); isRef {
			kind, _ = vars[name].(string)
		}
		if kind != guestKindHost {
			return true
		}
	}
	return false
}

func hasMetric(ms []Metric, name string) bool {
	return slices.ContainsFunc(ms, func(m Metric) bool { return m.Name == name })
}

// MetricNames are the names of ms, in order.
func MetricNames(ms []Metric) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// UnknownMetric says that bench cell c does not produce the metric name,
// naming the closest one and every one its tools produce: "unknown metric
// "write_clat_p9" (did you mean "write_clat_p99"?); bench cell fs (tool
// fio) produces iops, read_iops, ...". It is "" when c produces name, or
// when its tool is unknown (and that is reported where it is written).
func (nb *Notebook) UnknownMetric(c *Cell, name string) string {
	ms, tools := nb.CellMetrics(c)
	if len(tools) == 0 || hasMetric(ms, name) {
		return ""
	}
	names := MetricNames(ms)
	noun := "tool"
	if len(tools) > 1 {
		noun = "tools"
	}
	return fmt.Sprintf("unknown metric %q%s; bench cell %s (%s %s) produces %s",
		name, didYouMean(name, names), c.ID, noun, strings.Join(tools, ", "), strings.Join(names, ", "))
}

// timelineMetrics are the metrics bench cell c's tools record second by
// second (Metric.Timeline), for timeline plots; nil when its tools are
// unknown (reported elsewhere).
func (nb *Notebook) timelineMetrics(c *Cell) []string {
	ms, _ := nb.CellMetrics(c)
	var out []string
	for _, m := range ms {
		if m.Timeline {
			out = append(out, m.Name)
		}
	}
	return out
}

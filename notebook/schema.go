package notebook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The notebook's own keys: the top level and the cells. The keys of load
// tools come from the declarations beside each tool (catalog_gen.go is
// made from them); guest kinds are declared here until they move beside
// their launchers.

var topKeys = []Key{
	{Name: "title", Type: TypeString, Required: true, NoParam: true, Doc: "the page title"},
	{Name: "date", Type: TypeDate, NoParam: true, Doc: "publication date (a local date like 2014-11-02, or an offset date-time); sites order their index by it"},
	{Name: "authors", Type: TypeStrings, NoParam: true, Doc: "shown with the title"},
	{Name: "tags", Type: TypeStrings, NoParam: true, Doc: "lowercase words; each tag gets a page listing its notebooks"},
	{Name: "summary", Type: TypeString, NoParam: true, Doc: "one line for the site index and the feed"},
	{Name: "slug", Type: TypeString, NoParam: true, Doc: "the URL name; by default the file name without .toml, lowercased, with every character outside a-z, 0-9 and - replaced by -"},
	{Name: "draft", Type: TypeBool, Default: "false", NoParam: true, Doc: "a draft is left out of sites unless they are built with --drafts"},
	{Name: "unsafe_html", Type: TypeBool, Default: "false", NoParam: true, Doc: "let raw HTML in markdown cells through; when false it is escaped and shows as text"},
	{Name: "params", Type: TypeParams, NoParam: true, Doc: "named values that guests, loads and bench cells refer to as {name}, and that -p overrides"},
	{Name: "guests", Type: TypeTables, NoParam: true, Doc: "the systems under test, one [guests.NAME] table each"},
	{Name: "loads", Type: TypeTables, NoParam: true, Doc: "load descriptions, one [loads.NAME] table each"},
	{Name: "cells", Type: TypeCells, Required: true, NoParam: true, Doc: "the content of the report, in order: at least one [[cells]] table"},
}

// GuestKinds are the kinds of guest a [guests.NAME] table may be.
var GuestKinds = []string{"process", "qemu", "libvirt"}

var guestCommon = []Key{
	{Name: "kind", Type: TypeString, OneOf: GuestKinds, Required: true, Doc: "process, qemu or libvirt"},
	{Name: "ready_timeout", Type: TypeDuration, Min: "1ms", Doc: "how long the guest may take to become ready (default 30s for processes, 2m for VMs)"},
	{Name: "optional", Type: TypeBool, Default: "false", Doc: "when the guest's image or program is missing, skip the guest instead of failing the cell; the report says it was skipped"},
	{Name: "description", Type: TypeString, NoParam: true, Doc: "shown in tables and captions"},
}

var processKeys = joinKeys(guestCommon, []Key{
	{Name: "command", Type: TypeStrings, Required: true, Doc: "the program and its arguments; {port} is replaced by the port allocated for the run"},
	{Name: "env", Type: TypeStringMap, Doc: "extra environment variables"},
	{Name: "dir", Type: TypeString, Doc: "working directory, relative to the notebook"},
})

var vmKeys = joinKeys(guestCommon, []Key{
	{Name: "flavor", Type: TypeString, OneOf: []string{"linux", "osv", "rumprun", "raw"}, Doc: "the image's conventions: linux, osv, rumprun or raw"},
	{Name: "image", Type: TypeString, Doc: "a built-in image, for example builtin:linux-redis"},
	{Name: "kernel", Type: TypeString, Doc: "kernel file, relative to the notebook"},
	{Name: "initrd", Type: TypeString, Doc: "initial ramdisk, relative to the notebook"},
	{Name: "cmdline", Type: TypeStringOrStrings, Doc: "kernel or application command line"},
	{Name: "disk", Type: TypeString, Doc: "boot disk (qcow2)"},
	{Name: "disks", Type: TypeStrings, Doc: "extra disks"},
	{Name: "memory", Type: TypeString, Pattern: `^[1-9][0-9]*[KMGT]?$`, Help: `want a size like "256M" or "1G"`, Doc: "guest memory, like \"256M\" (default: the flavor's)"},
	{Name: "cpus", Type: TypeInt, Default: "1", Min: "1", Max: "256", Doc: "virtual CPUs"},
	{Name: "network", Type: TypeString, Pattern: `^(auto|user|tap|bridge:[A-Za-z0-9_.-]+|network:[A-Za-z0-9_.-]+)$`, Help: `want "auto", "user" or "tap" (qemu), or "user", "bridge:NAME" or "network:NAME" (libvirt)`, Doc: "how the guest is reached: auto (the default), user or tap for qemu; user, bridge:NAME or network:NAME (default network:default) for libvirt"},
	{Name: "accel", Type: TypeString, OneOf: []string{"auto", "kvm", "tcg"}, Default: "auto", Doc: "auto, kvm or tcg"},
	{Name: "machine", Type: TypeString, OneOf: []string{"microvm", "pc", "q35"}, Doc: "qemu machine type: microvm, pc or q35 (default: the flavor's)"},
	{Name: "boot", Type: TypeString, OneOf: []string{"per-repeat", "per-cell"}, Default: "per-repeat", Doc: "per-repeat boots a fresh guest for every repeat; per-cell boots it once per sweep point"},
	{Name: "guest_port", Type: TypeInt, Min: "1", Max: "65535", Doc: "the port the server listens on inside the guest (default: the flavor's, 6379 for redis)"},
	{Name: "uri", Type: TypeString, Doc: "the libvirt connection URI (libvirt guests only; default qemu:///system)"},
	{Name: "qemu_args", Type: TypeStrings, Doc: "extra qemu arguments"},
})

// LoadTools are the load generators a load table may name.
func LoadTools() []string {
	names := make([]string, len(loadTools))
	for i, d := range loadTools {
		names[i] = d.Name
	}
	return names
}

// LoadTool returns the declaration of a load tool, or nil.
func LoadTool(name string) *Decl {
	for i := range loadTools {
		if loadTools[i].Name == name {
			return &loadTools[i]
		}
	}
	return nil
}

// defaultLoadTool is the tool of a load table without a tool key.
const defaultLoadTool = "builtin"

// Metrics are the figures a plot or table may show. Per-command figures take
// a "sets." or "gets." prefix.
var Metrics = []string{
	"ops_per_sec", "kb_per_sec",
	"latency_avg", "latency_p50", "latency_p90", "latency_p99", "latency_p999", "latency_max",
	"hits", "misses", "errors", "boot_ms",
}

// IsMetric reports whether name is a metric a plot or table may show.
func IsMetric(name string) bool {
	base := strings.TrimPrefix(strings.TrimPrefix(name, "sets."), "gets.")
	return slices.Contains(Metrics, base)
}

// CellKinds are the kinds of cell, in the order the docs list them.
var CellKinds = []string{KindMarkdown, KindBench, KindPlot, KindTable, KindCheck}

var cellCommon = []Key{
	{Name: "kind", Type: TypeString, OneOf: CellKinds, Required: true, NoParam: true, Doc: "markdown, bench, plot, table or check"},
	{Name: "id", Type: TypeString, NoParam: true, Doc: "letters, digits, - and _, unique within the notebook; required for bench cells"},
}

// MaxRuns bounds the guest runs one bench cell may ask for (sweep points x
// repeats x guests): a typo in a sweep must not book the machine for a year.
const MaxRuns = 10000

var cellKeys = map[string][]Key{
	KindMarkdown: joinKeys(cellCommon, []Key{
		{Name: "text", Type: TypeString, Required: true, NoParam: true, Doc: "GitHub-flavoured Markdown, usually a \"\"\" multi-line string; not param-substituted"},
	}),
	KindBench: joinKeys(cellCommon, []Key{
		{Name: "guests", Type: TypeStrings, Required: true, NoParam: true, Doc: "names of the guests to measure, in turn"},
		{Name: "load", Type: TypeString, Required: true, NoParam: true, Doc: "the name of a [loads.NAME] table"},
		{Name: "repeat", Type: TypeInt, Default: "3", Min: "1", Max: "1000", NoParam: true, Doc: "how many times each guest is measured at each sweep point"},
		{Name: "sweep", Type: TypeSweep, NoParam: true, Doc: "param name to an array of values: the cell runs once per combination"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "caption"},
		{Name: "description", Type: TypeString, NoParam: true, Doc: "shown in the report"},
	}),
	KindPlot: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "y", Type: TypeString, Default: "ops_per_sec", NoParam: true, Doc: "the metric to draw"},
		{Name: "x", Type: TypeString, NoParam: true, Doc: "the sweep param on the x axis of a line plot"},
		{Name: "style", Type: TypeString, OneOf: []string{"bar", "line", "percentiles"}, Default: "bar", NoParam: true, Doc: "bar; line, for sweeps; percentiles, latency by percentile"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "plot title"},
		{Name: "caption", Type: TypeString, NoParam: true, Doc: "text under the plot"},
		{Name: "group", Type: TypeBool, Default: "false", NoParam: true, Doc: "group bars by SETs, GETs and totals"},
		{Name: "error", Type: TypeString, OneOf: []string{"minmax", "ci95"}, Default: "minmax", NoParam: true, Doc: "error bars: minmax (range over repeats) or ci95 (95 % confidence interval of the median)"},
		{Name: "guests", Type: TypeStrings, NoParam: true, Doc: "plot only these guests (default: all guests of the cell)"},
		{Name: "alt", Type: TypeString, NoParam: true, Doc: "alt text for the image (default: generated)"},
	}),
	KindCheck: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "claims", Type: TypeStrings, Required: true, NoParam: true, Doc: "comparisons (>, <, >=, <=) of expressions over GUEST.METRIC, numbers, + - * / and parentheses"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "heading of the list"},
	}),
	KindTable: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "metrics", Type: TypeStrings, NoParam: true, Doc: "columns, in order (default: ops_per_sec, latency_avg, latency_p99)"},
		{Name: "baseline", Type: TypeString, NoParam: true, Doc: "a guest of that cell: every figure is also shown as a ratio to it, like 0.42x host"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "table title"},
		{Name: "caption", Type: TypeString, NoParam: true, Doc: "text under the table"},
	}),
}

// Runtime variables the runner provides; they need no [params] entry.
var runtimeVars = []string{"port", "guest", "cell"}

var (
	refRE  = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_-]*)\}`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// refs returns the {name} references in s, skipping "{{" escapes.
func refs(s string) []string {
	s = strings.ReplaceAll(s, "{{", "")
	var out []string
	for _, m := range refRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// wholeRef returns the param name when s is exactly "{name}".
func wholeRef(s string) (string, bool) {
	m := refRE.FindStringSubmatchIndex(s)
	if m == nil || m[0] != 0 || m[1] != len(s) {
		return "", false
	}
	return s[m[2]:m[3]], true
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

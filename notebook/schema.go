package notebook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The notebook's own keys: the top level and the cells. The keys of load
// tools and guest kinds come from the declarations beside their code
// (runner/load, runner/guest); catalog_gen.go is made from them.

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
var GuestKinds = declNames(guestKinds)

// GuestKind returns the declaration of a guest kind, or nil.
func GuestKind(name string) *Decl { return declNamed(guestKinds, name) }

// LoadTools are the load generators a load table may name.
func LoadTools() []string { return declNames(loadTools) }

// LoadTool returns the declaration of a load tool, or nil.
func LoadTool(name string) *Decl { return declNamed(loadTools, name) }

func declNames(decls []Decl) []string {
	names := make([]string, len(decls))
	for i, d := range decls {
		names[i] = d.Name
	}
	return names
}

// declNamed points into decls, so a caller sees the declaration itself.
func declNamed(decls []Decl, name string) *Decl {
	if i := slices.IndexFunc(decls, func(d Decl) bool { return d.Name == name }); i >= 0 {
		return &decls[i]
	}
	return nil
}

// defaultLoadTool is the tool of a load table without a tool key.
const defaultLoadTool = "builtin"

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
		{Name: "repeat", Type: TypeRepeat, Default: "3", Min: "1", Max: "1000", NoParam: true, Doc: "how many times each guest is measured at each sweep point: a count, or rounds until a target, a budget or max (see Repeats below)"},
		{Name: "retry", Type: TypeInt, Default: "0", Min: "0", Max: "10", NoParam: true, Doc: "a failed repeat is run again with a fresh boot up to this many times; every failure is recorded"},
		{Name: "sweep", Type: TypeSweep, NoParam: true, Doc: "param name to an array of values: the cell runs once per combination"},
		{Name: "placement", Type: TypeString, Default: "auto", NoParam: true, Pattern: placementPattern,
			Help: `want "auto", "none", or the CPUs of both sides like "sut=0,load=1" or "sut=0-1,load=2-3"`,
			Doc:  "keeps the systems under test and the load on disjoint CPUs: auto splits those benchbook may use (nothing on 1 core), none leaves them be, sut=CPUS,load=CPUS names both sides"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "caption"},
		{Name: "description", Type: TypeString, NoParam: true, Doc: "shown in the report"},
	}),
	KindPlot: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "y", Type: TypeString, NoParam: true, Doc: "the metric to draw, one the bench cell's load tool produces (default: the tool's primary metric: ops_per_sec for the redis tools, iops for fio, wall_ms for a command...)"},
		{Name: "x", Type: TypeString, NoParam: true, Doc: "the x axis of a line plot: a swept param, or a metric of the cell (each point at its median, like x = \"ops_per_sec\" for the achieved rate of a sweep over rate)"},
		{Name: "style", Type: TypeString, OneOf: []string{"bar", "line", "percentiles", "timeline"}, Default: "bar", NoParam: true, Doc: "bar; line, for sweeps; percentiles, latency by percentile; timeline, a metric second by second through the run (ops_per_sec or latency_p99 of the builtin load and memtier; iops, _iops, _bw, _clat_p50, _clat_p99 of fio)"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "plot title"},
		{Name: "caption", Type: TypeString, NoParam: true, Doc: "text under the plot"},
		{Name: "group", Type: TypeBool, Default: "false", NoParam: true, Doc: "group bars by SETs, GETs and totals"},
		{Name: "error", Type: TypeString, OneOf: []string{"minmax", "ci95"}, Default: "minmax", NoParam: true, Doc: "error bars: minmax (range over repeats) or ci95 (95 % confidence interval of the median)"},
		{Name: "guests", Type: TypeStrings, NoParam: true, Doc: "plot only these guests (default: all guests of the cell)"},
		{Name: "alt", Type: TypeString, NoParam: true, Doc: "alt text for the image (default: generated)"},
	}),
	KindCheck: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "claims", Type: TypeStrings, Required: true, NoParam: true, Doc: "comparisons (>, <, >=, <=) of expressions over GUEST.METRIC or GUEST[POINT].METRIC (a sweep point like [net=tap], or [tap] when only one swept param has that value), numbers, + - * / and parentheses; a claim may end with up to PARAM = VALUE (a knee: judged at the sweep points where PARAM is at most VALUE)"},
		{Name: "mode", Type: TypeString, OneOf: []string{ModeAssert, ModeTest}, Default: ModeAssert, NoParam: true, Doc: "assert: a claim the data contradict fails check --claims and build; test: each claim is reported as supported, not supported or inconclusive, and never fails them"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "heading of the list"},
	}),
	KindTable: joinKeys(cellCommon, []Key{
		{Name: "from", Type: TypeString, Required: true, NoParam: true, Doc: "the id of a bench cell"},
		{Name: "metrics", Type: TypeStrings, NoParam: true, Doc: "columns, in order, metrics the bench cell's load tool produces (default: the tool's primary metric, then latency_avg and latency_p99 when it has them)"},
		{Name: "baseline", Type: TypeString, NoParam: true, Doc: "a guest of that cell: every figure is also shown as a ratio to it, like 0.42x host; in a table also a sweep point of it, like \"net=loopback\" (or a bare value, \"loopback\"): each guest's figures as a ratio to its own at that point"},
		{Name: "title", Type: TypeString, NoParam: true, Doc: "table title"},
		{Name: "caption", Type: TypeString, NoParam: true, Doc: "text under the table"},
	}),
}

// Runtime variables the runner provides; they need no [params] entry.
var runtimeVars = []string{"port", "guest", "cell", "dir"}

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

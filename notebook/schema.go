package notebook

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// typ is the TOML shape a key accepts.
type typ int

const (
	tString typ = iota
	tInt
	tBool
	tDate
	tStrings         // array of strings
	tStringOrStrings // a string or an array of strings (cmdline)
	tStringMap       // table of strings (env)
	tDuration        // "30s", "1m30s"
	tSweep           // inline table: param -> array of values
	tParams          // table of scalars
	tTables          // table of tables (guests, loads)
	tCells           // array of tables
)

func (t typ) String() string {
	switch t {
	case tString:
		return "a string"
	case tInt:
		return "an integer"
	case tBool:
		return "true or false"
	case tDate:
		return "a date like 2014-11-02"
	case tStrings:
		return "an array of strings"
	case tStringOrStrings:
		return "a string or an array of strings"
	case tStringMap:
		return "a table of strings"
	case tDuration:
		return `a duration like "30s"`
	case tSweep:
		return "a table of param = [values]"
	case tParams:
		return "a table of values"
	case tTables:
		return "a table of tables"
	case tCells:
		return "an array of tables ([[cells]])"
	}
	return "?"
}

// field describes one key: its shape, the values it may take, and whether a
// "{param}" string may stand for it.
type field struct {
	t      typ
	oneOf  []string
	params bool
}

var topFields = map[string]field{
	"title":       {t: tString},
	"date":        {t: tDate},
	"authors":     {t: tStrings},
	"tags":        {t: tStrings},
	"summary":     {t: tString},
	"slug":        {t: tString},
	"draft":       {t: tBool},
	"unsafe_html": {t: tBool},
	"params":      {t: tParams},
	"guests":      {t: tTables},
	"loads":       {t: tTables},
	"cells":       {t: tCells},
}

// Guest kinds and the keys each accepts.
var guestKinds = []string{"process", "qemu", "libvirt"}

var guestCommon = map[string]field{
	"kind":          {t: tString, oneOf: guestKinds, params: true},
	"ready_timeout": {t: tDuration, params: true},
	"optional":      {t: tBool, params: true},
	"description":   {t: tString},
}

var processFields = merge(guestCommon, map[string]field{
	"command": {t: tStrings, params: true},
	"env":     {t: tStringMap, params: true},
	"dir":     {t: tString, params: true},
})

var vmFields = merge(guestCommon, map[string]field{
	"flavor":     {t: tString, oneOf: []string{"linux", "osv", "rumprun", "raw"}, params: true},
	"image":      {t: tString, params: true},
	"kernel":     {t: tString, params: true},
	"initrd":     {t: tString, params: true},
	"cmdline":    {t: tStringOrStrings, params: true},
	"disk":       {t: tString, params: true},
	"disks":      {t: tStrings, params: true},
	"memory":     {t: tString, params: true},
	"cpus":       {t: tInt, params: true},
	"network":    {t: tString, params: true},
	"accel":      {t: tString, oneOf: []string{"auto", "kvm", "tcg"}, params: true},
	"machine":    {t: tString, oneOf: []string{"microvm", "pc", "q35"}, params: true},
	"boot":       {t: tString, oneOf: []string{"per-repeat", "per-cell"}, params: true},
	"guest_port": {t: tInt, params: true},
	"uri":        {t: tString, params: true},
	"qemu_args":  {t: tStrings, params: true},
})

// LoadTools are the load generators a load table may name.
var LoadTools = []string{"builtin", "redis-benchmark", "memtier"}

var loadFields = map[string]field{
	"tool":        {t: tString, oneOf: LoadTools, params: true},
	"threads":     {t: tInt, params: true},
	"clients":     {t: tInt, params: true},
	"requests":    {t: tInt, params: true},
	"test_time":   {t: tDuration, params: true},
	"ratio":       {t: tString, params: true},
	"data_size":   {t: tInt, params: true},
	"pipeline":    {t: tInt, params: true},
	"key_pattern": {t: tString, params: true},
	"key_minimum": {t: tInt, params: true},
	"key_maximum": {t: tInt, params: true},
	"warmup":      {t: tDuration, params: true},
	"seed":        {t: tInt, params: true},
	"description": {t: tString},
}

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
	for _, m := range Metrics {
		if base == m {
			return true
		}
	}
	return false
}

var cellCommon = map[string]field{
	"kind": {t: tString, oneOf: []string{KindMarkdown, KindBench, KindPlot, KindTable, KindCheck}},
	"id":   {t: tString},
}

var cellFields = map[string]map[string]field{
	KindMarkdown: merge(cellCommon, map[string]field{
		"text": {t: tString},
	}),
	KindBench: merge(cellCommon, map[string]field{
		"guests":      {t: tStrings},
		"load":        {t: tString},
		"repeat":      {t: tInt},
		"sweep":       {t: tSweep},
		"title":       {t: tString},
		"description": {t: tString},
	}),
	KindPlot: merge(cellCommon, map[string]field{
		"from":    {t: tString},
		"y":       {t: tString},
		"x":       {t: tString},
		"style":   {t: tString, oneOf: []string{"bar", "line", "percentiles"}},
		"title":   {t: tString},
		"caption": {t: tString},
		"group":   {t: tBool},
		"error":   {t: tString, oneOf: []string{"minmax", "ci95"}},
		"guests":  {t: tStrings},
		"alt":     {t: tString},
	}),
	KindCheck: merge(cellCommon, map[string]field{
		"from":   {t: tString},
		"claims": {t: tStrings},
		"title":  {t: tString},
	}),
	KindTable: merge(cellCommon, map[string]field{
		"from":     {t: tString},
		"metrics":  {t: tStrings},
		"baseline": {t: tString},
		"title":    {t: tString},
		"caption":  {t: tString},
	}),
}

// Runtime variables the runner provides; they need no [params] entry.
var runtimeVars = []string{"port", "guest", "cell"}

var (
	refRE  = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_-]*)\}`)
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

func merge(a, b map[string]field) map[string]field {
	m := make(map[string]field, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

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

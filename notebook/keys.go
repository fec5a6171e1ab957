package notebook

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Type is the TOML shape a key accepts.
type Type int

// Key types.
const (
	TypeString          Type = iota
	TypeInt                  // an integer
	TypeFloat                // a number; integers are accepted
	TypeBool                 // true or false
	TypeDate                 // a TOML date
	TypeStrings              // an array of strings
	TypeStringOrStrings      // a string or an array of strings (cmdline)
	TypeStringMap            // a table of strings (env)
	TypeDuration             // "30s", "1m30s"
	TypeSweep                // inline table: param -> array of values
	TypeParams               // table of scalars
	TypeTables               // table of tables (guests, loads)
	TypeCells                // array of tables
	// TypeMetricTable is a table of metrics a tool reads from a program's
	// output, each a table like { json = "/stats/rate", unit = "files/s" }
	// (see MetricSource).
	TypeMetricTable
	// TypeRepeat is a bench cell's repeat: an integer, or an adaptive
	// table { min, max, target, budget } (see RepeatRule).
	TypeRepeat
	// TypeTableArray is an array of tables ([[guests.vm.scratch]]), each
	// holding the keys Key.Sub declares.
	TypeTableArray
)

func (t Type) String() string {
	switch t {
	case TypeString:
		return "a string"
	case TypeInt:
		return "an integer"
	case TypeFloat:
		return "a number"
	case TypeBool:
		return "true or false"
	case TypeDate:
		return "a date like 2014-11-02"
	case TypeStrings:
		return "an array of strings"
	case TypeStringOrStrings:
		return "a string or an array of strings"
	case TypeStringMap:
		return "a table of strings"
	case TypeDuration:
		return `a duration like "30s"`
	case TypeSweep:
		return "a table of param = [values]"
	case TypeParams:
		return "a table of values"
	case TypeTables:
		return "a table of tables"
	case TypeCells:
		return "an array of tables ([[cells]])"
	case TypeMetricTable:
		return `a table of metrics, each { json = "/pointer" } or { regex = "(...)" }`
	case TypeRepeat:
		return "an integer, or a table { min, max, target, budget }"
	case TypeTableArray:
		return "an array of tables"
	}
	return "?"
}

// Key declares one notebook key: its shape, the values it may take, its
// default and what it means. Every key of the format is declared once as a
// Key -- the keys of load tools and guest kinds beside the code that uses
// them (see Decl) -- and validation, "did you mean", the typed values the
// runner gets and the key tables of the docs all come from these
// declarations.
type Key struct {
	Name string
	Type Type
	Doc  string // one line, for the docs and the schema
	// Default is the value used when the key is absent, as it would be
	// written in TOML without quotes ("50", "1:10", "30s"); "" means none.
	Default string
	// OneOf lists the only values a string key may take.
	OneOf []string
	// Pattern, when set, is a regular expression the whole string value
	// must match; Help says in words what it wants ("want SET:GET like
	// \"1:10\"").
	Pattern string
	Help    string
	// Min and Max bound a number or a duration, inclusive, written as in
	// TOML ("1", "0", "1ms"); "" is unbounded. A count that must be
	// positive has Min "1": zero is refused where it means nothing.
	Min, Max string
	// Excludes names a key of the same table that may not be set together
	// with this one; the default of this key then does not apply either.
	Excludes string
	// AtMost names a key of the same table whose value (or default) this
	// one may not exceed.
	AtMost string
	// Step, for a duration, is the unit it must be a whole multiple of
	// ("1s": a tool that counts whole seconds).
	Step string
	// When, written "KEY=VALUE|VALUE", limits the key to tables in which
	// KEY (given or by its default) has one of the values: sysbench's
	// file_ keys apply to test = "fileio" only.
	When string
	// Refuses lists values of this key that another key's value rules out
	// (network "passt" with flavor "rumprun"), each with why.
	Refuses []Refusal
	// NoParam keys may not be written as a "{param}" reference.
	NoParam bool
	// Required keys must be present.
	Required bool
	// Kinds, in a declaration shared by several kinds of table (the guest
	// kinds), lists those the key applies to; empty: all of them.
	Kinds []string
	// Sub declares the keys of each table of a TypeTableArray key.
	Sub []Key
}

// Decl declares a kind of table: a load tool ("builtin", "fio"...) or a
// guest kind ("process", "qemu"...) and the keys it accepts; a load tool
// also declares the metrics it produces.
type Decl struct {
	Name    string
	Doc     string
	Keys    []Key
	Metrics []Metric
}

// DeclsByKind makes one declaration per kind from a list of keys that say
// which kinds they apply to (Key.Kinds; none: every kind), keeping the
// kinds' names and docs.
func DeclsByKind(kinds []Decl, keys []Key) []Decl {
	out := make([]Decl, len(kinds))
	for i, kind := range kinds {
		d := Decl{Name: kind.Name, Doc: kind.Doc}
		for _, k := range keys {
			if len(k.Kinds) > 0 && !slices.Contains(k.Kinds, kind.Name) {
				continue
			}
			k.Kinds = nil
			d.Keys = append(d.Keys, k)
		}
		out[i] = d
	}
	return out
}

// Metric declares one figure a load tool produces.
type Metric struct {
	Name   string
	Unit   string // "ops/s", "µs", "bytes/s"; "" for a count
	Better string // BetterHigher, BetterLower, or "" when neither is
	Doc    string
	// Timeline: the tool also records it second by second, for timeline
	// plots (style = "timeline").
	Timeline bool
}

// Directions a metric can be better in.
const (
	BetterHigher = "higher"
	BetterLower  = "lower"
)

// MetricsOf returns the metrics a table of this declaration produces with
// these values: the declared ones, then those the table declares itself
// under a key of TypeMetricTable (the command tool's metrics = {...}), in
// name order. Plots, tables and claims of a cell judge its metric names by
// these.
func (d Decl) MetricsOf(values map[string]any) []Metric {
	out := slices.Clone(d.Metrics)
	for _, k := range d.Keys {
		m, ok := values[k.Name].(map[string]any)
		if k.Type != TypeMetricTable || !ok {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			e, _ := m[name].(map[string]any)
			str := func(key string) string { s, _ := e[key].(string); return s }
			out = append(out, Metric{Name: name, Unit: str("unit"), Better: str("better"), Doc: str("doc")})
		}
	}
	return out
}

// Metric returns the declaration of the metric called name, or nil.
func (d Decl) Metric(name string) *Metric {
	for i := range d.Metrics {
		if d.Metrics[i].Name == name {
			return &d.Metrics[i]
		}
	}
	return nil
}

// Key returns the declaration of the key called name, or nil.
func (d Decl) Key(name string) *Key {
	for i := range d.Keys {
		if d.Keys[i].Name == name {
			return &d.Keys[i]
		}
	}
	return nil
}

// KeyNames returns the names of the keys, sorted.
func (d Decl) KeyNames() []string {
	names := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		names[i] = k.Name
	}
	slices.Sort(names)
	return names
}

var patterns = map[string]*regexp.Regexp{}

func compiled(pattern string) *regexp.Regexp {
	re, ok := patterns[pattern]
	if !ok {
		// Declarations are fixed at build time; compiling them is checked
		// by the catalog test, so a bad one cannot reach a user.
		re = regexp.MustCompile(pattern)
		patterns[pattern] = re
	}
	return re
}

// typeProblem says why v is not of k's type, or "".
func (k *Key) typeProblem(v any) string {
	ok := true
	switch k.Type {
	case TypeString, TypeDuration:
		_, ok = v.(string)
	case TypeInt:
		_, ok = v.(int64)
	case TypeFloat:
		switch v.(type) {
		case int64, float64:
		default:
			ok = false
		}
	case TypeBool:
		_, ok = v.(bool)
	case TypeDate:
		_, ok = v.(time.Time)
	case TypeStrings:
		ok = isStrings(v)
	case TypeStringOrStrings:
		_, isStr := v.(string)
		ok = isStr || isStrings(v)
	case TypeStringMap, TypeSweep, TypeParams, TypeTables, TypeMetricTable:
		_, ok = v.(map[string]any)
	case TypeCells:
		_, ok = v.([]map[string]any)
	case TypeRepeat:
		_, isInt := v.(int64)
		_, isTable := v.(map[string]any)
		ok = isInt || isTable
	case TypeTableArray:
		_, ok = tableArray(v)
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("%s must be %s, not %s", k.Name, k.Type, typeName(v))
}

// valueProblem says why v, of the right type, is not a value k accepts, or
// "". It is the one check of a value, whether written in the notebook,
// reaching the key through a param or a sweep point, or given with -p.
func (k *Key) valueProblem(v any) string {
	switch k.Type {
	case TypeString:
		s := v.(string)
		if len(k.OneOf) > 0 && !slices.Contains(k.OneOf, s) {
			return fmt.Sprintf("%s = %q: want one of %s%s", k.Name, s, quoteList(k.OneOf), didYouMean(s, k.OneOf))
		}
		if k.Pattern != "" && !compiled(k.Pattern).MatchString(s) {
			return fmt.Sprintf("%s %q: %s", k.Name, s, k.Help)
		}
	case TypeDuration:
		s := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Sprintf("%s = %q: want a duration like \"30s\", \"500ms\" or \"2m\"", k.Name, s)
		}
		if msg := k.rangeProblem(float64(d), s); msg != "" {
			return msg
		}
		return k.stepProblem(d, s)
	case TypeInt:
		n := v.(int64)
		return k.rangeProblem(float64(n), strconv.FormatInt(n, 10))
	case TypeRepeat:
		// A table is checked key by key where it is read (parser.repeat).
		if n, ok := v.(int64); ok {
			return k.rangeProblem(float64(n), strconv.FormatInt(n, 10))
		}
	case TypeFloat:
		f := toFloat(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("%s = %v: want a finite number", k.Name, v)
		}
		return k.rangeProblem(f, strconv.FormatFloat(f, 'g', -1, 64))
	case TypeMetricTable:
		return metricTableProblem(k.Name, v.(map[string]any))
	case TypeTableArray:
		tables, _ := tableArray(v)
		for i, t := range tables {
			if msg := subTableProblem(k.Sub, t); msg != "" {
				return fmt.Sprintf("%s[%d]: %s", k.Name, i, msg)
			}
		}
	}
	return ""
}

// tableArray is an array of tables as TOML decodes one ([[a.b]] or
// [{...}, ...]), and whether v is one.
func tableArray(v any) ([]map[string]any, bool) {
	switch x := v.(type) {
	case []map[string]any:
		return x, true
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// subTableProblem checks one table of a TypeTableArray: unknown and
// missing keys, and each value (a {param} one once resolved).
func subTableProblem(keys []Key, t map[string]any) string {
	for _, name := range slices.Sorted(maps.Keys(t)) {
		k := findKey(keys, name)
		if k == nil {
			return fmt.Sprintf("unknown key %q%s", name, didYouMean(name, keyNames(keys)))
		}
		if s, ok := t[name].(string); ok && len(refs(s)) > 0 {
			continue
		}
		if msg := k.typeProblem(t[name]); msg != "" {
			return msg
		}
		if msg := k.valueProblem(t[name]); msg != "" {
			return msg
		}
	}
	for _, k := range keys {
		if _, set := t[k.Name]; k.Required && !set {
			return fmt.Sprintf("missing key %q: it is required", k.Name)
		}
	}
	return ""
}

// stepProblem checks a duration against Step.
func (k *Key) stepProblem(d time.Duration, written string) string {
	step, err := time.ParseDuration(k.Step)
	if k.Step == "" || err != nil || step <= 0 || d%step == 0 {
		return ""
	}
	lo := d / step * step
	return fmt.Sprintf("%s = %q: want whole multiples of %s (the tool counts no less), like %q or %q", k.Name, written, k.Step, lo, lo+step)
}

// rangeProblem checks a number (a duration in nanoseconds) against Min
// and Max.
func (k *Key) rangeProblem(x float64, written string) string {
	lo, hasLo := k.bound(k.Min)
	hi, hasHi := k.bound(k.Max)
	if hasLo && x < lo || hasHi && x > hi {
		q := written
		if k.Type == TypeDuration {
			q = strconv.Quote(written)
		}
		var want string
		switch {
		case hasLo && hasHi:
			want = fmt.Sprintf("want %s to %s", k.Min, k.Max)
		case hasLo:
			want = fmt.Sprintf("want at least %s", k.Min)
		default:
			want = fmt.Sprintf("want at most %s", k.Max)
		}
		if x == 0 && k.Default != "" {
			want += fmt.Sprintf(" (leave %s out for the default, %s)", k.Name, k.Default)
		}
		return fmt.Sprintf("%s = %s: %s", k.Name, q, want)
	}
	return ""
}

// bound parses Min or Max in the key's own terms.
func (k *Key) bound(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	if k.Type == TypeDuration {
		d, err := time.ParseDuration(s)
		return float64(d), err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// defaultValue is Default as a TOML value of the key's type, or nil.
func (k *Key) defaultValue() any {
	if k.Default == "" {
		return nil
	}
	switch k.Type {
	case TypeInt, TypeRepeat:
		n, err := strconv.ParseInt(k.Default, 10, 64)
		if err != nil {
			return nil
		}
		return n
	case TypeFloat:
		f, err := strconv.ParseFloat(k.Default, 64)
		if err != nil {
			return nil
		}
		return f
	case TypeBool:
		return k.Default == "true"
	case TypeString, TypeDuration:
		return k.Default
	}
	return nil
}

// Refusal is a value of a key that another key's value rules out: Value
// is refused when Key is Is, because Why.
type Refusal struct {
	Value, Key, Is, Why string
}

// ruleProblems checks the rules between the keys of one table (Excludes,
// AtMost) on its values as the runner would see them. at gives the key
// whose value a problem is reported at.
func (d Decl) ruleProblems(values map[string]any, at func(key, msg string)) {
	for i := range d.Keys {
		k := &d.Keys[i]
		v, set := values[k.Name]
		if !set {
			continue
		}
		if k.Excludes != "" {
			if _, both := values[k.Excludes]; both {
				at(k.Excludes, fmt.Sprintf("give %s or %s, not both", k.Name, k.Excludes))
			}
		}
		if k.When != "" {
			d.whenProblem(k, values, at)
		}
		for _, r := range k.Refuses {
			if v == r.Value && values[r.Key] == r.Is {
				at(k.Name, fmt.Sprintf("%s = %q cannot go with %s = %q: %s", k.Name, r.Value, r.Key, r.Is, r.Why))
			}
		}
		if k.AtMost != "" {
			other := d.Key(k.AtMost)
			if other == nil {
				continue
			}
			ov, ok := values[k.AtMost]
			if !ok {
				ov = other.defaultValue()
			}
			a, aok := number(v)
			b, bok := number(ov)
			if aok && bok && a > b {
				at(k.Name, fmt.Sprintf("%s = %v is above %s = %v: want %s <= %s", k.Name, v, other.Name, ov, k.Name, other.Name))
			}
		}
	}
}

// whenProblem reports key k, which is set, when the key its When names has
// none of the values it applies with.
func (d Decl) whenProblem(k *Key, values map[string]any, at func(key, msg string)) {
	name, want, _ := strings.Cut(k.When, "=")
	ov, ok := values[name]
	if !ok {
		if other := d.Key(name); other != nil {
			ov = other.defaultValue()
		}
	}
	s, ok := ov.(string)
	if !ok && ov != nil {
		s = fmt.Sprint(ov) // a bool or a number, as the declaration writes it
	}
	if allowed := strings.Split(want, "|"); !slices.Contains(allowed, s) {
		at(k.Name, fmt.Sprintf("%s applies to %s = %s only, and this table has %s = %q", k.Name, name, quoteList(allowed), name, s))
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func toFloat(v any) float64 {
	f, _ := number(v)
	return f
}

// fitsType reports whether a param value can stand where type t is wanted.
func fitsType(v any, t Type) bool {
	switch t {
	case TypeInt:
		_, ok := v.(int64)
		return ok
	case TypeFloat:
		_, ok := number(v)
		return ok
	case TypeBool:
		_, ok := v.(bool)
		return ok
	case TypeString, TypeStrings, TypeStringOrStrings, TypeStringMap, TypeDuration:
		_, ok := v.(string)
		return ok
	}
	return true
}

// joinKeys is the declarations a and b together, b's winning on a name
// both declare.
func joinKeys(a, b []Key) []Key {
	out := slices.Clone(a)
	for _, k := range b {
		if i := slices.IndexFunc(out, func(x Key) bool { return x.Name == k.Name }); i >= 0 {
			out[i] = k
			continue
		}
		out = append(out, k)
	}
	return out
}

func keyNames(keys []Key) []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	slices.Sort(names)
	return names
}

func findKey(keys []Key, name string) *Key {
	for i := range keys {
		if keys[i].Name == name {
			return &keys[i]
		}
	}
	return nil
}

// sentence is s with its first letter upper-cased and a full stop, for
// doc tables.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

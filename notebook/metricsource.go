package notebook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// MetricSource declares a metric that a load reads from what its program
// printed, rather than one the tool declares: a key of TypeMetricTable
// holds one per metric name,
//
//	metrics = { compile_rate = { json = "/stats/rate", unit = "files/s", better = "higher" } }
//
// Exactly one of JSON and Regex is set.
type MetricSource struct {
	// JSON is a JSON pointer (RFC 6901, like "/stats/rate") to a number in
	// the program's standard output.
	JSON string
	// Regex is a regular expression with exactly one group, matched on the
	// standard output; the group's first match is the number.
	Regex  string
	Unit   string // "files/s", "ms"; "" for a count
	Better string // BetterHigher, BetterLower or ""
	Doc    string
}

// metricSourceKeys are the keys of one entry of a metrics table.
var metricSourceKeys = []string{"json", "regex", "unit", "better", "doc"}

// metricNameRE is what a declared metric may be called: like the metrics
// tools declare, so that claims (guest.metric) and plots can name it.
var metricNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// metricTableProblem says why m is not a table of metric sources (the
// problem of each entry that has one), or "".
func metricTableProblem(key string, m map[string]any) string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if msg := metricSourceProblem(key, name, m[name]); msg != "" {
			problems = append(problems, msg)
		}
	}
	return strings.Join(problems, "; ")
}

func metricSourceProblem(key, name string, v any) string {
	at := key + "." + name
	if !metricNameRE.MatchString(name) {
		return fmt.Sprintf("%s: a metric name is lowercase letters, digits and _, starting with a letter, like compile_rate", at)
	}
	e, ok := v.(map[string]any)
	if !ok {
		return fmt.Sprintf(`%s must be a table like { json = "/stats/rate" } or { regex = "rate: ([0-9.]+)" }, not %s`, at, typeName(v))
	}
	for _, k := range slices.Sorted(maps.Keys(e)) {
		if !slices.Contains(metricSourceKeys, k) {
			return fmt.Sprintf("%s: unknown key %q%s; want json or regex, and unit, better, doc", at, k, didYouMean(k, metricSourceKeys))
		}
		if _, isStr := e[k].(string); !isStr {
			return fmt.Sprintf("%s.%s must be a string, not %s", at, k, typeName(e[k]))
		}
	}
	ptr, hasJSON := e["json"].(string)
	re, hasRegex := e["regex"].(string)
	switch {
	case hasJSON == hasRegex:
		return fmt.Sprintf(`%s: give json = "/pointer" or regex = "...", exactly one of them`, at)
	case hasJSON:
		if err := CheckJSONPointer(ptr); err != nil {
			return fmt.Sprintf("%s.json %q: %v", at, ptr, err)
		}
	case hasRegex:
		compiled, err := regexp.Compile(re)
		if err != nil {
			return fmt.Sprintf("%s.regex %q: %v", at, re, err)
		}
		if n := compiled.NumSubexp(); n != 1 {
			return fmt.Sprintf("%s.regex %q has %d groups: want exactly one, around the number, like \"rate: ([0-9.]+)\" (use (?:...) for the others)", at, re, n)
		}
	}
	if b, ok := e["better"].(string); ok && b != BetterHigher && b != BetterLower {
		return fmt.Sprintf("%s.better = %q: want \"higher\" or \"lower\" (leave it out when neither is better)", at, b)
	}
	return ""
}

// CheckJSONPointer checks the syntax of an RFC 6901 pointer: "" (the whole
// document) or "/"-separated tokens in which ~ is only ~0 or ~1.
func CheckJSONPointer(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf(`a JSON pointer starts with "/", like "/stats/rate"`)
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || p[i+1] != '0' && p[i+1] != '1') {
			return fmt.Errorf(`"~" must be written ~0, and "/" inside a name ~1`)
		}
	}
	return nil
}

// metricSources decodes a checked metrics table.
func metricSources(m map[string]any) map[string]MetricSource {
	out := make(map[string]MetricSource, len(m))
	for name, v := range m {
		e, _ := v.(map[string]any)
		str := func(key string) string { s, _ := e[key].(string); return s }
		out[name] = MetricSource{JSON: str("json"), Regex: str("regex"), Unit: str("unit"), Better: str("better"), Doc: str("doc")}
	}
	return out
}

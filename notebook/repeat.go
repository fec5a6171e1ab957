package notebook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RepeatRule is an adaptive repeat = { min, max, target, budget }: the
// runner measures every guest in rounds until the 95 % confidence interval
// of each guest's median of the cell's primary metric is within ±Target of
// that median at every sweep point, or Budget is spent, or Max rounds are
// done; never fewer than Min.
type RepeatRule struct {
	Min    int
	Max    int
	Target float64       // a fraction: 0.02 for "2%"; 0 when not set
	Budget time.Duration // 0 when not set
}

// MinRepeatsForCI is the fewest repeats whose median has a 95 %
// confidence interval from order statistics (results.MinRepeatsForCI,
// which this package cannot import; a test keeps the two equal). A target
// cannot be judged on fewer: the interval there is min..max, covering the
// median with less than 95 % probability.
const MinRepeatsForCI = 6

// maxRepeat bounds repeat, as an integer or as an adaptive rule's max.
const maxRepeat = 1000

// repeatKeys are the keys of an adaptive repeat table.
var repeatKeys = []Key{
	{Name: "min", Type: TypeInt, Default: strconv.Itoa(MinRepeatsForCI), Min: "1", Max: strconv.Itoa(maxRepeat), Doc: "rounds always run, whatever the target and the budget"},
	{Name: "max", Type: TypeInt, Required: true, Min: "1", Max: strconv.Itoa(maxRepeat), Doc: "rounds at most"},
	{Name: "target", Type: TypeString, Pattern: `^[0-9]+(\.[0-9]+)?\s*%$`, Help: `want a percent like "2%"`, Doc: "stop once every guest's 95 % interval of its median is within ± this of the median"},
	{Name: "budget", Type: TypeDuration, Min: "1s", Doc: "stop starting rounds once this much time is spent (the cell's, shared by its sweep points)"},
}

// repeatHelp shows the table form in messages.
const repeatHelp = `repeat = { min = 6, max = 40, target = "2%", budget = "10m" }`

// repeat reads a bench cell's repeat key into c: a fixed count (3 when
// absent) or an adaptive rule, whose max bounds c.Repeat.
func (p *parser) repeat(c *Cell, cellPath []string, v any) {
	c.Repeat = 3
	switch x := v.(type) {
	case int64:
		c.Repeat = int(x) // its range is checked with its key
	case map[string]any:
		path := append(slices.Clone(cellPath), "repeat")
		p.checkKeys(path, x, repeatKeys, "in repeat (keys: min, max, target, budget)")
		rule, ok := p.repeatRule(path, x)
		if ok {
			c.Adaptive = rule
			c.Repeat = rule.Max
		}
	}
}

// repeatRule checks an adaptive repeat table beyond its keys' own checks
// (done by checkKeys) and returns it.
func (p *parser) repeatRule(path []string, m map[string]any) (*RepeatRule, bool) {
	at := func(key string) []string { return append(slices.Clone(path), key) }
	rule := &RepeatRule{Min: MinRepeatsForCI}
	if n, ok := m["min"].(int64); ok {
		rule.Min = int(n)
	}
	n, hasMax := m["max"].(int64)
	if !hasMax {
		if _, written := m["max"]; !written {
			p.errKey(path, "repeat needs max, the most rounds it may run: %s", repeatHelp)
		}
		return nil, false
	}
	rule.Max = int(n)
	target, validTarget := "", false
	if s, ok := m["target"].(string); ok {
		target = s
		rule.Target, validTarget = percent(s)
	}
	if s, ok := m["budget"].(string); ok {
		rule.Budget, _ = time.ParseDuration(s)
	}
	ok := true
	fail := func(key, format string, args ...any) {
		p.errVal(at(key), format, args...)
		ok = false
	}
	_, hasTarget := m["target"]
	_, hasBudget := m["budget"]
	switch {
	case !hasTarget && !hasBudget:
		p.errKey(path, "repeat = { ... } without target or budget runs max rounds: give a target or a budget, or write repeat = %d for a fixed count", rule.Max)
		ok = false
	case rule.Max < rule.Min:
		fail("max", "repeat.max = %d is below min = %d: want max >= min", rule.Max, rule.Min)
	case validTarget && rule.Target <= 0:
		fail("target", "repeat.target = %q: want a percent above 0, like \"2%%\"", target)
	case hasTarget && rule.Min >= 1 && rule.Min < MinRepeatsForCI:
		fail("min", "repeat.min = %d: a target needs min >= %d, the fewest repeats whose median has a 95 %% confidence interval (below %d the interval is min..max, which covers the median less often)", rule.Min, MinRepeatsForCI, MinRepeatsForCI)
	}
	return rule, ok
}

// percent parses "2%" or "2.5 %" into a fraction.
func percent(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(s), "%") {
		return 0, false
	}
	return f / 100, true
}

// String is the rule in words, for a report's setup line: "6 to 40
// repeats until ±2 % (budget 10m)".
func (r *RepeatRule) String() string {
	s := fmt.Sprintf("%d to %d repeats", r.Min, r.Max)
	if r.Target > 0 {
		s += " until ±" + strconv.FormatFloat(r.Target*100, 'g', -1, 64) + " %"
	}
	if r.Budget > 0 {
		s += " (budget " + shortDuration(r.Budget) + ")"
	}
	return s
}

// shortDuration writes 10m0s as 10m and 1h30m0s as 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

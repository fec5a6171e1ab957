package results

import (
	"fmt"
	"math"
	"strings"

	"github.com/benchbook/benchbook/notebook"
)

// ClaimResult is a claim judged against stored results.
//
// Holds compares the medians. Significant says whether the 95 % confidence
// intervals of the two sides are apart: a claim that holds by its medians
// but whose intervals overlap is "not significant" -- the data do not
// contradict it, but do not support it either.
type ClaimResult struct {
	Claim       *notebook.Claim
	Known       bool // false: a figure is missing (failed or skipped guest, no results)
	Holds       bool
	Significant bool
	Left, Right float64 // the two sides, from the medians
	Point       string  // the sweep point it failed at, if any
	Detail      string  // why it is unknown, or the figures
}

// Status is "pass", "fail", "pass, not significant", "fail, not
// significant" or "unknown".
func (r ClaimResult) Status() string {
	switch {
	case !r.Known:
		return "unknown"
	case r.Holds && r.Significant:
		return "pass"
	case r.Holds:
		return "pass, not significant"
	case r.Significant:
		return "fail"
	}
	return "fail, not significant"
}

// Failed reports whether the data contradict the claim (by its medians).
func (r ClaimResult) Failed() bool { return r.Known && !r.Holds }

// interval is a median with its confidence interval.
type interval struct{ mid, lo, hi float64 }

// EvalClaim judges c at every point of f; it fails if it fails at any point.
func EvalClaim(c *notebook.Claim, f *File) ClaimResult {
	res := ClaimResult{Claim: c}
	points := 0
	for _, g := range f.Guests {
		points = max(points, len(g.Points))
	}
	if points == 0 {
		res.Detail = "no stored figures"
		return res
	}
	var first *ClaimResult
	for pi := 0; pi < points; pi++ {
		r := evalAt(c, f, pi)
		if !r.Known {
			return r
		}
		if first == nil {
			first = &r
		}
		if !r.Holds || !r.Significant {
			return r
		}
	}
	return *first
}

func evalAt(c *notebook.Claim, f *File, pi int) ClaimResult {
	res := ClaimResult{Claim: c}
	var missing []string
	lookup := func(ref notebook.Ref) (interval, bool) {
		g := f.Guest(ref.Guest)
		if g == nil {
			missing = append(missing, ref.Guest+" was not run")
			return interval{}, false
		}
		if g.Status != StatusOK {
			missing = append(missing, fmt.Sprintf("%s %s", ref.Guest, g.Status))
			return interval{}, false
		}
		if pi >= len(g.Points) {
			missing = append(missing, ref.Guest+" has no such point")
			return interval{}, false
		}
		if res.Point == "" {
			res.Point = PointLabel(g.Points[pi].Params)
		}
		s, ok := g.Points[pi].Summary[ref.Metric]
		if !ok || s.N == 0 {
			missing = append(missing, fmt.Sprintf("%s has no %s", ref.Guest, ref.Metric))
			return interval{}, false
		}
		return interval{s.Median, s.CILow, s.CIHigh}, true
	}
	l, okL := eval(c.Left, lookup)
	r, okR := eval(c.Right, lookup)
	if !okL || !okR {
		res.Detail = strings.Join(dedupe(missing), "; ")
		if res.Detail == "" {
			res.Detail = "division by an interval that contains zero"
		}
		return res
	}
	res.Known = true
	res.Left, res.Right = l.mid, r.mid
	switch c.Op {
	case ">":
		res.Holds, res.Significant = l.mid > r.mid, l.lo > r.hi || l.hi < r.lo
	case ">=":
		res.Holds, res.Significant = l.mid >= r.mid, l.lo > r.hi || l.hi < r.lo
	case "<":
		res.Holds, res.Significant = l.mid < r.mid, l.hi < r.lo || l.lo > r.hi
	case "<=":
		res.Holds, res.Significant = l.mid <= r.mid, l.hi < r.lo || l.lo > r.hi
	}
	res.Detail = fmt.Sprintf("%s vs %s", num(l.mid), num(r.mid))
	if res.Point != "" {
		res.Detail += " at " + res.Point
	}
	return res
}

// eval computes an expression with interval arithmetic, so the bounds say
// how far the data let each side move.
func eval(e notebook.Expr, lookup func(notebook.Ref) (interval, bool)) (interval, bool) {
	switch x := e.(type) {
	case notebook.Num:
		return interval{x.Value, x.Value, x.Value}, true
	case notebook.Ref:
		return lookup(x)
	case notebook.Bin:
		a, okA := eval(x.L, lookup)
		b, okB := eval(x.R, lookup)
		if !okA || !okB {
			return interval{}, false
		}
		switch x.Op {
		case '+':
			return interval{a.mid + b.mid, a.lo + b.lo, a.hi + b.hi}, true
		case '-':
			return interval{a.mid - b.mid, a.lo - b.hi, a.hi - b.lo}, true
		case '*':
			lo, hi := span(a.lo*b.lo, a.lo*b.hi, a.hi*b.lo, a.hi*b.hi)
			return interval{a.mid * b.mid, lo, hi}, true
		case '/':
			if b.lo <= 0 && b.hi >= 0 {
				return interval{}, false
			}
			lo, hi := span(a.lo/b.lo, a.lo/b.hi, a.hi/b.lo, a.hi/b.hi)
			return interval{a.mid / b.mid, lo, hi}, true
		}
	}
	return interval{}, false
}

func span(xs ...float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func num(x float64) string {
	if math.Abs(x) >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.3g", x)
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

package results

import (
	"fmt"
	"math"
	"strings"

	"github.com/benchbook/benchbook/notebook"
)

// ClaimResult is a claim judged against stored results.
//
// Each figure is a median with a 95 % interval (see figureInterval), and
// each side of the claim an interval by interval arithmetic. The claim
// passes when the sides' intervals are apart the way it says, fails when
// they are apart the other way, and is inconclusive when they overlap or a
// figure has no spread to judge by (one repeat on a machine without a
// noise floor): then the data neither support nor contradict it.
type ClaimResult struct {
	Claim       *notebook.Claim
	Known       bool    // false: a figure is missing (failed or skipped guest, no results)
	Holds       bool    // by the medians
	Significant bool    // the intervals decide it, one way or the other
	Left, Right float64 // the two sides, from the medians
	Point       string  // the sweep point it was judged at, if any
	Detail      string  // why it is unknown or inconclusive, or the figures
}

// Claim statuses.
const (
	ClaimPass         = "pass"
	ClaimFail         = "fail"
	ClaimInconclusive = "inconclusive"
	ClaimUnknown      = "unknown"
)

// Status is "pass", "fail", "inconclusive" or "unknown".
func (r ClaimResult) Status() string {
	switch {
	case !r.Known:
		return ClaimUnknown
	case !r.Significant:
		return ClaimInconclusive
	case r.Holds:
		return ClaimPass
	}
	return ClaimFail
}

// Test verdicts: a claim of a check cell in test mode is reported, never
// failed.
const (
	TestSupported    = "supported"
	TestNotSupported = "not supported"
)

// Verdict is Status in the words of the check cell's mode: for a test,
// "supported" and "not supported" stand for pass and fail.
func (r ClaimResult) Verdict(mode string) string {
	s := r.Status()
	if mode != notebook.ModeTest {
		return s
	}
	switch s {
	case ClaimPass:
		return TestSupported
	case ClaimFail:
		return TestNotSupported
	}
	return s
}

// Failed reports whether the data contradict the claim: its sides'
// intervals are apart, the wrong way.
func (r ClaimResult) Failed() bool { return r.Status() == ClaimFail }

// interval is a median with its confidence interval; loose when a figure
// in it had no spread to judge by.
type interval struct {
	mid, lo, hi float64
	loose       bool
}

// EvalClaim judges c at every point of f (with "up to", at every point
// within it): it fails if it fails at any point, is inconclusive if it is
// at any other, and passes if it passes at every one.
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
	judged, past := upToPoints(c.UpTo, f, points)
	if len(judged) == 0 {
		res.Detail = fmt.Sprintf("no stored point has %s at most %g", c.UpTo.Param, c.UpTo.Value)
		return res
	}
	var first, weak *ClaimResult
	for _, pi := range judged {
		r := evalAt(c, f, pi)
		switch {
		case !r.Known || r.Failed():
			return r
		case weak == nil && !r.Significant:
			weak = &r
		case first == nil:
			first = &r
		}
	}
	out := first
	if weak != nil {
		out = weak
	}
	if c.UpTo != nil {
		out.Detail += upToDetail(c, f, len(judged), past)
	}
	return *out
}

// upToDetail says over how many points an "up to" claim was judged, and
// how it fares at the first point past its limit, which places the knee.
func upToDetail(c *notebook.Claim, f *File, n, past int) string {
	u := c.UpTo
	d := fmt.Sprintf(" (judged at the %d points with %s <= %g", n, u.Param, u.Value)
	if past < 0 {
		return d + ")"
	}
	r := evalAt(&notebook.Claim{Text: c.Text, Op: c.Op, Left: c.Left, Right: c.Right}, f, past)
	words := map[string]string{ClaimPass: "holds too", ClaimFail: "does not hold", ClaimInconclusive: "is inconclusive", ClaimUnknown: "is unknown"}[r.Status()]
	at, _, _ := strings.Cut(r.Detail, ":")
	return fmt.Sprintf("%s; past it, it %s: %s)", d, words, at)
}

func evalAt(c *notebook.Claim, f *File, pi int) ClaimResult {
	res := ClaimResult{Claim: c}
	var missing, loose []string
	fixed := pinnedByAll(c, f)
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
		at, msg := pointOf(g, ref, pi)
		if msg != "" {
			missing = append(missing, msg)
			return interval{}, false
		}
		if res.Point == "" && pi < len(g.Points) {
			res.Point = PointLabel(without(g.Points[pi].Params, fixed))
		}
		s, ok := g.Points[at].Summary[ref.Metric]
		if !ok || s.N == 0 {
			missing = append(missing, fmt.Sprintf("%s has no %s", ref.Guest, ref.Metric))
			return interval{}, false
		}
		iv := figureInterval(s, f.NoiseSpread(ref.Metric))
		if iv.loose {
			loose = append(loose, ref.String())
		}
		return iv, true
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
	pass, fail := decide(c.Op, l, r)
	res.Significant = (pass || fail) && !l.loose && !r.loose
	res.Holds = pass || (!fail && medianHolds(c.Op, l.mid, r.mid))
	res.Detail = fmt.Sprintf("%s vs %s", num(l.mid), num(r.mid))
	if res.Point != "" {
		res.Detail += " at " + res.Point
	}
	switch {
	case len(loose) > 0:
		res.Detail += fmt.Sprintf(": no spread to judge %s by (one repeat): run more repeats, or benchbook calibrate this machine", strings.Join(dedupe(loose), ", "))
	case !res.Significant:
		res.Detail += fmt.Sprintf(": the 95 %% intervals overlap (%s to %s vs %s to %s)", num(l.lo), num(l.hi), num(r.lo), num(r.hi))
	}
	return res
}

// decide says whether the sides' intervals are apart the way op says
// (pass) or the other way (fail); neither when they overlap or touch.
// Apart is strict whatever the operator: intervals that meet at a point
// do not tell the sides apart.
func decide(op string, l, r interval) (pass, fail bool) {
	above, below := l.lo > r.hi, l.hi < r.lo
	switch op {
	case ">", ">=":
		return above, below
	case "<", "<=":
		return below, above
	}
	return false, false
}

func medianHolds(op string, l, r float64) bool {
	switch op {
	case ">":
		return l > r
	case ">=":
		return l >= r
	case "<":
		return l < r
	case "<=":
		return l <= r
	}
	return false
}

// medianEfficiency is how much more the median of normal repeats scatters
// than their mean (sqrt(pi/2)); z95 is the normal 97.5 % quantile.
const (
	medianEfficiency = 1.2533
	z95              = 1.96
)

// t95 are Student's 97.5 % quantiles for 1..4 degrees of freedom: the
// interval of the mean of 2..5 repeats.
var t95 = [...]float64{12.706, 4.303, 3.182, 2.776}

// figureInterval is a figure's 95 % interval for claims. From 6 repeats
// on it is the distribution-free interval of the median the summary
// holds. With 2 to 5 repeats, which have none, it is the median ± t ×
// 1.25 × stddev / √n (Student's t for n-1 degrees of freedom; 1.25: a
// median scatters that much more than a mean). One repeat has no spread:
// the interval is loose (the claim inconclusive) unless the machine's
// noise floor gives one. A known floor (the relative stddev of one repeat)
// widens every interval to at least median ± 1.96 × 1.25 × floor × |median|
// / √n: the floor only ever makes a claim more cautious.
func figureInterval(s Summary, floor float64) interval {
	m, n := s.Median, float64(s.N)
	iv := interval{mid: m, lo: s.CILow, hi: s.CIHigh}
	sd := math.Max(s.Stddev, floor*math.Abs(m))
	switch {
	case s.CIExact:
	case s.N == 1 && floor == 0:
		return interval{mid: m, lo: m, hi: m, loose: true}
	case s.N == 1:
		iv.lo, iv.hi = m-z95*sd, m+z95*sd
		return iv
	default:
		h := t95[min(s.N, len(t95)+1)-2] * medianEfficiency * sd / math.Sqrt(n)
		iv.lo, iv.hi = m-h, m+h
	}
	if floor > 0 {
		h := z95 * medianEfficiency * floor * math.Abs(m) / math.Sqrt(n)
		iv.lo, iv.hi = math.Min(iv.lo, m-h), math.Max(iv.hi, m+h)
	}
	return iv
}

// eval computes an expression with interval arithmetic, so the bounds say
// how far the data let each side move.
func eval(e notebook.Expr, lookup func(notebook.Ref) (interval, bool)) (interval, bool) {
	switch x := e.(type) {
	case notebook.Num:
		return interval{mid: x.Value, lo: x.Value, hi: x.Value}, true
	case notebook.Ref:
		return lookup(x)
	case notebook.Bin:
		a, okA := eval(x.L, lookup)
		b, okB := eval(x.R, lookup)
		if !okA || !okB {
			return interval{}, false
		}
		loose := a.loose || b.loose
		switch x.Op {
		case '+':
			return interval{a.mid + b.mid, a.lo + b.lo, a.hi + b.hi, loose}, true
		case '-':
			return interval{a.mid - b.mid, a.lo - b.hi, a.hi - b.lo, loose}, true
		case '*':
			lo, hi := span(a.lo*b.lo, a.lo*b.hi, a.hi*b.lo, a.hi*b.hi)
			return interval{a.mid * b.mid, lo, hi, loose}, true
		case '/':
			if b.lo <= 0 && b.hi >= 0 {
				return interval{}, false
			}
			lo, hi := span(a.lo/b.lo, a.lo/b.hi, a.hi/b.lo, a.hi/b.hi)
			return interval{a.mid / b.mid, lo, hi, loose}, true
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

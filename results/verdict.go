package results

import (
	"fmt"
	"math"
)

// Verdict is what a comparison says of a figure: it holds, it moved, or
// the data cannot tell.
type Verdict string

// Verdicts.
const (
	Holds        Verdict = "holds"        // within what the noise explains, and the test could have seen a change
	Moved        Verdict = "moved"        // p < alpha: changed beyond the noise
	Inconclusive Verdict = "inconclusive" // too few repeats, too much noise, or a change the test does not confirm
	NotCompared  Verdict = "n/a"          // one run lacks the figure
)

// DefaultTolerance is the largest minimum detectable effect at which a
// figure may be said to hold: a comparison that cannot see changes under
// 10 % says nothing about a figure someone published.
const DefaultTolerance = 0.10

// Rule is how a comparison is judged.
type Rule struct {
	Alpha     float64 // p below it: moved
	Tolerance float64 // the largest MDE at which a figure may hold (0: DefaultTolerance)
}

// DefaultRule is α = 0.05 and a 10 % tolerance.
func DefaultRule() Rule { return Rule{Alpha: Alpha, Tolerance: DefaultTolerance} }

// judge sets the verdict of a comparison whose values are in, and the note
// that says why:
//
//  1. moved when p < alpha;
//  2. inconclusive when these repeat counts cannot give p < alpha at all
//     (3 + 3 repeats: p ≥ 0.1), however large the change;
//  3. inconclusive when the MDE -- the change these repeats show in 80 %
//     of comparisons at the spread judged by -- is over the tolerance:
//     too noisy to vouch for the figure;
//  4. inconclusive when the change is at least the MDE, or either median
//     lies outside the other's 95 % interval: a change the noise does not
//     explain, which the test did not confirm either;
//  5. holds otherwise.
//
// The spread judged by is the larger of the two runs' pooled coefficient
// of variation and the noise floor of the machines they ran on (floor, 0
// when unknown): a floor only ever makes the verdict more cautious.
func (c *Comparison) judge(rule Rule, floor float64) {
	if rule.Tolerance == 0 {
		rule.Tolerance = DefaultTolerance
	}
	n1, n2 := len(c.Old), len(c.New)
	so, sn := Summarize(c.Old), Summarize(c.New)
	c.Floor = floor
	c.Spread = math.Max(PooledCV(so, sn), floor)
	c.MDE = MDE(n1, n2, c.Spread, rule.Alpha)
	switch {
	case c.P < rule.Alpha:
		c.Verdict, c.Moved = Moved, true
	case c.MinP >= rule.Alpha:
		need := RepeatsToShow(rule.Alpha)
		c.Verdict = Inconclusive
		c.Note = fmt.Sprintf("%d + %d repeats cannot show a change at α = %g (p ≥ %.3f): run at least %d + %d", n1, n2, rule.Alpha, c.MinP, need, need)
	case math.IsNaN(c.Delta):
		c.Verdict, c.Note = Inconclusive, "the stored median is 0: no relative change to judge"
	case c.MDE > rule.Tolerance:
		c.Verdict = Inconclusive
		c.Note = fmt.Sprintf("too noisy: only changes over %s would show at %d + %d repeats (spread %s%s; tolerance %s)",
			Pct(c.MDE), n1, n2, Pct(c.Spread), c.floorNote(), Pct(rule.Tolerance))
	case c.Delta != 0 && math.Abs(c.Delta) >= c.MDE:
		c.Verdict = Inconclusive
		c.Note = fmt.Sprintf("%+.1f%% is more than the noise explains (changes over %s should show) but p = %.3f: run more repeats", c.Delta*100, Pct(c.MDE), c.P)
	case !inside(sn.Median, so) || !inside(so.Median, sn):
		c.Verdict = Inconclusive
		c.Note = fmt.Sprintf("the medians lie outside each other's intervals but p = %.3f: run more repeats", c.P)
	default:
		c.Verdict = Holds
		c.Note = fmt.Sprintf("changes over %s would show%s", Pct(c.MDE), c.floorNote())
	}
}

// floorNote says when the machine's noise floor, not the runs' own
// spread, set the resolution.
func (c *Comparison) floorNote() string {
	if c.Floor > 0 && c.Floor >= c.Spread {
		return ", this machine's noise floor"
	}
	return ""
}

// inside reports whether x is within s's interval of the median.
func inside(x float64, s Summary) bool { return x >= s.CILow && x <= s.CIHigh }

// RepeatsToShow is the smallest number of repeats per side whose
// comparison can give p below alpha (4 at 0.05).
func RepeatsToShow(alpha float64) int {
	for n := 1; n < 1000; n++ {
		if MinPValue(n, n) < alpha {
			return n
		}
	}
	return 1000
}

// Pct formats a fraction as a percentage for notes: "4.1 %", "23 %".
func Pct(x float64) string {
	switch a := math.Abs(x * 100); {
	case math.IsInf(x, 0) || math.IsNaN(x):
		return "n/a"
	case a >= 10:
		return fmt.Sprintf("%.0f %%", x*100)
	case a >= 1:
		return fmt.Sprintf("%.1f %%", x*100)
	}
	return fmt.Sprintf("%.2f %%", x*100)
}

package results

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Confidence is the confidence level of Summary.CILow..CIHigh.
const Confidence = 0.95

// CVThreshold is the coefficient of variation above which a summary warns
// of high variance: beyond 5% a difference of a few percent between guests
// is noise.
const CVThreshold = 0.05

// Summary describes the repeats of one metric at one point.
//
// The centre is the median and its confidence interval is distribution-free
// (from order statistics, as benchstat does): benchmark figures are rarely
// normal, and a few slow runs must not drag the centre.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"` // sample standard deviation (n-1); 0 for n < 2
	// CV is the coefficient of variation, Stddev/|Mean|, as a fraction
	// (0.05 is 5%). It is 0 when Mean is 0.
	CV float64 `json:"cv"`
	// CILow and CIHigh bound the median. When CIExact is true they are order
	// statistics covering the population median with probability CILevel >=
	// Confidence. With too few repeats for that (n < 6 at 95%) CIExact is
	// false, the interval is [Min, Max], and CILevel says how much it really
	// covers (e.g. 0.75 for n = 3).
	CILow   float64 `json:"ci_low"`
	CIHigh  float64 `json:"ci_high"`
	CILevel float64 `json:"ci_level"`
	CIExact bool    `json:"ci_exact"`
	// Outliers counts values beyond Tukey's fences (1.5 IQR outside the
	// quartiles); only counted from 5 values on.
	Outliers int    `json:"outliers,omitempty"`
	Warning  string `json:"warning,omitempty"` // e.g. "high variance: CV 7.2% > 5%"
}

// CINote explains an interval that is not a full confidence interval, for a
// footnote; it is empty when CIExact is true or there are no values.
func (s Summary) CINote() string {
	if s.CIExact || s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d repeats are too few for a %.0f%% interval of the median (need %d); the range shown is min..max, which covers it with probability %.1f%%",
		s.N, Confidence*100, MinRepeatsForCI(), s.CILevel*100)
}

// Summarize computes the summary of xs, which it leaves untouched. An empty
// xs gives the zero Summary.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	v := slices.Clone(xs)
	slices.Sort(v)

	s := Summary{N: n, Min: v[0], Max: v[n-1], Median: quantile(v, 0.5)}
	var sum float64
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(n)
	if n > 1 {
		var ss float64
		for _, x := range v {
			d := x - s.Mean
			// The conversion forbids fusing into an FMA, which some
			// architectures would do, so every machine gets the same bits.
			ss += float64(d * d)
		}
		s.Stddev = math.Sqrt(ss / float64(n-1))
	}
	if s.Mean != 0 {
		s.CV = s.Stddev / math.Abs(s.Mean)
	}

	lo, level, ok := medianCI(n, Confidence)
	s.CILevel, s.CIExact = level, ok
	if ok {
		s.CILow, s.CIHigh = v[lo-1], v[n-lo]
	} else {
		s.CILow, s.CIHigh = s.Min, s.Max
	}

	s.Outliers = outliers(v)
	var warn []string
	if s.CV > CVThreshold {
		warn = append(warn, fmt.Sprintf("high variance: CV %.1f%% > %.0f%%", s.CV*100, CVThreshold*100))
	}
	if s.Mean == 0 && s.Stddev != 0 {
		warn = append(warn, "mean is 0: CV undefined")
	}
	if s.Outliers > 0 {
		w := "1 outlier"
		if s.Outliers > 1 {
			w = fmt.Sprintf("%d outliers", s.Outliers)
		}
		warn = append(warn, w+" beyond 1.5 IQR")
	}
	s.Warning = strings.Join(warn, "; ")
	return s
}

// Summarize replaces p.Summary with a summary of every metric present in any
// repeat. A metric missing from some repeats is summarized over the repeats
// that have it, so N shows the gap.
func (p *Point) Summarize() {
	vals := map[string][]float64{}
	for _, r := range p.Repeats {
		for name, x := range r.Metrics {
			vals[name] = append(vals[name], x)
		}
	}
	p.Summary = make(map[string]Summary, len(vals))
	for name, xs := range vals {
		p.Summary[name] = Summarize(xs)
	}
}

// quantile interpolates linearly between order statistics of the sorted v
// (Hyndman and Fan type 7, what R and numpy do by default).
func quantile(v []float64, q float64) float64 {
	h := q * float64(len(v)-1)
	i := int(math.Floor(h))
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[i] + float64((h-float64(i))*(v[i+1]-v[i])) // no FMA, as in Summarize
}

// outliers counts values of the sorted v outside Tukey's fences. Fewer than
// five values have no meaningful quartiles, and a zero IQR (most values
// identical) would flag any deviation at all, which the CV judges better.
func outliers(v []float64) int {
	if len(v) < 5 {
		return 0
	}
	q1, q3 := quantile(v, 0.25), quantile(v, 0.75)
	iqr := q3 - q1
	if iqr == 0 {
		return 0
	}
	lo, hi := q1-1.5*iqr, q3+1.5*iqr
	n := 0
	for _, x := range v {
		if x < lo || x > hi {
			n++
		}
	}
	return n
}

// medianCI returns the 1-based order statistic k such that the sorted sample
// x(k)..x(n-k+1) covers the population median with probability level >=
// confidence, choosing the narrowest such interval. The number of sample
// values below the median is Binomial(n, 1/2), so
//
//	level = 1 - 2 P(B <= k-1).
//
// ok is false when even [x(1), x(n)] falls short; k is then 1 and level
// the coverage of the whole range.
func medianCI(n int, confidence float64) (k int, level float64, ok bool) {
	if n == 0 {
		return 0, 0, false
	}
	tail := (1 - confidence) / 2
	cdf := 0.0 // P(B <= k-1)
	k = 0
	for j := 0; j <= (n-1)/2; j++ {
		next := cdf + binomHalfPMF(n, j)
		if next > tail {
			break
		}
		cdf = next
		k = j + 1
	}
	if k == 0 {
		return 1, 1 - 2*binomHalfPMF(n, 0), false
	}
	return k, 1 - 2*cdf, true
}

// binomHalfPMF is P(B = j) for B ~ Binomial(n, 1/2), in log space so that
// large n neither overflows the binomial coefficient nor underflows 2^-n
// early.
func binomHalfPMF(n, j int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Exp(lg(n) - lg(j) - lg(n-j) - float64(n)*math.Ln2)
}

// MinRepeatsForCI is the smallest number of repeats whose median has a
// confidence interval at the Confidence level (6 at 95%).
func MinRepeatsForCI() int {
	for n := 1; ; n++ {
		if _, _, ok := medianCI(n, Confidence); ok {
			return n
		}
	}
}

package results

import (
	"math"
	"slices"
	"sync"
)

// Power is how often a change of the minimum detectable effect shows
// (p below alpha): the usual 80 %.
const Power = 0.8

// mdeTrials is how many simulated pairs of samples MDE draws: the power it
// estimates is then within about 1 % of the true one.
const mdeTrials = 4000

// MDE is the minimum detectable effect of a comparison of n1 repeats with
// n2 repeats by the Mann-Whitney U test at level alpha: the smallest shift
// of the median, as a fraction of it, that shows (p < alpha) in Power of
// such comparisons when each repeat scatters normally with relative
// standard deviation spread (0.02: 2 %). Changes below it are noise at
// these sizes: they show less often than that, if at all.
//
// It is +Inf when n1 against n2 repeats cannot show any change
// (MinPValue ≥ alpha) or the spread is not a finite positive number it
// can scale, and 0 when spread is 0. The figure comes from a simulation
// with a fixed seed, so it is the same on every call and every machine.
func MDE(n1, n2 int, spread, alpha float64) float64 {
	switch {
	case n1 < 1 || n2 < 1 || !(alpha > 0 && alpha < 1) || MinPValue(n1, n2) >= alpha:
		return math.Inf(1)
	case spread == 0:
		return 0
	case !(spread > 0) || math.IsInf(spread, 0):
		return math.Inf(1)
	}
	return spread * mdeUnits(n1, n2, alpha)
}

type mdeKey struct {
	n1, n2 int
	alpha  float64
}

// mdeMemo keeps mdeUnits per sizes and level: a site's reports share a
// few of them, and each costs milliseconds.
var mdeMemo sync.Map // mdeKey -> float64

// mdeUnits is the MDE in standard deviations of one repeat: the smallest
// shift d whose simulated power reaches Power. The same simulated samples
// serve every d tried, so the power grows with d and bisection finds it.
func mdeUnits(n1, n2 int, alpha float64) float64 {
	key := mdeKey{n1, n2, alpha}
	if d, ok := mdeMemo.Load(key); ok {
		return d.(float64)
	}
	c := criticalU(n1, n2, alpha)
	xs, ys := simulatedSamples(n1, n2)
	power := func(d float64) float64 {
		hits := 0
		for t := range xs {
			if u := shiftedU(xs[t], ys[t], d); u <= c || u >= n1*n2-c {
				hits++
			}
		}
		return float64(hits) / float64(len(xs))
	}
	hi := 1.0
	for power(hi) < Power {
		if hi *= 2; hi > 1e6 {
			mdeMemo.Store(key, math.Inf(1))
			return math.Inf(1)
		}
	}
	lo := 0.0
	for i := 0; i < 40; i++ {
		mid := (lo + hi) / 2
		if power(mid) >= Power {
			hi = mid
		} else {
			lo = mid
		}
	}
	mdeMemo.Store(key, hi)
	return hi
}

// criticalU is the largest u such that a U of u or less (or n1*n2-u or
// more) has p below alpha; MannWhitneyU's p-value for samples without
// ties: exact up to exactLimit values, the normal approximation beyond.
// It is -1 when no U reaches alpha.
func criticalU(n1, n2 int, alpha float64) int {
	pOf := func(u int) float64 { return normalP(float64(u), n1, n2, nil) }
	if n1+n2 <= exactLimit {
		cdf := uCDF(n1, n2)
		pOf = func(u int) float64 { return math.Min(1, 2*cdf[u]) }
	}
	c := -1
	for u := 0; 2*u <= n1*n2 && pOf(u) < alpha; u++ {
		c = u
	}
	return c
}

// uCDF is P(U ≤ u) for u = 0..n1*n2 when both samples come from one
// continuous distribution: the share of the n1-subsets of ranks 1..n1+n2
// whose rank sum is n1(n1+1)/2 + u.
func uCDF(n1, n2 int) []float64 {
	n := n1 + n2
	total := n * (n + 1) / 2
	ways := make([][]float64, n1+1)
	for k := range ways {
		ways[k] = make([]float64, total+1)
	}
	ways[0][0] = 1
	for r := 1; r <= n; r++ {
		for k := min(r, n1); k >= 1; k-- {
			prev, cur := ways[k-1], ways[k]
			for s := total; s >= r; s-- {
				cur[s] += prev[s-r]
			}
		}
	}
	base := n1 * (n1 + 1) / 2
	all := math.Exp(lchoose(n, n1))
	cdf := make([]float64, n1*n2+1)
	acc := 0.0
	for u := range cdf {
		acc += ways[n1][base+u]
		cdf[u] = acc / all
	}
	return cdf
}

// shiftedU is U for the sorted ys shifted by d against the sorted xs: the
// pairs with y+d > x.
func shiftedU(xs, ys []float64, d float64) int {
	u, i := 0, 0
	for _, y := range ys {
		for i < len(xs) && xs[i] < y+d {
			i++
		}
		u += i
	}
	return u
}

// simulatedSamples draws mdeTrials pairs of sorted standard normal samples
// of n1 and n2 values from a fixed seed.
func simulatedSamples(n1, n2 int) (xs, ys [][]float64) {
	rng := splitMix(0x62656e6368626f6f) // "benchboo"
	draw := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.normal()
		}
		slices.Sort(v)
		return v
	}
	xs, ys = make([][]float64, mdeTrials), make([][]float64, mdeTrials)
	for t := range xs {
		xs[t], ys[t] = draw(n1), draw(n2)
	}
	return xs, ys
}

// splitMix is SplitMix64: a tiny generator whose sequence is fixed by its
// seed, unlike math/rand's, which may change between Go versions.
type splitMix uint64

func (s *splitMix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform is in (0, 1].
func (s *splitMix) uniform() float64 { return (float64(s.next()>>11) + 1) / (1 << 53) }

// normal is a standard normal value (Box-Muller).
func (s *splitMix) normal() float64 {
	u1, u2 := s.uniform(), s.uniform()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

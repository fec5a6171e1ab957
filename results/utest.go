package results

import (
	"math"
	"sort"
)

// exactLimit is the largest combined sample size whose p-value is computed
// exactly; beyond it the normal approximation is within a fraction of a
// percent and the exact distribution costs more than it tells.
const exactLimit = 50

// MannWhitneyU tests whether x and y come from the same distribution, as
// benchstat does: a rank test, which needs no normality and is not moved by
// a single slow run. It returns U for x (the number of pairs (x_i, y_j)
// with x_i > y_j, ties counting one half) and the two-sided p-value: the
// probability, were both samples from one distribution, of ranks at least
// as lopsided as these.
//
// With n1+n2 <= 50 the p-value is exact, ties included (the null
// distribution of x's rank sum given the tied ranks, by counting subsets);
// beyond, it is the normal approximation with tie and continuity
// corrections. An empty sample gives NaN.
func MannWhitneyU(x, y []float64) (u, p float64) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	ranks, ties := doubledRanks(x, y)
	var r1 int // x's rank sum, doubled so midranks stay integers
	for _, r := range ranks[:n1] {
		r1 += r
	}
	u = float64(r1)/2 - float64(n1*(n1+1))/2
	if n1+n2 <= exactLimit {
		return u, exactP(ranks, n1, r1)
	}
	return u, normalP(u, n1, n2, ties)
}

// doubledRanks ranks x and y together and returns twice each value's rank
// (x's first, then y's), so that a midrank like 2.5 is the integer 5, and
// the sizes of the groups of tied values.
func doubledRanks(x, y []float64) ([]int, []int) {
	type item struct {
		v float64
		i int
	}
	all := make([]item, 0, len(x)+len(y))
	for i, v := range x {
		all = append(all, item{v, i})
	}
	for i, v := range y {
		all = append(all, item{v, len(x) + i})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].v < all[b].v })
	ranks := make([]int, len(all))
	var ties []int
	for i := 0; i < len(all); {
		j := i
		for j+1 < len(all) && all[j+1].v == all[i].v {
			j++
		}
		// Positions i..j (from 0) share the midrank ((i+1)+(j+1))/2.
		for k := i; k <= j; k++ {
			ranks[all[k].i] = i + j + 2
		}
		if j > i {
			ties = append(ties, j-i+1)
		}
		i = j + 1
	}
	return ranks, ties
}

// exactP counts, for every n1-subset of the doubled ranks, its sum, and
// returns the two-sided p-value of the observed sum r1: twice the smaller
// tail, at most 1.
func exactP(ranks []int, n1, r1 int) float64 {
	total := 0
	for _, r := range ranks {
		total += r
	}
	// ways[k][s]: subsets of k of the ranks seen so far summing to s.
	ways := make([][]float64, n1+1)
	for k := range ways {
		ways[k] = make([]float64, total+1)
	}
	ways[0][0] = 1
	for i, r := range ranks {
		for k := min(i+1, n1); k >= 1; k-- {
			prev, cur := ways[k-1], ways[k]
			for s := total; s >= r; s-- {
				cur[s] += prev[s-r]
			}
		}
	}
	var all, low, high float64
	for s, w := range ways[n1] {
		all += w
		if s <= r1 {
			low += w
		}
		if s >= r1 {
			high += w
		}
	}
	return math.Min(1, 2*math.Min(low, high)/all)
}

// normalP is the normal approximation of U's distribution, with the
// variance corrected for ties and a continuity correction.
func normalP(u float64, n1, n2 int, ties []int) float64 {
	n := float64(n1 + n2)
	var t float64
	for _, k := range ties {
		t += float64(k*k*k - k)
	}
	variance := float64(n1*n2) / 12 * ((n + 1) - t/(n*(n-1)))
	d := math.Abs(u-float64(n1*n2)/2) - 0.5
	if variance <= 0 || d <= 0 {
		return 1
	}
	return math.Min(1, math.Erfc(d/math.Sqrt(variance)/math.Sqrt2))
}

// MinPValue is the smallest two-sided p-value the test can give for
// samples of n1 and n2 values: below alpha it can tell a change, above it
// it cannot, however large the change (3 against 3 repeats: 0.1).
func MinPValue(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	// Complete separation: one subset of C(n1+n2, n1) in each tail.
	return math.Min(1, 2/choose(n1+n2, n1))
}

// choose is C(n, k), exact while it fits a float64's 53 bits (each
// partial product is itself a binomial coefficient), so that 3 + 3 repeats
// give 0.1 and not a hair below it.
func choose(n, k int) float64 {
	if n > 60 {
		return math.Exp(lchoose(n, k))
	}
	k = min(k, n-k)
	c := 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-k+i) / float64(i)
	}
	return c
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

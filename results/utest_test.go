package results

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMannWhitneyKnownValues(t *testing.T) {
	seq := func(from, to float64) []float64 {
		var v []float64
		for x := from; x <= to; x++ {
			v = append(v, x)
		}
		return v
	}
	tests := []struct {
		name  string
		x, y  []float64
		wantU float64
		wantP float64
		tol   float64
	}{
		// Complete separation: one arrangement in each tail of C(6,3) = 20.
		{"3 vs 3 apart", seq(1, 3), seq(4, 6), 0, 2.0 / 20, 1e-12},
		{"4 vs 4 apart", seq(1, 4), seq(5, 8), 0, 2.0 / 70, 1e-12},
		{"5 vs 5 apart", seq(6, 10), seq(1, 5), 25, 2.0 / 252, 1e-12},
		// R's wilcox.test example (Hollander & Wolfe, depression scores):
		// W = 35, one-sided p = 0.1272, so two-sided 0.2544.
		{"R example", []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}, []float64{1.15, 0.88, 0.90, 0.74, 1.21}, 35, 0.2544, 5e-5},
		{"identical samples", seq(1, 4), seq(1, 4), 8, 1, 1e-12},
		{"all tied", []float64{7, 7, 7}, []float64{7, 7}, 3, 1, 1e-12},
		// 3 vs 3 with one tie across: U = 0.5, P(U <= 0.5) = 2/20 as
		// {1,2,3.5} and {1,2,3.5} (the tie counted either way) are the
		// only sums that low.
		{"tie across", []float64{1, 2, 3}, []float64{3, 5, 6}, 0.5, 0.2, 1e-12},
	}
	for _, tt := range tests {
		u, p := MannWhitneyU(tt.x, tt.y)
		if u != tt.wantU || math.Abs(p-tt.wantP) > tt.tol {
			t.Errorf("%s: U = %g, p = %.6f; want %g, %.6f", tt.name, u, p, tt.wantU, tt.wantP)
		}
	}
	if u, p := MannWhitneyU(nil, []float64{1}); !math.IsNaN(u) || !math.IsNaN(p) {
		t.Errorf("empty sample: %g %g", u, p)
	}
}

// The exact p-value, computed by counting subsets, agrees with brute force
// over every split of small samples with many ties.
func TestMannWhitneyExactAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n1, n2 := 1+rng.IntN(6), 1+rng.IntN(6)
		x, y := make([]float64, n1), make([]float64, n2)
		for i := range x {
			x[i] = float64(rng.IntN(5))
		}
		for i := range y {
			y[i] = float64(rng.IntN(5))
		}
		_, p := MannWhitneyU(x, y)
		if want := bruteForceP(x, y); math.Abs(p-want) > 1e-12 {
			t.Fatalf("x=%v y=%v: p = %.15f, brute force %.15f", x, y, p, want)
		}
	}
}

// bruteForceP enumerates every way of drawing len(x) of the pooled values
// as "x" and counts the U statistics at least as extreme on either side.
func bruteForceP(x, y []float64) float64 {
	pool := append(append([]float64{}, x...), y...)
	n1 := len(x)
	uOf := func(in []bool) float64 {
		var u float64
		for i, a := range pool {
			if !in[i] {
				continue
			}
			for j, b := range pool {
				if in[j] {
					continue
				}
				switch {
				case a > b:
					u++
				case a == b:
					u += 0.5
				}
			}
		}
		return u
	}
	obs := make([]bool, len(pool))
	for i := range x {
		obs[i] = true
	}
	u0 := uOf(obs)
	var all, low, high float64
	for mask := 0; mask < 1<<len(pool); mask++ {
		in := make([]bool, len(pool))
		k := 0
		for i := range pool {
			if mask&(1<<i) != 0 {
				in[i] = true
				k++
			}
		}
		if k != n1 {
			continue
		}
		u := uOf(in)
		all++
		if u <= u0 {
			low++
		}
		if u >= u0 {
			high++
		}
	}
	return math.Min(1, 2*math.Min(low, high)/all)
}

// At the size where the exact computation stops, the normal approximation
// takes over without a jump.
func TestMannWhitneyNormalMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		x, y := make([]float64, 25), make([]float64, 25)
		shift := float64(trial) / 20
		for i := range x {
			x[i] = rng.NormFloat64()
			y[i] = rng.NormFloat64() + shift
		}
		ranks, ties := doubledRanks(x, y)
		r1 := 0
		for _, r := range ranks[:25] {
			r1 += r
		}
		u := float64(r1)/2 - 25*26/2
		exact, approx := exactP(ranks, 25, r1), normalP(u, 25, 25, ties)
		if math.Abs(exact-approx) > 0.01 {
			t.Errorf("shift %.2f: exact p %.4f, normal %.4f", shift, exact, approx)
		}
	}
}

func TestMinPValue(t *testing.T) {
	for _, tt := range []struct {
		n1, n2 int
		want   float64
	}{{3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {1, 1, 1}, {0, 3, 1}} {
		if got := MinPValue(tt.n1, tt.n2); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("MinPValue(%d, %d) = %g, want %g", tt.n1, tt.n2, got, tt.want)
		}
	}
}

func TestCompare(t *testing.T) {
	run := func(ops ...float64) Point {
		var p Point
		for i, v := range ops {
			p.Repeats = append(p.Repeats, Repeat{Index: i, Metrics: map[string]float64{"ops_per_sec": v, "latency_avg": 1e6 / v}})
		}
		return p
	}
	old := &File{Cell: "tp", Guests: []Guest{
		{Name: "host", Status: StatusOK, Points: []Point{run(100, 101, 99, 100, 102)}},
		{Name: "vm", Status: StatusOK, Points: []Point{run(50, 51, 49)}},
		{Name: "osv", Status: StatusSkipped, Points: []Point{{}}},
	}}
	rerun := &File{Cell: "tp", Guests: []Guest{
		{Name: "host", Status: StatusOK, Points: []Point{run(80, 81, 79, 80, 82)}},
		{Name: "vm", Status: StatusOK, Points: []Point{run(50, 52, 48)}},
		{Name: "osv", Status: StatusSkipped, Points: []Point{{}}},
	}}
	got := map[string]Comparison{}
	for _, c := range Compare(old, rerun, []string{"ops_per_sec", "latency_avg"}, DefaultRule()) {
		got[c.Guest+" "+c.Metric] = c
	}
	if c := got["host ops_per_sec"]; c.Verdict != Moved || math.Abs(c.Delta+0.2) > 1e-9 || c.OldMedian != 100 || c.NewMedian != 80 || c.P > 0.01 {
		t.Errorf("host: %+v", c)
	}
	if c := got["host latency_avg"]; c.Verdict != Moved || c.Delta < 0.2 {
		t.Errorf("host latency: %+v", c)
	}
	if c := got["vm ops_per_sec"]; c.Verdict != Inconclusive || !strings.Contains(c.Note, "3 + 3 repeats cannot show a change") {
		t.Errorf("vm: %+v", c)
	}
	if c := got["osv ops_per_sec"]; c.Verdict != NotCompared || c.Note != "stored run: guest skipped" {
		t.Errorf("osv: %+v", c)
	}
	if len(got) != 6 {
		t.Errorf("%d comparisons, want 6", len(got))
	}
}

package results

import (
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Summary
	}{
		{"empty", nil, Summary{}},
		{"n=1", []float64{42}, Summary{
			N: 1, Median: 42, Mean: 42, Min: 42, Max: 42,
			CILow: 42, CIHigh: 42, CILevel: 0,
		}},
		{"n=2", []float64{4, 2}, Summary{
			N: 2, Median: 3, Mean: 3, Min: 2, Max: 4, Stddev: math.Sqrt2, CV: math.Sqrt2 / 3,
			CILow: 2, CIHigh: 4, CILevel: 0.5,
			Warning: "high variance: CV 47.1% > 5%",
		}},
		{"odd n", []float64{103, 100, 101}, Summary{
			N: 3, Median: 101, Mean: 304.0 / 3, Min: 100, Max: 103, Stddev: math.Sqrt(7.0 / 3), CV: math.Sqrt(7.0/3) / (304.0 / 3),
			CILow: 100, CIHigh: 103, CILevel: 0.75,
		}},
		{"even n", []float64{100, 104, 101, 103}, Summary{
			N: 4, Median: 102, Mean: 102, Min: 100, Max: 104, Stddev: math.Sqrt(10.0 / 3), CV: math.Sqrt(10.0/3) / 102,
			CILow: 100, CIHigh: 104, CILevel: 0.875,
		}},
		{"identical", []float64{7, 7, 7, 7, 7, 7}, Summary{
			N: 6, Median: 7, Mean: 7, Min: 7, Max: 7,
			CILow: 7, CIHigh: 7, CILevel: 1 - 2.0/64, CIExact: true,
		}},
		// CV exactly at the threshold does not warn; just above does.
		{"cv=5%", []float64{95, 100, 105}, Summary{
			N: 3, Median: 100, Mean: 100, Min: 95, Max: 105, Stddev: 5, CV: 0.05,
			CILow: 95, CIHigh: 105, CILevel: 0.75,
		}},
		{"cv=6%", []float64{94, 100, 106}, Summary{
			N: 3, Median: 100, Mean: 100, Min: 94, Max: 106, Stddev: 6, CV: 0.06,
			CILow: 94, CIHigh: 106, CILevel: 0.75,
			Warning: "high variance: CV 6.0% > 5%",
		}},
		{"zero mean", []float64{-1, 0, 1}, Summary{
			N: 3, Median: 0, Mean: 0, Min: -1, Max: 1, Stddev: 1,
			CILow: -1, CIHigh: 1, CILevel: 0.75,
			Warning: "mean is 0: CV undefined",
		}},
		{"all zero", []float64{0, 0, 0}, Summary{N: 3, CILevel: 0.75}},
		// Quartiles 100 and 102, fences 97 and 105: 90 lies outside.
		{"outlier", []float64{101, 100, 102, 103, 90, 101, 102, 103, 100}, Summary{
			N: 9, Median: 101, Min: 90, Max: 103, CILow: 100, CIHigh: 103, CILevel: 1 - 2*10.0/512, CIExact: true,
			Outliers: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.xs)
			got := Summarize(in)
			if !slices.Equal(in, tt.xs) {
				t.Errorf("Summarize reordered its input: %v", in)
			}
			want := tt.want
			if tt.name == "outlier" {
				// Mean and spread are not the point of this case.
				want.Mean, want.Stddev, want.CV, want.Warning = got.Mean, got.Stddev, got.CV, got.Warning
				if !strings.Contains(got.Warning, "1 outlier beyond 1.5 IQR") {
					t.Errorf("warning %q does not mention the outlier", got.Warning)
				}
			}
			checkSummary(t, got, want)
		})
	}
}

func checkSummary(t *testing.T, got, want Summary) {
	t.Helper()
	near := func(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) }
	if got.N != want.N || got.CIExact != want.CIExact || got.Outliers != want.Outliers || got.Warning != want.Warning ||
		!near(got.Median, want.Median) || !near(got.Mean, want.Mean) || !near(got.Min, want.Min) || !near(got.Max, want.Max) ||
		!near(got.Stddev, want.Stddev) || !near(got.CV, want.CV) ||
		!near(got.CILow, want.CILow) || !near(got.CIHigh, want.CIHigh) || !near(got.CILevel, want.CILevel) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// The lower order statistic k of the distribution-free 95% interval of the
// median, [x(k), x(n-k+1)], as tabulated in the literature (e.g. Nair 1940;
// Conover, Practical Nonparametric Statistics, table A3). n = 5 has none.
var medianCITable = map[int]int{
	5: 0, 6: 1, 7: 1, 8: 1, 9: 2, 10: 2, 11: 2, 12: 3, 13: 3, 14: 3,
	15: 4, 16: 4, 17: 5, 18: 5, 19: 5, 20: 6,
}

func TestMedianCIOrderStatistics(t *testing.T) {
	for n := 5; n <= 20; n++ {
		wantK := medianCITable[n]
		xs := make([]float64, n)
		for i := range xs {
			xs[n-1-i] = float64(i + 1) // descending, so Summarize has to sort
		}
		s := Summarize(xs)
		if wantK == 0 {
			if s.CIExact || s.CILow != 1 || s.CIHigh != float64(n) || !approx(s.CILevel, exactCoverage(n, 1)) {
				t.Errorf("n=%d: got exact=%v [%v, %v] level %v, want inexact [1, %d] level %v",
					n, s.CIExact, s.CILow, s.CIHigh, s.CILevel, n, exactCoverage(n, 1))
			}
			continue
		}
		wantLevel := exactCoverage(n, wantK)
		if !s.CIExact || s.CILow != float64(wantK) || s.CIHigh != float64(n-wantK+1) || !approx(s.CILevel, wantLevel) {
			t.Errorf("n=%d: got exact=%v [x(%v), x(%v)] level %v, want [x(%d), x(%d)] level %v",
				n, s.CIExact, s.CILow, s.CIHigh, s.CILevel, wantK, n-wantK+1, wantLevel)
		}
		if wantLevel < Confidence {
			t.Errorf("n=%d: table level %v below %v", n, wantLevel, Confidence)
		}
	}
}

// exactCoverage is 1 - 2 P(B <= k-1) for B ~ Binomial(n, 1/2), in exact
// integer arithmetic, independent of the implementation's log-space sums.
func exactCoverage(n, k int) float64 {
	sum := new(big.Int)
	for i := 0; i < k; i++ {
		sum.Add(sum, new(big.Int).Binomial(int64(n), int64(i)))
	}
	tail := new(big.Rat).SetFrac(sum, new(big.Int).Lsh(big.NewInt(1), uint(n)))
	f, _ := new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).Mul(big.NewRat(2, 1), tail)).Float64()
	return f
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestMedianCILargeN(t *testing.T) {
	// Large samples must neither overflow nor lose the interval; the normal
	// approximation puts k near n/2 - 0.98 sqrt(n).
	for _, n := range []int{100, 1000, 5000} {
		k, level, ok := medianCI(n, Confidence)
		approxK := float64(n)/2 - 0.98*math.Sqrt(float64(n))
		if !ok || level < Confidence || level > 0.97 || math.Abs(float64(k)-approxK) > 2 {
			t.Errorf("n=%d: k=%d level=%v ok=%v, want k near %.1f", n, k, level, ok, approxK)
		}
	}
}

func TestMinRepeatsForCI(t *testing.T) {
	if got := MinRepeatsForCI(); got != 6 {
		t.Errorf("MinRepeatsForCI() = %d, want 6", got)
	}
	if note := Summarize([]float64{1, 2, 3}).CINote(); !strings.Contains(note, "need 6") || !strings.Contains(note, "75.0%") {
		t.Errorf("CINote for n=3 = %q", note)
	}
	if note := Summarize([]float64{1, 2, 3, 4, 5, 6}).CINote(); note != "" {
		t.Errorf("CINote for n=6 = %q, want empty", note)
	}
}

func TestPointSummarize(t *testing.T) {
	p := Point{
		Repeats: []Repeat{
			{Index: 0, Metrics: map[string]float64{OpsPerSec: 100, LatencyP99: 9}},
			{Index: 1, Metrics: map[string]float64{OpsPerSec: 110}},
			{Index: 2, Metrics: map[string]float64{OpsPerSec: 90, LatencyP99: 11}},
		},
		Summary: map[string]Summary{"stale": {N: 9}},
	}
	p.Summarize()
	if _, ok := p.Summary["stale"]; ok {
		t.Error("stale summary kept")
	}
	if s := p.Summary[OpsPerSec]; s.N != 3 || s.Median != 100 || s.Min != 90 || s.Max != 110 {
		t.Errorf("ops_per_sec summary %+v", s)
	}
	if s := p.Summary[LatencyP99]; s.N != 2 || s.Median != 10 {
		t.Errorf("latency_p99 summary %+v, want n=2 median 10", s)
	}
	if len(p.Summary) != 2 {
		t.Errorf("summary has %d metrics, want 2", len(p.Summary))
	}
}

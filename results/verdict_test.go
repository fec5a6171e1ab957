package results

import (
	"math"
	"strings"
	"testing"
)

// sample builds a results file of one guest whose repeats measured
// ops_per_sec as xs.
func sample(xs ...float64) *File {
	f := &File{Cell: "tp", Guests: []Guest{{Name: "host", Status: StatusOK, Points: []Point{point(nil, OpsPerSec, xs...)}}}}
	f.Summarize()
	return f
}

func scaled(k float64, xs ...float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}

func withFloor(f *File, spread float64) *File {
	f.NoiseFloor = &Noise{Schema: NoiseSchema, Machine: "m", Tools: map[string]ToolNoise{
		"builtin": {Guest: "host", Kind: "process", Repeats: 10, Metrics: map[string]MetricNoise{OpsPerSec: {Spread: spread}}},
	}}
	return f
}

// The rule of judge, case by case: a change is never "holds" unless the
// test could have seen it and the noise explains it.
func TestVerdictRule(t *testing.T) {
	quiet := []float64{100, 100.4, 99.7, 100.2, 99.9}
	for _, tt := range []struct {
		name       string
		old, rerun *File
		rule       Rule
		want       Verdict
		note       string
	}{
		{"stored figures ×10, 3 + 3 repeats", sample(1000, 1010, 990), sample(100, 101, 99), DefaultRule(), Inconclusive,
			"3 + 3 repeats cannot show a change at α = 0.05 (p ≥ 0.100): run at least 4 + 4"},
		{"70 % slower, 3 + 3 repeats", sample(100, 102, 98), sample(30, 30.6, 29.4), DefaultRule(), Inconclusive, "3 + 3 repeats cannot show"},
		{"70 % slower, 4 + 4 repeats", sample(100, 102, 98, 101), sample(30, 30.6, 29.4, 30.3), DefaultRule(), Moved, ""},
		{"the same, quiet, 5 + 5", sample(quiet...), sample(scaled(1.002, quiet...)...), DefaultRule(), Holds, "changes over 0.63 % would show"},
		{"the same, noisy, 5 + 5", sample(100, 90, 110, 95, 105), sample(101, 91, 109, 96, 104), DefaultRule(), Inconclusive,
			"too noisy: only changes over 17 % would show at 5 + 5 repeats (spread 7.5 %; tolerance 10 %)"},
		{"quiet runs on a noisy machine", withFloor(sample(quiet...), 0.06), sample(scaled(1.002, quiet...)...), DefaultRule(), Inconclusive,
			"(spread 6.0 %, this machine's noise floor; tolerance 10 %)"},
		{"quiet runs on a calibrated machine", withFloor(sample(quiet...), 0.02), sample(scaled(1.002, quiet...)...), DefaultRule(), Holds,
			"changes over 4.6 % would show, this machine's noise floor"},
		{"a change the test misses", sample(100, 100.2, 100.4, 100.6, 100.8, 101), sample(99, 110, 110.2, 110.4, 110.6, 110.8), DefaultRule(), Inconclusive,
			"+9.8% is more than the noise explains (changes over 5.9 % should show) but p = 0.065: run more repeats"},
		{"medians outside the intervals", sample(100, 101, 102, 103), sample(95, 104, 110, 111), Rule{Alpha: Alpha, Tolerance: 0.5}, Inconclusive,
			"the medians lie outside each other's intervals but p = 0.343"},
		{"a stored median of 0", sample(0, 0, 0, 0, 0), sample(0, 0, 1, 0, 0), DefaultRule(), Inconclusive, "the stored median is 0"},
		{"identical constant figures", sample(7, 7, 7, 7), sample(7, 7, 7, 7), DefaultRule(), Holds, "changes over 0.00 % would show"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := Compare(tt.old, tt.rerun, []string{OpsPerSec}, tt.rule)
			if len(cs) != 1 {
				t.Fatalf("%d comparisons", len(cs))
			}
			c := cs[0]
			if c.Verdict != tt.want || !strings.Contains(c.Note, tt.note) || c.Moved != (tt.want == Moved) {
				t.Errorf("%s (%s), p %.3f, Δ %+.3f, spread %.4f, MDE %.4f; want %s (%s)", c.Verdict, c.Note, c.P, c.Delta, c.Spread, c.MDE, tt.want, tt.note)
			}
		})
	}
}

// However large the change, 3 + 3 repeats never hold: stored figures
// scaled by anything from a tenth to ten times.
func TestVerdictNeverHoldsUnseen(t *testing.T) {
	old := []float64{61000, 60500, 61800}
	for _, k := range []float64{0.1, 0.3, 0.9, 0.99, 1, 1.01, 1.5, 10} {
		c := Compare(sample(scaled(k, old...)...), sample(old...), []string{OpsPerSec}, DefaultRule())[0]
		if c.Verdict != Inconclusive {
			t.Errorf("×%g: %s (%s), want inconclusive", k, c.Verdict, c.Note)
		}
	}
}

func TestRepeatsToShow(t *testing.T) {
	for _, tt := range []struct {
		alpha float64
		want  int
	}{{0.05, 4}, {0.1, 4}, {0.2, 3}, {0.01, 5}, {0.001, 7}} {
		if got := RepeatsToShow(tt.alpha); got != tt.want {
			t.Errorf("RepeatsToShow(%g) = %d, want %d", tt.alpha, got, tt.want)
		}
	}
}

// The MDE: infinite where the test cannot reach alpha, shrinking like
// 1/√n, and close to the textbook value for large samples (two-sample
// normal, 80 % power, α = 0.05: 2.8 √(2/n) standard deviations, times
// √(π/3) for the rank test's efficiency).
func TestMDE(t *testing.T) {
	if d := MDE(3, 3, 0.02, Alpha); !math.IsInf(d, 1) {
		t.Errorf("MDE(3, 3) = %g, want +Inf", d)
	}
	if d := MDE(5, 5, 0, Alpha); d != 0 {
		t.Errorf("MDE with no spread = %g, want 0", d)
	}
	if d := MDE(5, 5, math.NaN(), Alpha); !math.IsInf(d, 1) {
		t.Errorf("MDE with a NaN spread = %g, want +Inf", d)
	}
	prev := math.Inf(1)
	for _, n := range []int{4, 5, 6, 10, 20} {
		d := MDE(n, n, 1, Alpha)
		if !(d < prev) {
			t.Errorf("MDE(%d, %d) = %.3f, not below %.3f", n, n, d, prev)
		}
		prev = d
	}
	textbook := (1.96 + 0.8416) * math.Sqrt(2.0/30) * math.Sqrt(math.Pi/3)
	if d := MDE(30, 30, 1, Alpha); math.Abs(d-textbook)/textbook > 0.05 {
		t.Errorf("MDE(30, 30) = %.3f, want about %.3f", d, textbook)
	}
	if a, b := MDE(5, 5, 0.02, Alpha), MDE(5, 5, 0.02, Alpha); a != b || math.Abs(a-0.0464) > 0.001 {
		t.Errorf("MDE(5, 5, 2 %%) = %g then %g, want the same, about 4.6 %%", a, b)
	}
}

// criticalU agrees with the p-values MannWhitneyU gives: the largest U
// that reaches alpha does, the next does not.
func TestCriticalU(t *testing.T) {
	for _, n := range [][2]int{{4, 4}, {5, 5}, {3, 5}, {6, 6}, {10, 10}, {30, 30}} {
		c := criticalU(n[0], n[1], Alpha)
		for _, u := range []int{c, c + 1} {
			x, y := separated(n[0], n[1], u)
			_, p := MannWhitneyU(x, y)
			if (p < Alpha) != (u == c) {
				t.Errorf("%d+%d: U = %d gives p = %.4f; critical U %d", n[0], n[1], u, p, c)
			}
		}
	}
}

// separated makes samples of n1 and n2 values without ties whose U (for
// x) is u: x all below y but for u pairs.
func separated(n1, n2, u int) (x, y []float64) {
	for j := 0; j < n2; j++ {
		y = append(y, float64(j))
	}
	for i := 0; i < n1; i++ {
		k := min(u, n2) // how many y this x is above
		u -= k
		x = append(x, float64(k)-0.5+float64(i)/1000)
	}
	return x, y
}

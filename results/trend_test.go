package results

import (
	"slices"
	"testing"
	"time"
)

func TestChangePoints(t *testing.T) {
	tests := []struct {
		name      string
		values    []float64
		threshold float64
		want      []int
	}{
		{"flat", []float64{100, 101, 99, 100, 102}, 0.1, nil},
		{"noise under the threshold", []float64{100, 108, 93, 104, 97}, 0.1, nil},
		{"step in the fourth run", []float64{100, 101, 99, 60, 61}, 0.1, []int{3}},
		{"newest run only", []float64{100, 101, 99, 100, 50}, 0.1, []int{4}},
		{"up then back", []float64{100, 100, 150, 150, 150, 100, 100}, 0.1, []int{2, 5}},
		{"a step the noise floor explains", []float64{100, 101, 99, 92, 91}, Threshold(0.05, 0.06), nil},
		{"the same step above a quieter floor", []float64{100, 101, 99, 92, 91}, Threshold(0.05, 0.01), []int{3}},
		{"one run", []float64{100}, 0.1, nil},
		{"one wild run inside is no change", []float64{100, 102, 10, 101, 99}, 0.1, nil},
		{"one wild run in the slow phase", []float64{465, 483, 921, 31.8, 118}, 0.6, []int{3}},
		{"zeros", []float64{0, 0, 0, 5, 5}, 0.1, nil}, // no relative change from 0
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChangePoints(tt.values, tt.threshold); !slices.Equal(got, tt.want) {
				t.Errorf("ChangePoints(%v, %g) = %v, want %v", tt.values, tt.threshold, got, tt.want)
			}
		})
	}
}

// Trends split by machine and guest; a step down of a higher-is-better
// metric in the newest runs is a regression, a step up is not.
func TestTrendsAndRegression(t *testing.T) {
	var entries []Entry
	for i, ops := range []float64{100, 102, 98, 50, 51} {
		for _, m := range []string{"m1", "m2"} {
			f := runAt(time.Duration(i)*time.Hour, m)
			f.Guests = f.Guests[:1]
			f.Guests[0].Points[0].Summary = map[string]Summary{OpsPerSec: {N: 3, Median: ops}}
			if m == "m2" {
				f.Guests[0].Points[0].Summary[OpsPerSec] = Summary{N: 3, Median: 300 - ops}
			}
			entries = append(entries, Entry{ID: RunID(f), Run: f})
		}
	}
	trends := Trends(entries, OpsPerSec)
	if len(trends) != 2 || trends[0].Machine != "m1" || trends[1].Machine != "m2" || len(trends[0].Runs) != 5 {
		t.Fatalf("trends %+v", trends)
	}
	for _, tr := range trends {
		tr.FindChanges(0.1, +1)
		if len(tr.Changes) != 1 || tr.Changes[0].At != 3 {
			t.Errorf("%s: changes %+v, want one at run 4", tr.Machine, tr.Changes)
		}
	}
	if r := trends[0].Regression(); r == nil || r.Rel > -0.4 {
		t.Errorf("m1: regression %+v, want one of about -50 %%", r)
	}
	if r := trends[1].Regression(); r != nil {
		t.Errorf("m2 got faster, yet regression %+v", r)
	}
}

package results

import (
	"strings"
	"testing"
)

func TestTimelineBehaviour(t *testing.T) {
	tests := []struct {
		name string
		ops  []float64
		want []string // substrings, one per flag, in order
	}{
		{"steady", []float64{100, 102, 98, 101, 99, 100, 103, 97, 100, 101}, nil},
		{"noisy without a trend", []float64{100, 60, 140, 80, 120, 100, 70, 130, 90, 110}, nil},
		{"too short to judge", []float64{100, 50, 20}, nil},
		{"slows down half way", []float64{100, 101, 99, 100, 102, 50, 49, 51, 50, 50}, []string{"throughput drifts (linear fit -"}},
		{"speeds up", []float64{50, 55, 60, 65, 70, 75, 80, 85, 90, 95}, []string{"still warming up", "throughput drifts (linear fit +"}},
		{"slow first second only", []float64{40, 100, 101, 99, 100, 102, 98, 100, 101, 99}, []string{"still warming up: the first 1 s at 40 %"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := &Timeline{IntervalS: 1, OpsPerSec: tt.ops}
			got := tl.Behaviour()
			if len(got) != len(tt.want) {
				t.Fatalf("Behaviour() = %q, want %d flags like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("flag %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	// fio's timeline is judged on its iops, in its unit.
	fio := &Timeline{IntervalS: 1, Metrics: map[string][]float64{"iops": {100, 101, 99, 100, 102, 50, 49, 51, 50, 50}, "write_clat_p99": {1, 1, 1, 1, 1, 9, 9, 9, 9, 9}}}
	if got := fio.Behaviour(); len(got) != 1 || !strings.Contains(got[0], "from 100 IO/s in the first third") {
		t.Errorf("fio: %q", got)
	}
	if s := fio.Series("write_clat_p99"); len(s) != 10 || fio.Series("ops_per_sec") != nil {
		t.Errorf("fio series %v", s)
	}
	var none *Timeline
	if got := none.Behaviour(); got != nil {
		t.Errorf("nil timeline: %q", got)
	}
}

func TestMedianTimeline(t *testing.T) {
	ts := []*Timeline{
		{OpsPerSec: []float64{1, 10, 100}},
		{OpsPerSec: []float64{3, 30}},
		{OpsPerSec: []float64{2, 20, 300}},
		nil,
	}
	got := MedianTimeline(ts, "ops_per_sec")
	want := []float64{2, 20, 200}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}

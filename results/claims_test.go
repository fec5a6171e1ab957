package results

import (
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

func claimFile() *File {
	g := func(name, status string, ops ...float64) Guest {
		gg := Guest{Name: name, Kind: "process", Status: status}
		var p Point
		for i, x := range ops {
			p.Repeats = append(p.Repeats, Repeat{Index: i, Metrics: map[string]float64{"ops_per_sec": x}})
		}
		gg.Points = []Point{p}
		return gg
	}
	f := &File{Cell: "tp", Guests: []Guest{
		g("host", StatusOK, 100, 101, 102, 99, 100, 101, 100),
		g("osv", StatusOK, 60, 61, 59, 60, 62, 58, 60),
		g("rumprun", StatusOK, 58, 63, 57, 61, 59, 62, 60), // overlaps osv
		g("linux", StatusFailed),
	}}
	f.Summarize()
	return f
}

func TestEvalClaim(t *testing.T) {
	f := claimFile()
	tests := []struct {
		claim, status, detail string
	}{
		{"host.ops_per_sec > osv.ops_per_sec", "pass", "100 vs 60"},
		{"host.ops_per_sec > 2 * osv.ops_per_sec", "fail", "100 vs 120"},
		{"host.ops_per_sec < 2 * osv.ops_per_sec", "pass", ""},
		{"osv.ops_per_sec >= rumprun.ops_per_sec", "pass, not significant", ""},
		{"osv.ops_per_sec > rumprun.ops_per_sec + 5", "fail, not significant", ""},
		{"linux.ops_per_sec > 1", "unknown", "linux failed"},
		{"host.ops_per_sec / (osv.ops_per_sec - osv.ops_per_sec) > 1", "unknown", "division"},
		{"(host.ops_per_sec - osv.ops_per_sec) / host.ops_per_sec >= 0.4", "pass, not significant", "0.4 vs 0.4"},
		{"(host.ops_per_sec - osv.ops_per_sec) / host.ops_per_sec >= 0.3", "pass", ""},
	}
	for _, tt := range tests {
		c, err := notebook.ParseClaim(tt.claim)
		if err != nil {
			t.Fatal(err)
		}
		r := EvalClaim(c, f)
		if r.Status() != tt.status || !strings.Contains(r.Detail, tt.detail) {
			t.Errorf("%s: %s (%s), want %s (%s)", tt.claim, r.Status(), r.Detail, tt.status, tt.detail)
		}
		if r.Failed() != strings.HasPrefix(tt.status, "fail") {
			t.Errorf("%s: Failed() = %v", tt.claim, r.Failed())
		}
	}
}

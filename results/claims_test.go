package results

import (
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// point is a sweep point at params whose repeats measured metric at xs.
func point(params map[string]any, metric string, xs ...float64) Point {
	p := Point{Params: params}
	for i, x := range xs {
		p.Repeats = append(p.Repeats, Repeat{Index: i, Metrics: map[string]float64{metric: x}})
	}
	return p
}

// judge parses claim and judges it on f: its status must be status and its
// detail hold detail.
func judge(t *testing.T, f *File, claim, status, detail string) {
	t.Helper()
	c, err := notebook.ParseClaim(claim)
	if err != nil {
		t.Fatal(err)
	}
	r := EvalClaim(c, f)
	if r.Status() != status || !strings.Contains(r.Detail, detail) {
		t.Errorf("%s: %s (%s), want %s (%s)", claim, r.Status(), r.Detail, status, detail)
	}
	if r.Failed() != (status == "fail") {
		t.Errorf("%s: Failed() = %v", claim, r.Failed())
	}
}

// claimCase is a claim and what judge wants of it over one file.
type claimCase struct{ claim, status, detail string }

// judgeAll judges every case over f.
func judgeAll(t *testing.T, f *File, cases []claimCase) {
	t.Helper()
	for _, tt := range cases {
		judge(t, f, tt.claim, tt.status, tt.detail)
	}
}

func claimFile() *File {
	g := func(name, status string, ops ...float64) Guest {
		return Guest{Name: name, Kind: "process", Status: status, Points: []Point{point(nil, "ops_per_sec", ops...)}}
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
	judgeAll(t, f, []claimCase{
		{"host.ops_per_sec > osv.ops_per_sec", "pass", "100 vs 60"},
		{"host.ops_per_sec > 2 * osv.ops_per_sec", "fail", "100 vs 120"},
		{"host.ops_per_sec < 2 * osv.ops_per_sec", "pass", ""},
		{"osv.ops_per_sec >= rumprun.ops_per_sec", "inconclusive", ""},
		{"osv.ops_per_sec > rumprun.ops_per_sec + 5", "inconclusive", ""},
		{"linux.ops_per_sec > 1", "unknown", "linux failed"},
		{"host.ops_per_sec / (osv.ops_per_sec - osv.ops_per_sec) > 1", "unknown", "division"},
		{"(host.ops_per_sec - osv.ops_per_sec) / host.ops_per_sec >= 0.4", "inconclusive", "0.4 vs 0.4: the 95 % intervals overlap (0.363 to 0.444 vs 0.4 to 0.4)"},
		{"(host.ops_per_sec - osv.ops_per_sec) / host.ops_per_sec >= 0.3", "pass", ""},
	})
}

// A claim on a metric where lower is better (fio's completion latency) is
// judged by its operator: "<" holds when the left side is lower, and is
// significant when the intervals are apart, whichever way is better.
func TestEvalClaimLowerIsBetter(t *testing.T) {
	g := func(name string, clat ...float64) Guest {
		return Guest{Name: name, Kind: "host", Status: StatusOK, Points: []Point{point(nil, "write_clat_p99", clat...)}}
	}
	f := &File{Cell: "fs", Metrics: Declare([]notebook.Metric{{Name: "write_clat_p99", Unit: "µs", Better: notebook.BetterLower}}),
		Guests: []Guest{
			g("xfs", 410, 420, 400, 415, 405, 412, 418),
			g("ext4", 870, 860, 880, 875, 865, 890, 858),
			g("btrfs", 415, 440, 395, 430, 402, 425, 398), // overlaps xfs
		}}
	f.Summarize()
	judgeAll(t, f, []claimCase{
		{"xfs.write_clat_p99 < ext4.write_clat_p99", "pass", "412 vs 870"},
		{"ext4.write_clat_p99 < xfs.write_clat_p99", "fail", "870 vs 412"},
		{"ext4.write_clat_p99 > 2 * xfs.write_clat_p99", "pass", "870 vs 824"},
		{"ext4.write_clat_p99 > 2.1 * xfs.write_clat_p99", "inconclusive", ""},
		{"xfs.write_clat_p99 < btrfs.write_clat_p99", "inconclusive", ""},
		{"btrfs.write_clat_p99 <= xfs.write_clat_p99", "inconclusive", ""},
	})
}

// Compare says each figure's unit, as the files declare it; an old file
// without declarations has the catalogue's.
func TestCompareUnits(t *testing.T) {
	file := func(ms []Metric, name string, xs ...float64) *File {
		f := &File{Cell: "c", Metrics: ms, Guests: []Guest{{Name: "g", Status: StatusOK, Points: []Point{point(nil, name, xs...)}}}}
		f.Summarize()
		return f
	}
	fio := Declare([]notebook.Metric{{Name: "write_bw", Unit: "bytes/s", Better: notebook.BetterHigher}})
	for _, tt := range []struct {
		old, rerun *File
		metric     string
		unit       string
	}{
		{file(fio, "write_bw", 1e8, 1.1e8, 0.9e8), file(fio, "write_bw", 1e8, 1.2e8, 1.1e8), "write_bw", "bytes/s"},
		{file(nil, "write_bw", 1e8, 1.1e8), file(fio, "write_bw", 1e8, 1.2e8), "write_bw", "bytes/s"},
		{file(nil, "latency_p99", 400, 410), file(nil, "latency_p99", 420, 415), "latency_p99", "µs"},
	} {
		cs := Compare(tt.old, tt.rerun, []string{tt.metric}, DefaultRule())
		if len(cs) != 1 || cs[0].Unit != tt.unit || !cs[0].Comparable {
			t.Errorf("Compare %s: %+v, want unit %q", tt.metric, cs, tt.unit)
		}
	}
}

// Claims on few repeats: one repeat has no spread, so two identical
// guests neither beat each other nor lose (today's plain pass and fail);
// a machine's noise floor gives one repeat an interval; 2 to 5 repeats
// get Student's interval, which a gap of orders of magnitude clears.
func TestEvalClaimFewRepeats(t *testing.T) {
	file := func(floor float64, guests map[string][]float64) *File {
		f := &File{Cell: "tp"}
		for _, name := range []string{"a", "b"} {
			f.Guests = append(f.Guests, Guest{Name: name, Status: StatusOK, Points: []Point{point(nil, "ops_per_sec", guests[name]...)}})
		}
		f.Summarize()
		if floor > 0 {
			withFloor(f, floor)
		}
		return f
	}
	one := map[string][]float64{"a": {50100}, "b": {49800}}
	for _, tt := range []struct {
		name   string
		f      *File
		claim  string
		status string
		detail string
	}{
		{"one repeat each", file(0, one), "a.ops_per_sec > b.ops_per_sec", "inconclusive",
			"50100 vs 49800: no spread to judge a.ops_per_sec, b.ops_per_sec by (one repeat): run more repeats, or benchbook calibrate this machine"},
		{"one repeat each, the converse", file(0, one), "b.ops_per_sec > a.ops_per_sec", "inconclusive", "no spread"},
		{"one repeat against a constant", file(0, one), "a.ops_per_sec > 1", "inconclusive", "no spread to judge a.ops_per_sec by"},
		{"one repeat each, a calibrated machine", file(0.03, one), "a.ops_per_sec > b.ops_per_sec", "inconclusive", "intervals overlap"},
		{"one repeat, far apart, a calibrated machine", file(0.03, map[string][]float64{"a": {90000}, "b": {49800}}), "a.ops_per_sec > b.ops_per_sec", "pass", ""},
		{"two repeats against an absurd constant", file(0, map[string][]float64{"a": {41000, 44000}, "b": {1, 1}}), "a.ops_per_sec > 1e12", "fail", ""},
		{"two repeats against a small constant", file(0, map[string][]float64{"a": {41000, 44000}, "b": {1, 1}}), "a.ops_per_sec > 1", "pass", ""},
		{"three identical-ish repeats", file(0, map[string][]float64{"a": {50100, 49500, 50900}, "b": {49800, 50600, 49300}}), "a.ops_per_sec > b.ops_per_sec", "inconclusive", "overlap"},
		{"three repeats, far apart", file(0, map[string][]float64{"a": {90100, 89500, 90900}, "b": {49800, 50600, 49300}}), "a.ops_per_sec > b.ops_per_sec", "pass", ""},
		{"a floor widens a 7-repeat interval", file(0.05, map[string][]float64{"a": {100, 101, 102, 99, 100, 101, 100}, "b": {96, 95, 97, 96, 95, 96, 97}}),
			"a.ops_per_sec > b.ops_per_sec", "inconclusive", "overlap"},
		{"the same without the floor", file(0, map[string][]float64{"a": {100, 101, 102, 99, 100, 101, 100}, "b": {96, 95, 97, 96, 95, 96, 97}}),
			"a.ops_per_sec > b.ops_per_sec", "pass", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			judge(t, tt.f, tt.claim, tt.status, tt.detail)
		})
	}
}

// Across sweep points a claim fails if it fails at one, else is
// inconclusive if it is at one, else passes.
func TestEvalClaimPoints(t *testing.T) {
	pt := func(clients int64, xs ...float64) Point {
		return point(map[string]any{"clients": clients}, "ops_per_sec", xs...)
	}
	f := &File{Cell: "tp", Guests: []Guest{
		{Name: "a", Status: StatusOK, Points: []Point{pt(1, 200, 201, 199), pt(2, 100, 101, 99), pt(3, 50, 51, 49)}},
		{Name: "b", Status: StatusOK, Points: []Point{pt(1, 100, 101, 99), pt(2, 100, 99, 101), pt(3, 100, 101, 99)}},
	}}
	f.Summarize()
	judgeAll(t, f, []claimCase{
		{"a.ops_per_sec > b.ops_per_sec", "fail", "at clients=3"},
		{"a.ops_per_sec > 0.48 * b.ops_per_sec", "inconclusive", "at clients=3"},
		{"a.ops_per_sec > 0.1 * b.ops_per_sec", "pass", "at clients=1"},
	})
}

// Claims on sweep points: a reference names a point by its params or a
// bare value, and free params are judged at every point.
func TestEvalClaimNamedPoints(t *testing.T) {
	pt := func(net string, clients int64, ops ...float64) Point {
		return point(map[string]any{"net": net, "clients": clients}, "ops_per_sec", ops...)
	}
	f := &File{Cell: "path", Guests: []Guest{
		{Name: "linux", Kind: "qemu", Status: StatusOK, Points: []Point{
			pt("tap", 1, 50, 51, 49, 50, 52, 48, 50),
			pt("tap", 4, 70, 71, 69, 70, 72, 68, 70),
			pt("loopback", 1, 100, 101, 99, 100, 102, 98, 100),
			pt("loopback", 4, 80, 81, 79, 80, 82, 78, 80),
		}},
		{Name: "host", Kind: "process", Status: StatusOK, Points: []Point{
			pt("tap", 1, 200, 201, 199, 200, 202, 198, 200),
			pt("tap", 4, 200, 201, 199, 200, 202, 198, 200),
			pt("loopback", 1, 200, 201, 199, 200, 202, 198, 200),
			pt("loopback", 4, 200, 201, 199, 200, 202, 198, 200),
		}},
	}}
	f.Summarize()
	judgeAll(t, f, []claimCase{
		// at clients=1: 50 < 80; at clients=4: 70 < 64 fails
		{"linux[tap].ops_per_sec < 0.8 * linux[loopback].ops_per_sec", "fail", "70 vs 64 at clients=4"},
		{"linux[net=tap].ops_per_sec < 0.95 * linux[net=loopback].ops_per_sec", "pass", ""},
		{"linux[tap, clients=1].ops_per_sec < 0.6 * linux[loopback, clients=1].ops_per_sec", "pass", "50 vs 60"},
		{"linux[clients=4].ops_per_sec > linux[clients=1].ops_per_sec", "fail", "80 vs 100 at net=loopback"},
		{"host.ops_per_sec > 2 * linux[loopback].ops_per_sec", "inconclusive", "200 vs 200 at clients=1 net=tap"},
		{"linux[vhost].ops_per_sec > 1", "unknown", `no stored point has the value "vhost"`},
		{"linux[net=vhost].ops_per_sec > 1", "unknown", "linux has no figures at [net=vhost]"},
	})
	if i := FindPoint(f.Guests[0].Points, "loopback clients=4"); i != 3 {
		t.Errorf("FindPoint = %d, want 3", i)
	}
	if i := FindPoint(f.Guests[0].Points, "loopback"); i != -1 {
		t.Errorf("FindPoint of a partial point = %d, want -1", i)
	}
}

// A knee: "up to rate = V" judges only the points with rate at most V, and
// says how the claim fares at the first point past it.
func TestEvalClaimUpTo(t *testing.T) {
	pt := func(rate int64, p99 ...float64) Point {
		return point(map[string]any{"rate": rate}, "latency_p99", p99...)
	}
	f := &File{Cell: "knee", Guests: []Guest{{Name: "host", Status: StatusOK, Points: []Point{
		pt(2000, 400, 410, 390, 400, 405, 395), pt(10000, 500, 510, 490, 500, 505, 495),
		pt(20000, 900, 920, 880, 990, 800, 870), pt(40000, 5000, 5100, 4900, 5000, 5050, 4950),
		pt(80000, 90000, 91000, 89000, 90000, 90500, 89500),
	}}}}
	f.Summarize()
	judgeAll(t, f, []claimCase{
		{"host.latency_p99 < 1000 up to rate = 20000", "pass", "(judged at the 3 points with rate <= 20000; past it, it does not hold: 5000 vs 1000 at rate=40000)"},
		{"host.latency_p99 < 1000 up to rate = 25000", "pass", "at the 3 points"},
		{"host.latency_p99 < 1000 up to rate = 40000", "fail", "5000 vs 1000 at rate=40000"},
		{"host.latency_p99 < 100000 up to rate = 80000", "pass", "(judged at the 5 points with rate <= 80000)"},
		{"host.latency_p99 < 950 up to rate = 20000", "inconclusive", "at rate=20000"},
		{"host.latency_p99 < 1000 up to rate = 1000", "unknown", "no stored point has rate at most 1000"},
	})
}

package load

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// fio's own histogram log (captured by testdata/fio/capture.sh) reads as
// the buckets of its json+ output: every bucket the log of job 1 counts is
// a bin of the run's json+, holding at least as many I/Os.
func TestFioHistLogCaptured(t *testing.T) {
	log, err := os.ReadFile("testdata/fio/randrw-hist.log")
	if err != nil {
		t.Fatal(err)
	}
	stdout, _ := captured(t, "fio", "randrw-hist")
	out, err := parseFioJSON(stdout)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseFioHistLog(log)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	logged := map[int]map[float64]int64{}
	for _, r := range rows {
		if r.BS != 4096 {
			t.Errorf("block size %d, want 4096", r.BS)
		}
		for i, c := range r.Bins {
			if c > 0 {
				if logged[r.Dir] == nil {
					logged[r.Dir] = map[float64]int64{}
				}
				logged[r.Dir][fioPlatValue(i)] += c
			}
		}
	}
	for dir, d := range map[int]fioDir{0: out.Jobs[0].Read, 1: out.Jobs[0].Write} {
		bins := map[float64]int64{}
		for k, c := range d.Clat.Bins {
			v, _ := strconv.ParseFloat(k, 64)
			bins[v] = c
		}
		if len(logged[dir]) == 0 {
			t.Errorf("direction %d: nothing logged", dir)
		}
		for v, c := range logged[dir] {
			if bins[v] < c {
				t.Errorf("direction %d: the log has %d I/Os at %g ns, json+ %d", dir, c, v, bins[v])
			}
		}
	}
}

// histRow is a log line of n I/Os in bucket idx.
func histRow(ms int64, dir int, idx int, n int64) string {
	f := make([]string, 3+fioPlatNR)
	for i := range f {
		f[i] = "0"
	}
	f[0], f[1], f[2] = strconv.FormatInt(ms, 10), strconv.Itoa(dir), "4096"
	f[3+idx] = strconv.FormatInt(n, 10)
	return strings.Join(f, ", ") + "\n"
}

// Windows that end late are spread over the seconds they overlap; the
// timeline stops where the logs do, not where the run did.
func TestFioTimelineSpread(t *testing.T) {
	job1 := histRow(1000, 0, 100, 1000) + histRow(2500, 0, 200, 3000) + histRow(3000, 0, 100, 500) +
		histRow(3000, 2, 10, 30) // trims: in iops only
	job2 := histRow(1000, 1, 300, 100) + histRow(3500, 1, 300, 250)
	tl, err := fioTimeline(map[string][]byte{"a.1.log": []byte(job1), "a.2.log": []byte(job2)}, 4200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Second 2 holds 1000 reads at bucket 200 and 500 at 100: its p50 is
	// at 200, a third of its reads below.
	want := map[string][]float64{
		"read_iops":      {1000, 2000, 1500},
		"read_bw":        {1000 * 4096, 2000 * 4096, 1500 * 4096},
		"read_clat_p50":  {fioPlatValue(100) / 1000, fioPlatValue(200) / 1000, fioPlatValue(200) / 1000},
		"read_clat_p99":  {fioPlatValue(100) / 1000, fioPlatValue(200) / 1000, fioPlatValue(200) / 1000},
		"write_iops":     {100, 100, 100},
		"write_bw":       {100 * 4096, 100 * 4096, 100 * 4096},
		"write_clat_p50": {fioPlatValue(300) / 1000, fioPlatValue(300) / 1000, fioPlatValue(300) / 1000},
		"write_clat_p99": {fioPlatValue(300) / 1000, fioPlatValue(300) / 1000, fioPlatValue(300) / 1000},
		"iops":           {1110, 2110, 1610},
	}
	if len(tl.Metrics) != len(want) || tl.Interval != time.Second {
		t.Errorf("series %v", tl.Metrics)
	}
	for name, w := range want {
		got := tl.Metrics[name]
		if len(got) != len(w) {
			t.Errorf("%s: %v, want %v", name, got, w)
			continue
		}
		for i := range w {
			if math.Abs(got[i]-w[i]) > 1e-6*w[i] {
				t.Errorf("%s: %v, want %v", name, got, w)
				break
			}
		}
	}
	if tl, _ := fioTimeline(map[string][]byte{"x": []byte(histRow(999, 0, 1, 1))}, 5*time.Second); tl != nil {
		t.Errorf("a log covering no full second: %+v", tl)
	}
	for _, bad := range []string{"1, 0, 4096, 1\n", histRow(1000, 3, 1, 1), strings.Replace(histRow(1000, 0, 1, 1), "4096", "-1", 1)} {
		if _, err := fioTimeline(map[string][]byte{"x": []byte(bad)}, 5*time.Second); err == nil {
			t.Errorf("%.40q...: no error", bad)
		}
	}
}

func TestFioPlatValue(t *testing.T) {
	// fio's plat_idx_to_val: the first 128 exact, then groups of 64
	// buckets each twice as wide as the group before, valued at their
	// middle.
	for idx, want := range map[int]float64{0: 0, 127: 127, 128: 129, 129: 131, 191: 255, 192: 258, 256: 516, fioPlatNR - 1: 1<<33 + 63.5*(1<<27)} {
		if got := fioPlatValue(idx); got != want {
			t.Errorf("bucket %d: %g, want %g", idx, got, want)
		}
	}
}

// A real fio run records its timeline: every second of both directions of
// two jobs, adding up to about the run's own rate.
func TestFioRunTimeline(t *testing.T) {
	needTool(t, "fio")
	m, err := Run(context.Background(), Target{Dir: t.TempDir()}, fioValues("rw", "randrw", "size", "4M", "numjobs", int64(2), "runtime", "3500ms", "time_based", true))
	if err != nil {
		t.Fatal(err)
	}
	checkFio(t, m, []string{"read", "write"})
	tl := m.Timeline
	if tl == nil {
		t.Fatalf("no timeline; command %q", m.Command)
	}
	iops := tl.Metrics["iops"]
	if n := len(iops); n < 2 || n > 3 {
		t.Fatalf("%d seconds of a 3.5 s run: %v", n, tl.Metrics)
	}
	var sum float64
	for i, v := range iops {
		r, w := tl.Metrics["read_iops"][i], tl.Metrics["write_iops"][i]
		if r <= 0 || w <= 0 || math.Abs(r+w-v) > 0.2 {
			t.Errorf("second %d: iops %g, read %g + write %g", i, v, r, w)
		}
		for _, d := range fioDirections {
			p50, p99 := tl.Metrics[d+"_clat_p50"][i], tl.Metrics[d+"_clat_p99"][i]
			if p50 <= 0 || p99 < p50 || p99 > m.Metrics[d+"_clat_max"]*(1+1.0/64) {
				t.Errorf("second %d %s: p50 %g p99 %g, max of the run %g", i, d, p50, p99, m.Metrics[d+"_clat_max"])
			}
		}
		sum += v
	}
	// Each second is within a factor of two of the run's mean rate, on a
	// machine shared with others.
	if mean := sum / float64(len(iops)); mean < m.Metrics["iops"]/2 || mean > m.Metrics["iops"]*2 {
		t.Errorf("timeline's mean %g IO/s, the run's %g", mean, m.Metrics["iops"])
	}
	if entries, _ := os.ReadDir(t.TempDir()); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

// FuzzFioHistLog: whatever a histogram log holds, its timeline is an
// error or finite, non-negative series of one length.
func FuzzFioHistLog(f *testing.F) {
	log, err := os.ReadFile("testdata/fio/randrw-hist.log")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(log, int64(2000))
	f.Add([]byte(histRow(1000, 0, 5, 1)+histRow(900, 0, 5, 1)), int64(3000))
	f.Fuzz(func(t *testing.T, data []byte, ms int64) {
		tl, err := fioTimeline(map[string][]byte{"x": data}, time.Duration(ms%100000)*time.Millisecond)
		if err != nil || tl == nil {
			return
		}
		n := len(tl.Metrics["iops"])
		for name, s := range tl.Metrics {
			if len(s) != n || !slices.ContainsFunc(fioMetrics, func(m notebook.Metric) bool { return m.Name == name }) {
				t.Fatalf("series %s of %d, want %d", name, len(s), n)
			}
			for _, v := range s {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: %g", name, v)
				}
			}
		}
	})
}

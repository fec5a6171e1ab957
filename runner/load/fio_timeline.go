package load

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A fio run's timeline comes from its completion latency histogram logs
// (--write_hist_log with --log_hist_msec=1000): one line per job, direction
// and window of about a second, holding the window's latency histogram in
// fio's buckets. The histograms give each second's I/Os and their
// percentiles exactly, where the averaged logs of log_avg_msec would give
// a mean of latencies only. fio writes a window when its helper thread
// gets to it, so on a loaded machine windows run from a few ms to well
// over a second late: their counts are spread over the seconds they
// overlap, in proportion.

// fioHistLog is the prefix of the histogram logs in the scratch folder:
// fio writes PREFIX_clat_hist.N.log for job N.
const fioHistLog = "benchbook-timeline"

// fioHistArgs are the options that make fio write them into dir.
func fioHistArgs(dir string) []string {
	return []string{
		"--write_hist_log=" + fioEscape(dir+"/"+fioHistLog),
		"--log_hist_msec=" + strconv.FormatInt(TimelineInterval.Milliseconds(), 10),
	}
}

// fioHistGlob matches the histogram logs of every job in dir.
func fioHistGlob(dir string) string { return dir + "/" + fioHistLog + "_clat_hist.*.log" }

// fio's latency buckets (stat.h): 29 groups of 64, the first two exact.
const (
	fioPlatBits = 6
	fioPlatVal  = 1 << fioPlatBits
	fioPlatNR   = 29 * fioPlatVal
)

// fioPlatValue is the latency in ns bucket idx stands for, as fio's
// plat_idx_to_val computes it (the mean of the bucket's range): the keys
// of json+'s bins are these.
func fioPlatValue(idx int) float64 {
	if idx < fioPlatVal<<1 {
		return float64(idx)
	}
	errorBits := idx>>fioPlatBits - 1
	base := uint64(1) << (errorBits + fioPlatBits)
	k := idx % fioPlatVal
	return float64(base) + (float64(k)+0.5)*float64(uint64(1)<<errorBits)
}

// fioHistRow is one line of a histogram log: the window ending at Ms (ms
// since the measured phase began) of one direction (0 read, 1 write,
// 2 trim), its block size, and its I/Os by bucket.
type fioHistRow struct {
	Ms   int64
	Dir  int
	BS   int64
	Bins []int64
}

// parseFioHistLog reads one histogram log, written with
// log_hist_coarseness = 0 (every bucket).
func parseFioHistLog(b []byte) ([]fioHistRow, error) {
	var rows []fioHistRow
	for n, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, ",")
		if len(fields) != 3+fioPlatNR {
			return nil, fmt.Errorf("line %d: %d fields, want %d (time, direction, block size and %d buckets)", n+1, len(fields), 3+fioPlatNR, fioPlatNR)
		}
		nums := make([]int64, len(fields))
		for i, f := range fields {
			v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("line %d: field %d: %q is no count", n+1, i+1, f)
			}
			nums[i] = v
		}
		if nums[1] > 2 {
			return nil, fmt.Errorf("line %d: direction %d (fio has 0 read, 1 write, 2 trim)", n+1, nums[1])
		}
		rows = append(rows, fioHistRow{Ms: nums[0], Dir: int(nums[1]), BS: nums[2], Bins: nums[3:]})
	}
	return rows, nil
}

// fioSecond is one direction's share of the windows in one second.
type fioSecond struct {
	ios, bytes float64
	bins       map[int]float64
}

// fioTimeline is the timeline of a run whose measured phase lasted
// runtime, from its jobs' histogram logs: for every full second the logs
// cover, all I/Os per second (iops), and of each direction with I/O its
// I/Os and bytes per second and its median and 99th percentile completion
// latency, under the names of fio's metrics. fio writes a window at the
// first completion after it is over, so the last one of a job is often
// missing: the timeline ends with the earliest last window of the jobs'
// directions. nil when it covers no full second.
func fioTimeline(logs map[string][]byte, runtime time.Duration) (*Timeline, error) {
	step := float64(TimelineInterval.Milliseconds())
	covered := float64(runtime.Milliseconds())
	var all [][]fioHistRow
	for _, name := range slices.Sorted(maps.Keys(logs)) {
		rows, err := parseFioHistLog(logs[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var last [3]float64
		for _, r := range rows {
			last[r.Dir] = max(last[r.Dir], float64(r.Ms))
		}
		for _, l := range last {
			if l > 0 {
				covered = min(covered, l)
			}
		}
		all = append(all, rows)
	}
	n := int(covered / step)
	if n <= 0 || len(all) == 0 {
		return nil, nil
	}
	secs := make([][3]fioSecond, n)
	for _, rows := range all {
		var from [3]float64 // end of each direction's last window
		for _, r := range rows {
			lo, hi := from[r.Dir], float64(r.Ms)
			from[r.Dir] = max(lo, hi)
			if hi > lo {
				spread(secs, r, lo, hi, step)
			}
		}
	}
	return fioSeries(secs, step/1000), nil
}

// spread adds row r, the window from lo to hi ms, to the seconds it
// overlaps, in proportion to the overlap.
func spread(secs [][3]fioSecond, r fioHistRow, lo, hi, step float64) {
	var ios int64
	for _, c := range r.Bins {
		ios += c
	}
	for s := int(lo / step); s < len(secs) && float64(s)*step < hi; s++ {
		share := (min(hi, float64(s+1)*step) - max(lo, float64(s)*step)) / (hi - lo)
		sec := &secs[s][r.Dir]
		sec.ios += share * float64(ios)
		sec.bytes += share * float64(ios*r.BS)
		for i, c := range r.Bins {
			if c == 0 {
				continue
			}
			if sec.bins == nil {
				sec.bins = map[int]float64{}
			}
			sec.bins[i] += share * float64(c)
		}
	}
}

// fioSeries turns the seconds into the timeline's series.
func fioSeries(secs [][3]fioSecond, seconds float64) *Timeline {
	t := &Timeline{Interval: TimelineInterval, Metrics: map[string][]float64{}}
	for d, name := range fioDirections {
		if !slices.ContainsFunc(secs, func(s [3]fioSecond) bool { return s[d].ios > 0 }) {
			continue // a direction with no I/O has no figures, not zeros
		}
		for _, s := range secs {
			sec := s[d]
			t.Metrics[name+"_iops"] = append(t.Metrics[name+"_iops"], round1(sec.ios/seconds))
			t.Metrics[name+"_bw"] = append(t.Metrics[name+"_bw"], math.Round(sec.bytes/seconds))
			t.Metrics[name+"_clat_p50"] = append(t.Metrics[name+"_clat_p50"], fioBinPercentile(sec.bins, 50)/1000)
			t.Metrics[name+"_clat_p99"] = append(t.Metrics[name+"_clat_p99"], fioBinPercentile(sec.bins, 99)/1000)
		}
	}
	for _, s := range secs {
		t.Metrics["iops"] = append(t.Metrics["iops"], round1((s[0].ios+s[1].ios+s[2].ios)/seconds))
	}
	return t
}

// round1 rounds to a tenth: the shares of windows spread over seconds
// have digits that say nothing.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// fioBinPercentile is the p-th percentile in ns of (fractional) bucket
// counts, by the rule of fioLatSum.percentile; 0 for none.
func fioBinPercentile(bins map[int]float64, p float64) float64 {
	var total float64
	for _, c := range bins {
		total += c
	}
	if total <= 0 {
		return 0
	}
	threshold := p / 100 * total
	var cum float64
	idx := slices.Sorted(maps.Keys(bins))
	for _, i := range idx {
		cum += bins[i]
		// Fractions add up to a hair under the total.
		if cum >= threshold*(1-1e-9) {
			return fioPlatValue(i)
		}
	}
	return fioPlatValue(idx[len(idx)-1])
}

// fioTimelineOf is the timeline of a judged run from the logs its
// process left. A run without them has none: a job file runs as it is,
// and logs over the collect limit (a long run of many jobs in a guest)
// are left out rather than failing figures that are good.
func fioTimelineOf(res procResult, runtime time.Duration) (*Timeline, error) {
	if len(res.files) == 0 || res.collectErr != nil {
		return nil, nil
	}
	tl, err := fioTimeline(res.files, runtime)
	if err != nil {
		return nil, fmt.Errorf("reading its histogram logs: %w", err)
	}
	return tl, nil
}

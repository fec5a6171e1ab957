package render

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/benchbook/benchbook/internal/numfmt"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// report is what a page shows beyond prose, gathered once per render from
// the notebook and its stored results: the results of each bench cell,
// whether they are fresh, and the colour of each guest.
type report struct {
	nb     *notebook.Notebook
	opt    Options
	bench  map[string]*benchData
	colors map[string]int // guest -> palette index, the same in every plot
	plots  map[int]*figure
}

// benchData is what is known about one bench cell's results.
type benchData struct {
	cell    *notebook.Cell
	file    *results.File // the last good results, or nil
	failure *results.File // the last failed run, or nil
	loadErr error         // results present but unreadable
	fresh   bool
	stale   string // why not fresh
	// envNote says how the environment of these results differs from the
	// notebook's newest run (see compareEnvironments), or "".
	envNote string
	// machines is the newest run of each machine side by side, when the
	// cell's history holds runs of several (see machines.go); nil for one.
	machines *sideBySide
	runs     int // in the cell's history, where one was read
}

func newReport(nb *notebook.Notebook, opt Options) *report {
	r := &report{nb: nb, opt: opt, bench: map[string]*benchData{}, colors: map[string]int{}, plots: map[int]*figure{}}
	for _, c := range nb.BenchCells() {
		for _, g := range c.Guests {
			if _, ok := r.colors[g]; !ok {
				r.colors[g] = len(r.colors)
			}
		}
		bd := &benchData{cell: c, stale: "no stored results"}
		r.bench[c.ID] = bd
		if opt.Results == nil {
			continue
		}
		f, err := opt.Results.Load(c.ID)
		switch {
		case err == nil:
			bd.file = f
		case !errors.Is(err, fs.ErrNotExist):
			bd.loadErr = err
		}
		if ff, err := opt.Results.LoadFailure(c.ID); err == nil {
			bd.failure = ff
		}
		hash := nb.InputHash(c, nil)
		switch {
		case bd.file == nil:
			bd.stale = "no stored results"
		case bd.file.InputHash != hash:
			bd.stale = "the cell, its guests, its load or the params it uses changed since this run"
		default:
			bd.fresh = true
		}
		if hr, ok := opt.Results.(HistoryReader); ok && bd.file != nil {
			// An unreadable history leaves the report to CELL.json; the
			// history page and benchbook history say what is wrong.
			// The summaries say whether several machines ran the cell;
			// only then are their newest runs read whole.
			entries, err := hr.Summaries(c.ID)
			if err == nil {
				bd.runs = len(entries)
			}
			if err == nil && machineCount(entries) >= 2 {
				if entries, err = hr.History(c.ID); err == nil {
					bd.machines = machinesSideBySide(c, bd.file, entries, hash)
				}
			}
		}
		if bd.machines != nil {
			for _, g := range bd.machines.view.Guests {
				if _, ok := r.colors[g.Name]; !ok {
					r.colors[g.Name] = len(r.colors)
				}
			}
		}
	}
	r.compareEnvironments()
	return r
}

// problem says why a bench cell's stored results cannot be shown, or "" when
// there simply are none yet.
func (r *report) problem(id string) string {
	bd := r.data(id)
	switch {
	case bd == nil:
		return ""
	case bd.loadErr != nil:
		return fmt.Sprintf("the stored results cannot be read: %v", bd.loadErr)
	case bd.file == nil && bd.failure != nil:
		return fmt.Sprintf("the last run (%s) failed: %s", formatWhen(bd.failure.Started), firstLine(bd.failure.Failure))
	}
	return ""
}

func (r *report) figureProblem(c *notebook.Cell, f *figure) string {
	if f != nil && f.Err != "" {
		return "the plot cannot be drawn: " + f.Err
	}
	return r.problem(c.From)
}

// expandCell returns c with its inline references replaced by figures.
func (r *report) expandCell(c *notebook.Cell) *notebook.Cell {
	text := r.expand(c.Text)
	if text == c.Text {
		return c
	}
	cc := *c
	cc.Text = text
	return &cc
}

// data returns the bench cell's stored results, or nil.
func (r *report) data(id string) *benchData { return r.bench[id] }

func (r *report) hasBenchResults() bool {
	for _, bd := range r.bench {
		if bd.file != nil || bd.failure != nil {
			return true
		}
	}
	return false
}

// guestRow is one guest (at one sweep point) as tables and captions show it.
type guestRow struct {
	Guest  string
	Point  string // "clients=4", or empty
	Status string // ok, failed, skipped
	Reason string
	Accel  string
	Sum    map[string]results.Summary
	Repeat int
	pt     *results.Point
}

// rows lists every guest of the file at every point, in cell order.
func rows(f *results.File, only []string) []guestRow {
	var out []guestRow
	for gi := range f.Guests {
		g := &f.Guests[gi]
		if len(only) > 0 && !slices.Contains(only, g.Name) {
			continue
		}
		if g.Status != results.StatusOK || len(g.Points) == 0 {
			out = append(out, guestRow{Guest: g.Name, Status: g.Status, Reason: g.Reason, Accel: g.Facts["accel"]})
			continue
		}
		for pi := range g.Points {
			p := &g.Points[pi]
			out = append(out, guestRow{
				Guest:  g.Name,
				Point:  results.PointLabel(p.Params),
				Status: g.Status,
				Accel:  g.Facts["accel"],
				Sum:    p.Summary,
				Repeat: len(p.Repeats),
				pt:     p,
			})
		}
	}
	return out
}

// accelNote is shown next to every figure that came from an emulated guest.
const accelNote = "accel: tcg — software emulation, not comparable with hardware virtualization"

func accelText(accel string) string {
	if accel == "tcg" {
		return accelNote
	}
	if accel != "" {
		return "accel: " + accel
	}
	return ""
}

// metricLabel is "Requests per second (ops/s)": a table's header or an
// axis title, in the unit given (the metric's own, or a prefixed one; see
// results.Scale).
func metricLabel(m results.Metric, unit string) string {
	if unit != "" {
		return m.Label + " (" + unit + ")"
	}
	return m.Label
}

// formatValue formats a figure for people, with its unit: "61,234 ops/s",
// "420 µs", "14.1 ms", "123 MB/s" (results.Scale says which prefix).
func formatValue(m results.Metric, v float64) string {
	div, unit := results.Scale(m.Unit, v)
	return formatIn(v, div, unit)
}

// formatIn formats v, divided by div, with unit.
func formatIn(v, div float64, unit string) string {
	s := formatNumber(v / div)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// formatNumber: thousands separators for large figures, three significant
// digits for small ones.
func formatNumber(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case a >= 1000:
		return numfmt.Group(int64(math.Round(v)))
	case a >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a == 0:
		return "0"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// spread is the half-width shown after "±": the larger side of the
// interval around the median, so "±" never understates.
func spread(s results.Summary) float64 {
	return math.Max(s.CIHigh-s.Median, s.Median-s.CILow)
}

// ratio formats a/b as "0.42×".
func formatRatio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "n/a"
	}
	x := a / b
	switch {
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64) + "×"
	case x >= 1:
		return strconv.FormatFloat(x, 'f', 2, 64) + "×"
	default:
		return strconv.FormatFloat(x, 'f', 2, 64) + "×"
	}
}

// formatVersus says how a figure compares with a baseline's in the
// metric's better direction: "2.10× better" (a latency half the
// baseline's, or a throughput twice it), "12× worse", "the same" (to the
// two decimals shown). A metric without a direction gets the plain ratio.
func formatVersus(m results.Metric, v, base float64) string {
	if m.Sign() == 0 {
		return formatRatio(v, base)
	}
	if m.Sign() < 0 {
		v, base = base, v
	}
	// A factor between a figure and zero, or figures of opposite signs,
	// means nothing.
	if x := v / base; !(x > 0) || math.IsInf(x, 0) {
		return "n/a"
	}
	switch r := formatRatio(v, base); {
	case r == "1.00×" || formatRatio(base, v) == "1.00×":
		return "the same"
	case v/base > 1:
		return r + " better"
	}
	return formatRatio(base, v) + " worse"
}

func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatBytes(n int64) string {
	const gib = 1 << 30
	if n >= gib {
		return strconv.FormatFloat(float64(n)/gib, 'f', 1, 64) + " GiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 0, 64) + " MiB"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

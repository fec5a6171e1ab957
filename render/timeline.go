package render

import (
	"fmt"
	"io"
	"slices"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render/plot"
	"github.com/benchbook/benchbook/results"
)

// timelineChart draws c.Y second by second through the measured phase,
// one line per guest: at each second the median over the repeats, with
// whiskers from the slowest to the fastest repeat. Only the first sweep
// point is drawn; a sweep would give a line per point and guest.
func (r *report) timelineChart(c *notebook.Cell, f *results.File, title string) (plot.Chart, []string) {
	l := plot.Line{Title: title, XLabel: "Seconds into the measured phase", Dense: true, TipFormat: formatNumber}
	swept := false
	for _, g := range r.guests(c, f) {
		if g.Status != results.StatusOK || len(g.Points) == 0 {
			continue
		}
		swept = swept || len(g.Points) > 1
		if s, ok := timelineSeries(g.Points[0].Repeats, c.Y); ok {
			s.Name, s.Color = g.Name, r.colors[g.Name]
			l.Series = append(l.Series, s)
		}
	}
	notes := guestNotes(f, r.only(c))
	if swept {
		notes = append(notes, "the first sweep point ("+results.PointLabel(f.Guests[0].Points[0].Params)+")")
	}
	if len(l.Series) == 0 {
		return noChart{fmt.Errorf("bench cell %s stored no timeline (the builtin load, memtier and fio record one per repeat; rerun the cell with one of them)", c.From)}, notes
	}
	l.YLabel = scaleSeries(f.Metric(c.Y), l.Series)
	return l, notes
}

// timelineSeries is metric's median over the repeats at each interval,
// with the repeats' range as whiskers.
func timelineSeries(reps []results.Repeat, metric string) (plot.Series, bool) {
	var ts []*results.Timeline
	var step float64
	for _, rep := range reps {
		if rep.Timeline != nil && len(rep.Timeline.Series(metric)) > 0 {
			ts = append(ts, rep.Timeline)
			step = rep.Timeline.IntervalS
		}
	}
	med := results.MedianTimeline(ts, metric)
	if len(med) == 0 || step <= 0 {
		return plot.Series{}, false
	}
	var s plot.Series
	for i, m := range med {
		lo, hi := m, m
		for _, t := range ts {
			if v := t.Series(metric); i < len(v) {
				lo, hi = min(lo, v[i]), max(hi, v[i])
			}
		}
		s.X = append(s.X, float64(i+1)*step)
		s.Y, s.Low, s.High = append(s.Y, m), append(s.Low, lo), append(s.High, hi)
	}
	return s, true
}

// noChart is a plot that cannot be drawn, and says why.
type noChart struct{ err error }

func (n noChart) Alt() string                  { return n.err.Error() }
func (n noChart) Draw(io.Writer, string) error { return n.err }

var _ plot.Chart = noChart{}

// behaviourNotes flag every repeat whose timeline is not steady (see
// results.Timeline.Behaviour): "host, repeat 2: throughput drifts: ...".
func behaviourNotes(f *results.File) []string {
	var out []string
	for _, g := range f.Guests {
		if g.Status != results.StatusOK {
			continue
		}
		for _, p := range g.Points {
			at := g.Name
			if label := results.PointLabel(p.Params); label != "" {
				at += " at " + label
			}
			for _, rep := range p.Repeats {
				for _, b := range rep.Timeline.Behaviour() {
					out = append(out, fmt.Sprintf("%s, repeat %d: %s", at, rep.Index+1, b))
				}
			}
		}
	}
	return slices.Clip(out)
}

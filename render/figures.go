package render

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render/plot"
	"github.com/benchbook/benchbook/results"
)

// figure is a plot cell drawn from stored results: its files and the words
// around it.
type figure struct {
	Name    string // file name without extension: plot-throughput-2
	SVG     []byte
	PNG     []byte
	Alt     string
	Title   string
	Caption string     // what the bars and whiskers are, failures, accel
	Err     string     // why it could not be drawn
	Data    [][]string // the figures drawn, header first: the plot's CSV
	Links   *dataLinks
	// EnvDiffs, with several machines side by side, say how their
	// environments differ.
	EnvDiffs []string
}

func (f *figure) SVGFile() string { return f.Name + ".svg" }

// Inline is the SVG as markup for the HTML page: drawn in the page rather
// than through an <img>, its <title> elements are tooltips on hover (a
// browser shows none inside an image). Only the <svg> element is kept: an
// XML declaration or comment before it has no place in HTML. The plot
// package writes it, escaping every text it draws, and it holds no script,
// no id and no link, so several on one page cannot clash.
func (f *figure) Inline() template.HTML {
	svg := f.SVG
	if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
		svg = svg[i:]
	}
	return template.HTML(bytes.TrimSpace(svg))
}
func (f *figure) PNGFile() string { return f.Name + ".png" }
func (f *figure) CSVFile() string { return f.Name + ".csv" }

// figureName is plot cell c's file name without extension.
func figureName(c *notebook.Cell) string { return fmt.Sprintf("plot-%s-%d", c.From, c.Index+1) }

// drawAll draws every plot of the report at once, on as many cores as
// there are: PNG encoding dominates a report's render time, and the plots
// do not depend on each other. Each lands in its own slot, so the result is
// the same whatever the order.
func (r *report) drawAll() {
	var cells []*notebook.Cell
	for _, c := range r.nb.Cells {
		if c.Kind == notebook.KindPlot {
			if _, done := r.plots[c.Index]; !done {
				cells = append(cells, c)
			}
		}
	}
	if len(cells) < 2 {
		return
	}
	figs := make([]*figure, len(cells))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, c := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			figs[i] = r.drawFigure(c)
		}()
	}
	wg.Wait()
	for i, c := range cells {
		r.plots[c.Index] = figs[i]
	}
}

// figure draws plot cell c, once per report.
func (r *report) figure(c *notebook.Cell) *figure {
	if f, ok := r.plots[c.Index]; ok {
		return f
	}
	f := r.drawFigure(c)
	r.plots[c.Index] = f
	return f
}

func (r *report) drawFigure(c *notebook.Cell) *figure {
	bd := r.data(c.From)
	fig := &figure{Name: figureName(c), Title: c.Title, Links: r.links(c)}
	if bd == nil || bd.file == nil {
		return nil
	}
	f := bd.view()
	var chart plot.Chart
	var notes []string
	whiskers := "whiskers: min–max"
	if c.ErrorBar == "ci95" {
		whiskers = "whiskers: 95 % confidence interval of the median"
	}
	title := c.Title
	switch c.Style {
	case "percentiles":
		if title == "" {
			title = "Latency by percentile"
		}
		chart, notes = r.percentileChart(c, f, title)
		notes = append([]string{"Median over repeats of each percentile"}, notes...)
	case "timeline":
		if title == "" {
			title = f.Metric(c.Y).Label + " through the run"
		}
		chart, notes = r.timelineChart(c, f, title)
		notes = append([]string{"Lines: median of the repeats at each second; whiskers: min–max"}, notes...)
	case "line":
		if title == "" {
			title = f.Metric(c.Y).Label
		}
		chart, notes = r.lineChart(c, f, title)
		notes = append([]string{"Points: median of the repeats; " + whiskers}, notes...)
	default:
		if title == "" {
			title = f.Metric(c.Y).Label
		}
		chart, notes = r.barChart(c, f, title)
		notes = append([]string{"Bars: median of the repeats; " + whiskers}, notes...)
	}
	if c.Style != "percentiles" && len(rows(f, nil)) > 1 {
		for _, note := range bd.noiseNotes([]string{c.Y}) {
			notes = append(notes, upperFirst(note))
		}
	}
	fig.EnvDiffs = bd.envNotes()
	fig.Title = title
	var svg, png bytes.Buffer
	if err := chart.Draw(&svg, "svg"); err != nil {
		fig.Err = err.Error()
		return fig
	}
	if err := chart.Draw(&png, "png"); err != nil {
		fig.Err = err.Error()
		return fig
	}
	fig.SVG, fig.PNG, fig.Alt = svg.Bytes(), png.Bytes(), chart.Alt()
	if t, ok := chart.(interface{ Table() [][]string }); ok {
		fig.Data = t.Table()
	}
	caption := strings.Join(notes, ". ") + "."
	if c.Caption != "" {
		caption = strings.TrimSpace(c.Caption) + " " + caption
	}
	fig.Caption = caption
	return fig
}

// guestNotes lists failed and skipped guests and emulated ones, for
// captions; guests that share a reason share a sentence.
func guestNotes(f *results.File, only []string) []string {
	type key struct{ status, reason string }
	var order []key
	names := map[key][]string{}
	for _, g := range f.Guests {
		if len(only) > 0 && !slices.Contains(only, g.Name) {
			continue
		}
		k := key{g.Status, firstLine(g.Reason)}
		if g.Status == results.StatusOK {
			if g.Facts["accel"] == "" {
				continue
			}
			k = key{"accel", accelText(g.Facts["accel"])}
		}
		if _, seen := names[k]; !seen {
			order = append(order, k)
		}
		names[k] = append(names[k], g.Name)
	}
	var notes []string
	for _, k := range order {
		who := joinNames(names[k])
		if k.status == "accel" {
			notes = append(notes, who+": "+k.reason)
		} else {
			notes = append(notes, fmt.Sprintf("%s %s: %s", who, k.status, k.reason))
		}
	}
	return notes
}

// joinNames is "a", "a and b", "a, b and c".
func joinNames(names []string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

func (r *report) guests(c *notebook.Cell, f *results.File) []*results.Guest {
	var out []*results.Guest
	only := r.only(c)
	for i := range f.Guests {
		g := &f.Guests[i]
		if len(only) > 0 && !slices.Contains(only, g.Name) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// only is the guests of f a plot cell c shows: its guests, on every
// machine shown; nil for all.
func (r *report) only(c *notebook.Cell) []string {
	if bd := r.data(c.From); bd != nil {
		return bd.only(c.Guests)
	}
	return c.Guests
}

func (r *report) bounds(c *notebook.Cell, s results.Summary) (lo, hi float64) {
	if c.ErrorBar == "ci95" {
		return s.CILow, s.CIHigh
	}
	return s.Min, s.Max
}

func (r *report) barChart(c *notebook.Cell, f *results.File, title string) (plot.Chart, []string) {
	b := plot.Bar{Title: title}
	metrics := []string{c.Y}
	if c.Group {
		base := strings.TrimPrefix(strings.TrimPrefix(c.Y, "sets."), "gets.")
		metrics = []string{"sets." + base, "gets." + base, base}
		b.Groups = []string{"sets", "gets", "totals"}
	}
	gs := r.guests(c, f)
	if labels := pointLabels(gs); !c.Group && len(labels) > 1 {
		// A sweep: a slot per point, a bar per guest in it.
		r.pointBars(&b, c, gs, labels)
	} else {
		r.guestBars(&b, c, gs, metrics)
	}
	// The axis takes the unit its largest figure reads best in (as a
	// table's cells do), and the bars are drawn in it.
	var top float64
	for _, vs := range b.Values {
		for _, v := range vs {
			top = max(top, math.Abs(v.Median), math.Abs(v.High))
		}
	}
	info := f.Metric(c.Y)
	div, unit := results.Scale(info.Unit, top)
	for _, vs := range b.Values {
		for i := range vs {
			vs[i].Median, vs[i].Low, vs[i].High = vs[i].Median/div, vs[i].Low/div, vs[i].High/div
		}
	}
	b.YLabel = metricLabel(info, unit)
	b.ValueFormat = func(v float64) string { return plot.Compact(v) }
	b.TipFormat = formatNumber
	return b, guestNotes(f, r.only(c))
}

// guestBars fills b with a slot per guest, a bar per metric in it.
func (r *report) guestBars(b *plot.Bar, c *notebook.Cell, gs []*results.Guest, metrics []string) {
	b.Values = make([][]plot.Value, len(metrics))
	for _, g := range gs {
		b.Categories = append(b.Categories, g.Name)
		b.Colors = append(b.Colors, r.colors[g.Name])
		for mi, m := range metrics {
			v := plot.Value{Missing: true, Note: g.Status}
			if g.Status == results.StatusOK && len(g.Points) > 0 {
				if s, ok := g.Points[0].Summary[m]; ok && s.N > 0 {
					lo, hi := r.bounds(c, s)
					v = plot.Value{Median: s.Median, Low: lo, High: hi}
				} else {
					v.Note = "no data"
				}
			}
			b.Values[mi] = append(b.Values[mi], v)
		}
	}
}

// pointBars fills b for a swept cell: the categories are the sweep's
// points (in the order the first guest ran them), a group per guest.
func (r *report) pointBars(b *plot.Bar, c *notebook.Cell, gs []*results.Guest, labels []string) {
	b.Categories = labels
	b.Values = make([][]plot.Value, len(gs))
	for gi, g := range gs {
		b.Groups = append(b.Groups, g.Name)
		for _, label := range labels {
			v := plot.Value{Missing: true, Note: g.Status}
			if g.Status == results.StatusOK {
				v.Note = "no data"
				for pi := range g.Points {
					if results.PointValues(g.Points[pi].Params) != label {
						continue
					}
					if s, ok := g.Points[pi].Summary[c.Y]; ok && s.N > 0 {
						lo, hi := r.bounds(c, s)
						v = plot.Value{Median: s.Median, Low: lo, High: hi}
					}
				}
			}
			b.Values[gi] = append(b.Values[gi], v)
		}
	}
	if len(gs) == 1 {
		b.Groups = nil // one bar per point, the guest in the title's cell
	}
}

// pointLabels are the sweep points the guests ran, in order, each by its
// values alone ("tap", "tap 4"): the names are the cell's.
func pointLabels(gs []*results.Guest) []string {
	var out []string
	for _, g := range gs {
		for pi := range g.Points {
			if l := results.PointValues(g.Points[pi].Params); !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

func (r *report) lineChart(c *notebook.Cell, f *results.File, title string) (plot.Chart, []string) {
	l := plot.Line{Title: title, XLabel: c.X, TipFormat: formatNumber}
	// x is a swept param, or else a metric (check allowed no other): each
	// point then sits at that metric's median, as y does.
	xMetric := false
	if b := r.nb.Bench(c.From); b != nil && !slices.ContainsFunc(b.Sweep, func(a notebook.SweepAxis) bool { return a.Param == c.X }) {
		xMetric = true
		l.XLabel = metricLabel(f.Metric(c.X), f.Metric(c.X).Unit)
	}
	minX, maxX := 0.0, 0.0
	for _, g := range r.guests(c, f) {
		if g.Status != results.StatusOK {
			continue
		}
		s := plot.Series{Name: g.Name, Color: r.colors[g.Name]}
		type pt struct{ x, y, lo, hi float64 }
		var pts []pt
		for _, p := range g.Points {
			x, ok := number(p.Params[c.X])
			if xMetric {
				xs, has := p.Summary[c.X]
				x, ok = xs.Median, has && xs.N > 0
			}
			sum, has := p.Summary[c.Y]
			if !ok || !has || sum.N == 0 {
				continue
			}
			lo, hi := r.bounds(c, sum)
			pts = append(pts, pt{x, sum.Median, lo, hi})
		}
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].x < pts[j].x })
		for _, p := range pts {
			s.X, s.Y, s.Low, s.High = append(s.X, p.x), append(s.Y, p.y), append(s.Low, p.lo), append(s.High, p.hi)
			if minX == 0 || p.x < minX {
				minX = p.x
			}
			maxX = max(maxX, p.x)
		}
		if len(s.X) > 0 {
			l.Series = append(l.Series, s)
		}
	}
	l.LogX = minX > 0 && maxX/minX > 10
	l.YLabel = scaleSeries(f.Metric(c.Y), l.Series)
	return l, guestNotes(f, r.only(c))
}

// scaleSeries writes the series in the unit their largest figure reads
// best in (results.Scale) and returns the axis label in that unit.
func scaleSeries(info results.Metric, series []plot.Series) string {
	var top float64
	for _, s := range series {
		for i := range s.Y {
			top = max(top, math.Abs(s.Y[i]), math.Abs(s.High[i]))
		}
	}
	div, unit := results.Scale(info.Unit, top)
	for _, s := range series {
		for i := range s.Y {
			s.Y[i], s.Low[i], s.High[i] = s.Y[i]/div, s.Low[i]/div, s.High[i]/div
		}
	}
	return metricLabel(info, unit)
}

func (r *report) percentileChart(c *notebook.Cell, f *results.File, title string) (plot.Chart, []string) {
	pc := plot.Percentiles{Title: title, TipFormat: formatNumber}
	for _, g := range r.guests(c, f) {
		if g.Status != results.StatusOK || len(g.Points) == 0 {
			continue
		}
		sp := plot.Spectrum{Name: g.Name, Color: r.colors[g.Name]}
		// The median over repeats at each percentile: one slow repeat does
		// not bend the curve, and the shape stays that of a real run.
		byP := map[float64][]float64{}
		for _, rep := range g.Points[0].Repeats {
			for _, p := range rep.Percentiles {
				byP[p.P] = append(byP[p.P], p.LatencyUs)
			}
		}
		ps := make([]float64, 0, len(byP))
		for p := range byP {
			ps = append(ps, p)
		}
		sort.Float64s(ps)
		for _, p := range ps {
			sp.P = append(sp.P, p)
			sp.LatencyUs = append(sp.LatencyUs, results.Summarize(byP[p]).Median)
		}
		if len(sp.P) > 0 {
			pc.Series = append(pc.Series, sp)
		}
	}
	return pc, guestNotes(f, r.only(c))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

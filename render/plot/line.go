package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Line is a line chart of a figure against a swept parameter (clients,
// value size...), one line per series with a point and an error bar at
// every measured x.
type Line struct {
	Title  string
	XLabel string // the swept parameter: "Clients"
	YLabel string // the figure with its unit: "Requests per second (ops/s)"
	Series []Series
	// LogX spaces x logarithmically; use it when x spans more than 10x
	// (clients 1..128). All x must then be > 0.
	LogX bool
	// Dense draws a series of many points, such as a run second by second,
	// as a bare line: no dots, whiskers thin and uncapped.
	Dense bool
	// TipFormat formats the y figures of the SVG's tooltips, as the
	// report's tables write them; nil means the alt text's format.
	TipFormat func(float64) string
}

// Series is one line, typically one guest.
type Series struct {
	Name  string
	Color int // palette index, stable per guest across a report
	X, Y  []float64
	// Low and High are the per-point error bar, or nil for none. Where
	// given, Low[i] <= Y[i] <= High[i].
	Low, High []float64
}

// validate checks series shapes and numbers; logX additionally demands
// positive x.
func validateSeries(series []Series, logX bool, xName string) error {
	if len(series) == 0 {
		return errors.New("no series")
	}
	for _, s := range series {
		if len(s.X) == 0 || len(s.X) != len(s.Y) {
			return fmt.Errorf("series %q: %d %s values and %d y values; want the same, at least one", s.Name, len(s.X), xName, len(s.Y))
		}
		if (s.Low == nil) != (s.High == nil) || (s.Low != nil && (len(s.Low) != len(s.Y) || len(s.High) != len(s.Y))) {
			return fmt.Errorf("series %q: low and high must both be nil or have one value per point", s.Name)
		}
		for i := range s.X {
			for _, f := range []struct {
				name string
				v    []float64
			}{{xName, s.X}, {"y", s.Y}, {"low", s.Low}, {"high", s.High}} {
				if f.v == nil {
					continue
				}
				if err := finite(fmt.Sprintf("series %q %s[%d]", s.Name, f.name, i), f.v[i]); err != nil {
					return err
				}
			}
			if s.Y[i] < 0 {
				return fmt.Errorf("series %q y[%d] is negative (%v); the y axis starts at 0", s.Name, i, s.Y[i])
			}
			if logX && s.X[i] <= 0 {
				return fmt.Errorf("series %q %s[%d] is %v; a log x axis needs values > 0", s.Name, xName, i, s.X[i])
			}
			if s.Low != nil && !(s.Low[i] <= s.Y[i] && s.Y[i] <= s.High[i]) {
				return fmt.Errorf("series %q point %d: want low <= y <= high, got %v <= %v <= %v", s.Name, i, s.Low[i], s.Y[i], s.High[i])
			}
		}
	}
	return nil
}

// Draw writes the chart as "svg" or "png".
func (l Line) Draw(w io.Writer, format string) error {
	if err := validateSeries(l.Series, l.LogX, "x"); err != nil {
		return fmt.Errorf("plot: line chart %q: %w", l.Title, err)
	}
	p := newPlot(l.XLabel, l.YLabel)
	var xs []float64
	top := 0.0
	for _, s := range l.Series {
		xs = append(xs, s.X...)
		for i := range s.Y {
			top = math.Max(top, s.Y[i])
			if s.High != nil {
				top = math.Max(top, s.High[i])
			}
		}
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	p.X.Min, p.X.Max = xs[0], xs[len(xs)-1]
	if l.LogX {
		p.X.Scale = gplot.LogScale{}
		if p.X.Min == p.X.Max {
			p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
		}
	} else if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	p.X.Tick.Marker = xTicks(xs, l.LogX)
	yt, ymax := linearTicks(top)
	p.Y.Min, p.Y.Max = 0, ymax
	p.Y.Tick.Marker = gplot.ConstantTicks(yt)

	lp := lines{}
	for _, s := range l.Series {
		lp = append(lp, line{name: s.Name, clr: seriesColor(s.Color), x: s.X, y: s.Y, low: s.Low, high: s.High, dense: l.Dense, tips: l.tips(s)})
	}
	return wrap("line chart", l.Title, lp.draw(w, format, p, l.Title, l.Alt()))
}

// xTicks labels the swept values themselves when there are few of them
// (a sweep is a handful of chosen points), else round numbers.
func xTicks(xs []float64, logX bool) gplot.Ticker {
	if len(xs) <= 12 {
		ticks := make([]gplot.Tick, len(xs))
		for i, x := range xs {
			ticks[i] = gplot.Tick{Value: x, Label: Compact(x)}
		}
		return gplot.ConstantTicks(ticks)
	}
	if logX {
		ticks, _, _ := logTicks(xs[0], xs[len(xs)-1])
		return gplot.ConstantTicks(ticks)
	}
	return gplot.TickerFunc(func(min, max float64) []gplot.Tick {
		ticks := gplot.DefaultTicks{}.Ticks(min, max)
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = Compact(ticks[i].Value)
			}
		}
		return ticks
	})
}

// line is one series in data coordinates.
type line struct {
	name            string // in the legend
	clr             color.NRGBA
	x, y, low, high []float64
	dense           bool
	tips            []string // each point's tooltip
}

// lines is the gonum plotter for series: error bars, then the line, then
// the points on top, series after series in the caller's order.
type lines []line

const (
	lineWidth = 1.8
	dotRadius = 3
)

// draw adds the series to p over a grid and writes the chart, titled and
// with a legend of the series, in format: the end of every chart drawn
// as lines.
func (ls lines) draw(w io.Writer, format string, p *gplot.Plot, title, alt string) error {
	legend := make([]legendEntry, len(ls))
	for i, l := range ls {
		legend[i] = legendEntry{name: l.name, color: l.clr, line: true}
	}
	// Keep the first point clear of the y tick labels.
	p.Y.Padding = 8
	p.Add(grid{vertical: true}, ls)
	return render(w, format, title, alt, func(c draw.Canvas) {
		p.Draw(frame(c, title, legend))
	})
}

func (ls lines) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, l := range ls {
		if l.low != nil {
			sty := draw.LineStyle{Color: darken(l.clr), Width: vg.Points(1)}
			for i := range l.x {
				if l.high[i] <= l.low[i] {
					continue
				}
				x, lo, hi := trX(l.x[i]), trY(l.low[i]), trY(l.high[i])
				if l.dense {
					c.StrokeLine2(draw.LineStyle{Color: l.clr, Width: vg.Points(0.6)}, x, lo, x, hi)
					continue
				}
				c.StrokeLine2(sty, x, lo, x, hi)
				c.StrokeLine2(sty, x-3, lo, x+3, lo)
				c.StrokeLine2(sty, x-3, hi, x+3, hi)
			}
		}
		pts := make([]vg.Point, len(l.x))
		for i := range l.x {
			pts[i] = vg.Point{X: trX(l.x[i]), Y: trY(l.y[i])}
		}
		if len(pts) > 1 {
			c.StrokeLines(draw.LineStyle{Color: l.clr, Width: vg.Points(lineWidth)}, pts)
		}
		for i, pt := range pts {
			if l.dense {
				hit(c, pt, l.tips[i])
				continue
			}
			tip(c, l.tips[i], func() { dot(c, pt, l.clr, dotRadius) })
		}
	}
}

// GlyphBoxes keeps points and error bar caps at the edges inside the plot.
func (ls lines) GlyphBoxes(p *gplot.Plot) []gplot.GlyphBox {
	var boxes []gplot.GlyphBox
	r := vg.Length(dotRadius + 1)
	for _, l := range ls {
		for i := range l.x {
			ys := []float64{l.y[i]}
			if l.low != nil {
				ys = append(ys, l.low[i], l.high[i])
			}
			for _, y := range ys {
				boxes = append(boxes, gplot.GlyphBox{
					X: p.X.Norm(l.x[i]), Y: p.Y.Norm(y),
					Rectangle: vg.Rectangle{Min: vg.Point{X: -r, Y: -r}, Max: vg.Point{X: r, Y: r}},
				})
			}
		}
	}
	return boxes
}

// tips are the tooltips of a series' points: "host, Clients 16: 61,234
// ops/s (60,112 to 62,001)".
func (l Line) tips(s Series) []string {
	x := l.XLabel
	if unit := unitOf(x); unit != "" {
		x = strings.TrimSpace(x[:strings.LastIndexByte(x, '(')])
	}
	if x != "" {
		x += " "
	}
	num, unit := tipFormat(l.TipFormat), unitOf(l.YLabel)
	out := make([]string, len(s.X))
	for i := range s.X {
		v := Value{Median: s.Y[i]}
		if s.Low != nil {
			v.Low, v.High = s.Low[i], s.High[i]
		}
		out[i] = fmt.Sprintf("%s, %s%s: %s", s.Name, x, withUnit(plainNumber(s.X[i]), unitOf(l.XLabel)), figure(v, num, unit))
	}
	return out
}

// Alt describes the chart: title, axes and every series' points.
func (l Line) Alt() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Line chart: %s.", strings.TrimSuffix(l.Title, "."))
	if l.YLabel != "" {
		fmt.Fprintf(&s, " %s", l.YLabel)
		if l.XLabel != "" {
			fmt.Fprintf(&s, " against %s", l.XLabel)
		}
		s.WriteString(":")
	}
	for i, sr := range l.Series {
		points := make([]string, min(len(sr.X), len(sr.Y)))
		for j := range points {
			points[j] = plainNumber(sr.Y[j]) + " at " + plainNumber(sr.X[j])
		}
		altSeries(&s, i, sr.Name, points)
	}
	s.WriteString(".")
	return s.String()
}

// altSeries writes series i of an alt text: its name and its points,
// after a ";" from the series before.
func altSeries(s *strings.Builder, i int, name string, points []string) {
	if i > 0 {
		s.WriteString(";")
	}
	s.WriteString(" " + name)
	for j, pt := range points {
		if j > 0 {
			s.WriteString(",")
		}
		s.WriteString(" " + pt)
	}
}

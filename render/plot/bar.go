package plot

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Value is one figure with its spread.
type Value struct {
	Median float64
	// Low and High bound the error bar (min-max or a 95% CI; the caption
	// says which). Both 0 means no spread is known: no error bar. Otherwise
	// Low <= Median <= High.
	Low, High float64
	// Missing marks a slot without a figure (the guest failed or was
	// skipped): no bar is drawn, the slot stays and shows Note, so a
	// failed guest is never silently dropped. Median, Low and High are
	// then ignored.
	Missing bool
	// Note is the word shown in a missing slot: "failed", "skipped".
	// Empty means "no data".
	Note string
}

// Bar is a bar chart of one figure per category (guest), or of several
// figures per category when Groups is set. Bars show the median, an error
// bar and the median's value; the Y axis starts at 0.
type Bar struct {
	Title string
	// YLabel names the figure with its unit in parentheses:
	// "Requests per second (ops/s)".
	YLabel string
	// Categories are the x slots, in order, e.g. guest names.
	Categories []string
	// Colors holds each category's palette index, stable per guest across
	// a report. Nil means category i gets index i.
	Colors []int
	// Groups optionally splits each category into side-by-side bars, e.g.
	// ["sets", "gets", "totals"]. A category keeps its colour; groups are
	// told apart by lighter tints and named in a legend.
	Groups []string
	// Values is indexed [group][category]: one row when Groups is empty,
	// len(Groups) rows otherwise. Values must be >= 0.
	Values [][]Value
	// ValueFormat formats the labels above bars; nil means Compact.
	ValueFormat func(float64) string
	// TipFormat formats the figures of the SVG's tooltips (a bar's
	// median and whisker ends), as the report's tables write them; nil
	// means the alt text's format.
	TipFormat func(float64) string
}

const (
	barSpan     = 0.7  // of a category slot, for a group of bars
	singleSpan  = 0.55 // of a slot, for a lone bar
	maxBarWidth = 64   // points: one category must not give one huge block
	barGap      = 2    // points between bars of a group
	labelGap    = 3    // points between a bar's top and its label
)

// validate checks the shape and the numbers of b.
func (b Bar) validate() error {
	if len(b.Categories) == 0 {
		return errors.New("no categories")
	}
	rows := max(1, len(b.Groups))
	if len(b.Values) != rows {
		if len(b.Groups) == 0 {
			return fmt.Errorf("%d value rows without groups; want 1", len(b.Values))
		}
		return fmt.Errorf("%d value rows for %d groups", len(b.Values), len(b.Groups))
	}
	if b.Colors != nil && len(b.Colors) != len(b.Categories) {
		return fmt.Errorf("%d colors for %d categories", len(b.Colors), len(b.Categories))
	}
	for g, row := range b.Values {
		if len(row) != len(b.Categories) {
			return fmt.Errorf("value row %d has %d values for %d categories", g, len(row), len(b.Categories))
		}
		for c, v := range row {
			if v.Missing {
				continue
			}
			what := fmt.Sprintf("value of %q", b.Categories[c])
			if len(b.Groups) > 0 {
				what = fmt.Sprintf("%q value of %q", b.Groups[g], b.Categories[c])
			}
			for _, f := range []struct {
				name string
				v    float64
			}{{"median", v.Median}, {"low", v.Low}, {"high", v.High}} {
				if err := finite(what+" "+f.name, f.v); err != nil {
					return err
				}
			}
			if v.Median < 0 {
				return fmt.Errorf("%s is negative (%v); bar charts start at 0", what, v.Median)
			}
			if hasSpread(v) && !(v.Low <= v.Median && v.Median <= v.High) {
				return fmt.Errorf("%s: want low <= median <= high, got %v <= %v <= %v", what, v.Low, v.Median, v.High)
			}
		}
	}
	return nil
}

func hasSpread(v Value) bool { return v.Low != 0 || v.High != 0 }

func (b Bar) color(c int) int {
	if b.Colors == nil {
		return c
	}
	return b.Colors[c]
}

func (b Bar) format() func(float64) string {
	if b.ValueFormat != nil {
		return b.ValueFormat
	}
	return Compact
}

func note(v Value) string {
	if v.Note == "" {
		return "no data"
	}
	return v.Note
}

// Draw writes the chart as "svg" or "png".
func (b Bar) Draw(w io.Writer, format string) error {
	if err := b.validate(); err != nil {
		return fmt.Errorf("plot: bar chart %q: %w", b.Title, err)
	}
	var legend []legendEntry
	for g, name := range b.Groups {
		legend = append(legend, legendEntry{name: name, color: tint(mutedColor, groupTint(g, len(b.Groups)))})
	}
	p := newPlot("", b.YLabel)
	ticks := make([]gplot.Tick, len(b.Categories))
	for i, name := range b.Categories {
		ticks[i] = gplot.Tick{Value: float64(i), Label: name}
	}
	p.X.Min, p.X.Max = -0.5, float64(len(b.Categories))-0.5
	p.X.Tick.Marker = gplot.ConstantTicks(ticks)
	p.X.Tick.Label = plainText(labelSize, inkColor)
	p.X.Tick.Label.YAlign = draw.YTop

	top, measured := 0.0, false
	for _, row := range b.Values {
		for _, v := range row {
			if !v.Missing {
				top, measured = math.Max(top, math.Max(v.Median, v.High)), true
			}
		}
	}
	yt, ymax := linearTicks(top)
	if !measured {
		// Nothing measured: a scale would only invent numbers.
		yt = []gplot.Tick{{Value: 0, Label: "0"}}
	}
	p.Y.Min, p.Y.Max = 0, ymax
	p.Y.Tick.Marker = gplot.ConstantTicks(yt)
	p.Add(grid{}, bars{b})

	return wrap("bar chart", b.Title, render(w, format, b.Title, b.Alt(), func(c draw.Canvas) {
		p.Draw(frame(c, b.Title, legend))
	}))
}

func wrap(kind, title string, err error) error {
	if err != nil {
		return fmt.Errorf("plot: %s %q: %w", kind, title, err)
	}
	return nil
}

// groupTint is how much lighter group g of n is drawn than its category's
// colour: the first group is solid, the last at most 70% lighter.
func groupTint(g, n int) float64 {
	if n <= 1 {
		return 0
	}
	return float64(g) * math.Min(0.35, 0.7/float64(n-1))
}

// bars is the gonum plotter for a Bar's data.
type bars struct{ b Bar }

// geometry returns the width of one bar and the x offset (data units) of
// group g's centre from its category's centre.
func (bs bars) geometry(c draw.Canvas, p *gplot.Plot) (width vg.Length, offset func(g int) float64) {
	n := len(bs.b.Values)
	span := barSpan
	if n == 1 {
		span = singleSpan
	}
	trX, _ := p.Transforms(&c)
	slot := trX(1) - trX(0)
	if limit := vg.Length(maxBarWidth * n); slot*vg.Length(span) > limit {
		span = float64(limit / slot)
	}
	width = slot * vg.Length(span) / vg.Length(n)
	return width, func(g int) float64 { return -span/2 + span*(float64(g)+0.5)/float64(n) }
}

func (bs bars) Plot(c draw.Canvas, p *gplot.Plot) {
	b := bs.b
	trX, trY := p.Transforms(&c)
	width, offset := bs.geometry(c, p)
	label := plainText(valueSize, inkColor)
	noteStyle := textStyle(noteSize, mutedColor, xfont.WeightNormal, xfont.StyleItalic)
	errStyle := draw.LineStyle{Color: errColor, Width: vg.Points(1)}
	capW := min(width*0.4, 8)
	base := trY(0)
	for ci := range b.Categories {
		clr := seriesColor(b.color(ci))
		if merged, word := mergedNote(b.Values, ci); merged && len(b.Values) > 1 {
			// One word for the whole slot reads better than one per bar.
			drawNote(c, noteStyle, trX(float64(ci)), base, vg.Length(barSpan)*(trX(1)-trX(0)), word)
			continue
		}
		for g, row := range b.Values {
			v := row[ci]
			x := trX(float64(ci) + offset(g))
			if v.Missing {
				drawNote(c, noteStyle, x, base, width, note(v))
				continue
			}
			half := width/2 - barGap/2
			if len(b.Values) == 1 {
				half = width / 2
			}
			r := vg.Rectangle{Min: vg.Point{X: x - half, Y: base}, Max: vg.Point{X: x + half, Y: trY(v.Median)}}
			fill := tint(clr, groupTint(g, len(b.Values)))
			tip(c, b.tip(ci, g), func() {
				if r.Max.Y > r.Min.Y {
					c.SetColor(fill)
					c.Fill(r.Path())
					outline(c, r, darken(clr))
				}
				labelY := r.Max.Y
				if hasSpread(v) && v.High > v.Low {
					lo, hi := trY(math.Max(v.Low, 0)), trY(v.High)
					c.StrokeLine2(errStyle, x, lo, x, hi)
					c.StrokeLine2(errStyle, x-capW/2, lo, x+capW/2, lo)
					c.StrokeLine2(errStyle, x-capW/2, hi, x+capW/2, hi)
					labelY = max(labelY, hi)
				}
				c.FillText(label, vg.Point{X: x, Y: labelY + labelGap}, b.format()(v.Median))
			})
		}
	}
}

// GlyphBoxes reserves room above the bars for their value labels, so that
// the tallest label is never clipped by the title.
func (bs bars) GlyphBoxes(p *gplot.Plot) []gplot.GlyphBox {
	label := plainText(valueSize, inkColor)
	h := label.Height("0")
	var boxes []gplot.GlyphBox
	for _, row := range bs.b.Values {
		for ci, v := range row {
			if v.Missing {
				continue
			}
			boxes = append(boxes, gplot.GlyphBox{
				X: p.X.Norm(float64(ci)),
				Y: p.Y.Norm(math.Max(v.Median, v.High)),
				// Zero width: only vertical room is needed.
				Rectangle: vg.Rectangle{Min: vg.Point{Y: labelGap}, Max: vg.Point{Y: labelGap + h}},
			})
		}
	}
	return boxes
}

// mergedNote reports whether every value of category ci is missing with
// the same note.
func mergedNote(rows [][]Value, ci int) (bool, string) {
	if len(rows) == 0 {
		return false, ""
	}
	for _, row := range rows {
		if ci >= len(row) {
			return false, ""
		}
	}
	word := note(rows[0][ci])
	for _, row := range rows {
		if !row[ci].Missing || note(row[ci]) != word {
			return false, ""
		}
	}
	return true, word
}

// drawNote writes a missing value's note in its empty slot, on the
// baseline, turned upright when it is wider than the slot.
func drawNote(c draw.Canvas, sty text.Style, x, base, slot vg.Length, s string) {
	if sty.Width(s) > slot {
		sty.Rotation = math.Pi / 2
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	}
	c.FillText(sty, vg.Point{X: x, Y: base + 5}, s)
}

// figure is a bar's figure in words, its numbers formatted by num: "42.5
// µs (40 to 45)", or the note of a missing value.
func figure(v Value, num func(float64) string, unit string) string {
	if v.Missing {
		return note(v)
	}
	out := withUnit(num(v.Median), unit)
	if hasSpread(v) && v.High > v.Low {
		out += fmt.Sprintf(" (%s to %s)", num(v.Low), num(v.High))
	}
	return out
}

// tip is the tooltip of the bar of group g in category ci: "osv, gets:
// 61,234 ops/s (60,112 to 62,001)".
func (b Bar) tip(ci, g int) string {
	name := b.Categories[ci]
	if len(b.Groups) > 0 {
		name += ", " + b.Groups[g]
	}
	return name + ": " + figure(b.Values[g][ci], tipFormat(b.TipFormat), unitOf(b.YLabel))
}

// Alt describes the chart: its title, the figure and every category's
// median with its spread, and the note of every missing value.
func (b Bar) Alt() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Bar chart: %s.", strings.TrimSuffix(b.Title, "."))
	unit := unitOf(b.YLabel)
	if b.YLabel != "" {
		fmt.Fprintf(&s, " %s", b.YLabel)
		if len(b.Groups) > 0 {
			fmt.Fprintf(&s, " for %s", strings.Join(b.Groups, ", "))
		}
		s.WriteString(":")
	}
	for ci, name := range b.Categories {
		if ci > 0 {
			s.WriteString(";")
		}
		fmt.Fprintf(&s, " %s", name)
		if len(b.Groups) == 0 {
			if len(b.Values) > 0 && ci < len(b.Values[0]) {
				fmt.Fprintf(&s, " %s", figure(b.Values[0][ci], plainNumber, unit))
			}
			continue
		}
		if merged, word := mergedNote(b.Values, ci); merged {
			fmt.Fprintf(&s, " %s", word)
			continue
		}
		s.WriteString(":")
		for g, group := range b.Groups {
			if g < len(b.Values) && ci < len(b.Values[g]) {
				sep := ","
				if g == 0 {
					sep = ""
				}
				fmt.Fprintf(&s, "%s %s %s", sep, group, figure(b.Values[g][ci], plainNumber, unit))
			}
		}
	}
	s.WriteString(".")
	return s.String()
}

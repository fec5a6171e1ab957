package plot

import (
	"image/color"
	"math"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette is Okabe & Ito's colour-blind-safe set, most distinct first.
// Their black is replaced by a mid grey so that every entry also reads on a
// dark page (the renderer may use Palette for swatches in HTML tables), and
// yellow, the weakest on the light card, comes last but one.
var palette = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
	{0x99, 0x99, 0x99, 0xFF}, // grey
}

// Palette returns the series colours; a chart's colour index i picks
// Palette()[i mod len]. The slice is a copy.
func Palette() []color.Color {
	out := make([]color.Color, len(palette))
	for i, c := range palette {
		out[i] = c
	}
	return out
}

// seriesColor maps a caller's palette index to its colour; indices wrap so
// that a report with many guests still draws.
func seriesColor(i int) color.NRGBA {
	n := len(palette)
	return palette[((i%n)+n)%n]
}

// The card's colours, chosen for WCAG AA contrast of text on the card.
var (
	cardColor   = color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	borderColor = color.NRGBA{0xD0, 0xD7, 0xDE, 0xFF}
	inkColor    = color.NRGBA{0x1F, 0x23, 0x28, 0xFF} // title, labels, values
	mutedColor  = color.NRGBA{0x59, 0x63, 0x6E, 0xFF} // axis text, notes
	gridColor   = color.NRGBA{0xE4, 0xE8, 0xEC, 0xFF}
	axisColor   = color.NRGBA{0x8C, 0x95, 0x9F, 0xFF}
	errColor    = color.NRGBA{0x32, 0x38, 0x3F, 0xFF}
)

// Sizes in points; the PNG has DPI/72 pixels per point.
const (
	cardRadius = 10
	cardPad    = 12
	titleSize  = 12
	labelSize  = 9.5
	tickSize   = 9
	valueSize  = 8
	legendSize = 9
	noteSize   = 8.5
)

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

func textStyle(size float64, clr color.Color, weight xfont.Weight, style xfont.Style) text.Style {
	f := font.From(sans, vg.Points(size))
	f.Weight = weight
	f.Style = style
	return text.Style{
		Color:   clr,
		Font:    f,
		XAlign:  draw.XCenter,
		YAlign:  draw.YBottom,
		Handler: gplot.DefaultTextHandler,
	}
}

func plainText(size float64, clr color.Color) text.Style {
	return textStyle(size, clr, xfont.WeightNormal, xfont.StyleNormal)
}

// legendEntry is one item of the legend row under the title.
type legendEntry struct {
	name  string
	color color.Color
	line  bool // a line with a dot (series), else a filled square (bars)
}

// drawCard draws the card that carries the chart: a rounded rectangle
// with a light border. When filled is false the canvas already has the card
// colour (the PNG background) and only the border is drawn: rasterising a
// fill of the whole image costs more than all the rest of the chart.
func drawCard(c draw.Canvas, filled bool) {
	card := c.Rectangle
	card.Min = card.Min.Add(vg.Point{X: 0.5, Y: 0.5})
	card.Max = card.Max.Sub(vg.Point{X: 0.5, Y: 0.5})
	path := roundedRect(card, cardRadius)
	if filled {
		c.SetColor(cardColor)
		c.Fill(path)
	}
	c.SetLineStyle(draw.LineStyle{Color: borderColor, Width: vg.Points(1)})
	c.Stroke(path)
}

// frame draws the title and the legend on the card and returns the canvas
// left for the plot itself.
func frame(c draw.Canvas, title string, legend []legendEntry) draw.Canvas {
	in := draw.Crop(c, cardPad, -cardPad, cardPad-2, -cardPad+2)
	top := in.Max.Y
	if title != "" {
		sty := textStyle(titleSize, inkColor, xfont.WeightBold, xfont.StyleNormal)
		sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
		in.FillText(sty, vg.Point{X: in.Min.X, Y: top}, title)
		top -= sty.Height(title) + 4
	}
	if len(legend) > 0 {
		top -= drawLegend(in, top, legend) + 2
	}
	in.Max.Y = top - 4
	return in
}

// drawLegend lays entries out left to right under the title, wrapping
// when a row is full, and returns the height it used. A row keeps the plot
// area free: gonum's legend sits inside the data area and hides points.
func drawLegend(c draw.Canvas, top vg.Length, entries []legendEntry) vg.Length {
	sty := plainText(legendSize, inkColor)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	const swatch, gap, space = 18, 4, 14
	rowH := sty.FontExtents().Height + 3
	x, y := c.Min.X, top-rowH/2
	for _, e := range entries {
		w := swatch + gap + sty.Width(e.name)
		if x > c.Min.X && x+w > c.Max.X {
			x, y = c.Min.X, y-rowH
		}
		if e.line {
			c.StrokeLine2(draw.LineStyle{Color: e.color, Width: vg.Points(2)}, x, y, x+swatch, y)
			dot(c, vg.Point{X: x + swatch/2, Y: y}, e.color, 2.6)
		} else {
			r := vg.Rectangle{Min: vg.Point{X: x + 4, Y: y - 5}, Max: vg.Point{X: x + 14, Y: y + 5}}
			c.SetColor(e.color)
			c.Fill(r.Path())
			outline(c, r, darken(e.color))
		}
		c.FillText(sty, vg.Point{X: x + swatch + gap, Y: y}, e.name)
		x += w + space
	}
	return top - y + rowH/2
}

func roundedRect(r vg.Rectangle, rad vg.Length) vg.Path {
	var p vg.Path
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	p.Move(vg.Point{X: x0 + rad, Y: y0})
	p.Line(vg.Point{X: x1 - rad, Y: y0})
	p.Arc(vg.Point{X: x1 - rad, Y: y0 + rad}, rad, -math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: x1, Y: y1 - rad})
	p.Arc(vg.Point{X: x1 - rad, Y: y1 - rad}, rad, 0, math.Pi/2)
	p.Line(vg.Point{X: x0 + rad, Y: y1})
	p.Arc(vg.Point{X: x0 + rad, Y: y1 - rad}, rad, math.Pi/2, math.Pi/2)
	p.Line(vg.Point{X: x0, Y: y0 + rad})
	p.Arc(vg.Point{X: x0 + rad, Y: y0 + rad}, rad, math.Pi, math.Pi/2)
	p.Close()
	return p
}

// dot draws a data point: a filled circle with a thin card-coloured ring
// that separates overlapping points and lines.
func dot(c draw.Canvas, at vg.Point, clr color.Color, r vg.Length) {
	var p vg.Path
	p.Move(vg.Point{X: at.X + r, Y: at.Y})
	p.Arc(at, r, 0, 2*math.Pi)
	p.Close()
	c.SetColor(clr)
	c.Fill(p)
	c.SetLineStyle(draw.LineStyle{Color: cardColor, Width: vg.Points(0.8)})
	c.Stroke(p)
}

func outline(c draw.Canvas, r vg.Rectangle, clr color.Color) {
	c.SetLineStyle(draw.LineStyle{Color: clr, Width: vg.Points(0.6)})
	c.Stroke(r.Path())
}

// tint mixes clr with the card colour; f=0 is clr, f=1 is the card.
func tint(clr color.NRGBA, f float64) color.NRGBA {
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-f) + float64(b)*f)) }
	return color.NRGBA{mix(clr.R, cardColor.R), mix(clr.G, cardColor.G), mix(clr.B, cardColor.B), 0xFF}
}

// darken gives an edge colour for a fill, so that light fills (yellow,
// tints) keep a visible border on the light card.
func darken(clr color.Color) color.NRGBA {
	n := color.NRGBAModel.Convert(clr).(color.NRGBA)
	d := func(v uint8) uint8 { return uint8(math.Round(float64(v) * 0.7)) }
	return color.NRGBA{d(n.R), d(n.G), d(n.B), 0xFF}
}

// newPlot returns a gonum plot styled for the card: no background (the
// card is it), sans-serif text, a light baseline with short ticks, and the
// vertical axis line and ticks left out -- the horizontal grid does their
// job.
func newPlot(xLabel, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.BackgroundColor = nil
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle = plainText(labelSize, mutedColor)
		a.Tick.Label = plainText(tickSize, mutedColor)
		a.Tick.Length = 0
		a.Tick.LineStyle = draw.LineStyle{Color: axisColor, Width: vg.Points(0.8)}
		a.Padding = 0
		a.LineStyle = draw.LineStyle{Color: axisColor, Width: vg.Points(0.8)}
	}
	// Short ticks under the baseline only: they part the labels from it.
	p.X.Tick.Length = 4
	p.X.Label.Text = xLabel
	p.X.Label.Padding = 3
	p.X.Tick.Label.YAlign = draw.YTop
	p.Y.Label.Text = yLabel
	p.Y.Label.Padding = 4
	p.Y.Tick.Label.XAlign = draw.XRight
	p.Y.Tick.Label.YAlign = draw.YCenter
	p.Y.LineStyle.Width = 0
	return p
}

// grid draws light grid lines at the major ticks, under the data.
type grid struct{ vertical bool }

func (g grid) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: gridColor, Width: vg.Points(0.7)}
	if g.vertical {
		for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			if x := trX(t.Value); !t.IsMinor() && c.ContainsX(x) {
				c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
			}
		}
	}
	for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if y := trY(t.Value); !t.IsMinor() && c.ContainsY(y) && t.Value != p.Y.Min {
			c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
		}
	}
}

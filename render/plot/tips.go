package plot

import (
	"bytes"
	"encoding/xml"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Tips: in the SVG, every data mark (a bar with its whisker and label, a
// point of a line) sits in a group with a <title>, which a browser shows
// on hover: the series, the x and the exact figure, no JavaScript. The PNG
// is drawn as before.
//
// gonum's SVG canvas writes its elements to a buffer of its own, so a
// group is opened and closed by marker texts drawn around the mark, which
// the finished SVG then has replaced (tipSVG).

// tipCanvas is the SVG canvas with the titles of the marks drawn so far.
type tipCanvas struct {
	*vgsvg.Canvas
	titles []string
}

// tipOpen and tipClose begin the marker texts; a private-use character,
// followed by the mark's number, which no chart's text holds.
const (
	tipOpen  = "\uE000"
	tipClose = "\uE001"
)

// markerFace is the font of the marker texts: any face will do, the text
// is replaced.
var markerFace = font.DefaultCache.Lookup(sans, vg.Points(1))

// tips is the SVG canvas under c (gonum nests canvases), or nil when c
// draws something else.
func tips(c draw.Canvas) *tipCanvas {
	for {
		switch in := c.Canvas.(type) {
		case *tipCanvas:
			return in
		case draw.Canvas:
			c = in
		default:
			return nil
		}
	}
}

// tip draws mark in a group titled title when c is the SVG canvas, else
// only draws it.
func tip(c draw.Canvas, title string, mark func()) {
	tc := tips(c)
	if tc == nil {
		mark()
		return
	}
	n := strconv.Itoa(len(tc.titles))
	tc.titles = append(tc.titles, title)
	tc.FillString(markerFace, vg.Point{}, tipOpen+n)
	mark()
	tc.FillString(markerFace, vg.Point{}, tipClose+n)
}

// hit draws, in the SVG only, an invisible disc at a point that has no
// mark of its own (a dense line's vertex), for its title.
func hit(c draw.Canvas, at vg.Point, title string) {
	if tips(c) == nil {
		return
	}
	tip(c, title, func() {
		r := vg.Length(dotRadius + 1)
		var p vg.Path
		p.Move(vg.Point{X: at.X + r, Y: at.Y})
		p.Arc(at, r, 0, 2*math.Pi)
		p.Close()
		c.SetColor(color.NRGBA{})
		c.Fill(p)
	})
}

// tipSVG replaces the marker texts of svg with the groups they stand for:
// "<g>" and the mark's <title> before it, "</g>" after.
func tipSVG(svg []byte, titles []string) []byte {
	if len(titles) == 0 {
		return svg
	}
	var out bytes.Buffer
	out.Grow(len(svg) + 32*len(titles))
	rest := svg
	for i, title := range titles {
		n := strconv.Itoa(i)
		for _, marker := range []string{tipOpen + n, tipClose + n} {
			at := bytes.Index(rest, []byte(">"+marker+"</text>\n"))
			start := bytes.LastIndex(rest[:max(at, 0)], []byte("<text "))
			if at < 0 || start < 0 {
				panic("plot: svg without the marker of tip " + n)
			}
			out.Write(rest[:start])
			if marker[:len(tipOpen)] == tipOpen {
				out.WriteString("<g><title>")
				xml.EscapeText(&out, []byte(title))
				out.WriteString("</title>\n")
			} else {
				out.WriteString("</g>\n")
			}
			rest = rest[at+len(">"+marker+"</text>\n"):]
		}
	}
	out.Write(rest)
	return out.Bytes()
}

// tipFormat is the format of a chart's tooltip figures: f, or else the
// alt text's.
func tipFormat(f func(float64) string) func(float64) string {
	if f != nil {
		return f
	}
	return plainNumber
}

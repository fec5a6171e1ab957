// Package plot draws the charts of a benchmark report -- bars, lines over a
// swept parameter, latency percentile spectra -- as SVG or PNG with
// gonum.org/v1/plot.
//
// It takes plain values (Bar, Line, Percentiles) and knows nothing of
// notebooks or stored results: the report renderer converts those into
// these types. Output is repeatable byte for byte: the size, resolution and
// fonts (gonum's embedded Liberation Sans) are fixed and nothing depends on
// map order, time or randomness.
//
// Every chart is drawn on an opaque light card with rounded corners and
// transparent surroundings. The same chart is therefore legible on a white
// page and on a near-black (dark mode) page, in both formats: a PNG cannot
// follow prefers-color-scheme, and rewriting gonum's inline SVG colours for
// a dark theme would give the two formats different looks and double what
// must be checked.
package plot

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"git.sr.ht/~sbinet/gg"
	"github.com/benchbook/benchbook/internal/atomicfile"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Width and Height are the size of every chart (16:9, about 16 x 9 cm;
// 614 x 346 CSS pixels for the SVG). DPI is the PNG resolution, giving
// PixelWidth x PixelHeight: sharp on a high-density screen at the SVG's size.
const (
	Width       = 6.4 * vg.Inch
	Height      = 3.6 * vg.Inch
	DPI         = 200
	PixelWidth  = 1280
	PixelHeight = 720
)

// Chart is a chart that can describe itself in words and draw itself.
type Chart interface {
	// Alt is a one-paragraph description of the data for the img alt
	// attribute and screen readers: chart kind, title, every figure.
	Alt() string
	// Draw validates the data and writes the chart in format "svg" or
	// "png". Invalid data (NaN, Inf, ragged slices...) is an error and
	// nothing is written.
	Draw(w io.Writer, format string) error
}

var (
	_ Chart = Bar{}
	_ Chart = Line{}
	_ Chart = Percentiles{}
)

// formats lists the output formats, which are also the file extensions
// Save understands.
var formats = []string{"svg", "png"}

// Save draws c into the file at path; the format follows the extension
// (.svg or .png). The file is replaced atomically, so a failed draw never
// leaves half an image behind.
func Save(path string, c Chart) error {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if !supported(format) {
		return fmt.Errorf("plot: save %s: unknown image extension %q (use .svg or .png)", path, filepath.Ext(path))
	}
	var buf bytes.Buffer
	if err := c.Draw(&buf, format); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	return nil
}

func supported(format string) bool {
	for _, f := range formats {
		if f == format {
			return true
		}
	}
	return false
}

// render draws onto a fresh canvas of the given format and writes it to w.
// title and alt become the SVG's <title> and <desc>.
func render(w io.Writer, format, title, alt string, paint func(draw.Canvas)) (err error) {
	if !supported(format) {
		return fmt.Errorf("unknown format %q (want svg or png)", format)
	}
	// gonum panics on inputs it cannot draw. Validation should have
	// rejected them all, but one bad chart must not take down the
	// rendering of a whole site.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing %s: %v", format, r)
		}
	}()
	switch format {
	case "svg":
		c := &tipCanvas{Canvas: vgsvg.NewWith(vgsvg.UseWH(Width, Height))}
		dc := draw.New(c)
		drawCard(dc, true)
		paint(dc)
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return fmt.Errorf("writing svg: %w", err)
		}
		if _, err := w.Write(polishSVG(tipSVG(buf.Bytes(), c.titles), title, alt)); err != nil {
			return fmt.Errorf("writing svg: %w", err)
		}
	case "png":
		img := images.Get().(*image.RGBA)
		defer images.Put(img)
		// vgimg.New would allocate the image twice (gg copies it); a
		// context on a pooled image allocates nothing that size. These
		// are the settings vgimg gives its own context.
		ctx := gg.NewContextForRGBA(img)
		ctx.SetLineCapButt()
		ctx.InvertY()
		c := vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(DPI))
		// The background: vgimg has just cleared the image to white.
		if cardColor != (color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}) {
			stddraw.Draw(img, img.Bounds(), image.NewUniform(cardColor), image.Point{}, stddraw.Src)
		}
		dc := draw.New(c)
		drawCard(dc, false)
		paint(dc)
		roundCorners(img, (cardRadius+0.5)*DPI/72)
		if err := encodePNG(w, img); err != nil {
			return fmt.Errorf("writing png: %w", err)
		}
	}
	return nil
}

// images recycles the PNG canvases: at 3.7 MB each, allocating them was a
// good part of the cost of a chart.
var images = sync.Pool{New: func() any {
	return image.NewRGBA(image.Rect(0, 0, PixelWidth, PixelHeight))
}}

// polishSVG makes gonum's SVG self-describing and portable: it adds <title>
// and <desc> for accessibility, and gives the Liberation fonts metric-
// compatible fallbacks (Arial, Helvetica) so text keeps its measured width
// on systems without Liberation, without embedding 400 kB of font per chart.
func polishSVG(svg []byte, title, alt string) []byte {
	svg = bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	open := bytes.Index(svg, []byte("<svg "))
	end := bytes.IndexByte(svg[max(open, 0):], '>')
	if open < 0 || end < 0 {
		return svg
	}
	at := open + end + 1
	var meta bytes.Buffer
	meta.WriteString(`<title>`)
	xml.EscapeText(&meta, []byte(title))
	meta.WriteString("</title>\n<desc>")
	xml.EscapeText(&meta, []byte(alt))
	meta.WriteString("</desc>")
	out := make([]byte, 0, len(svg)+meta.Len()+16)
	out = append(out, svg[:at-1]...)
	out = append(out, ` role="img">`...)
	out = append(out, '\n')
	out = append(out, meta.Bytes()...)
	out = append(out, svg[at:]...)
	return out
}

package plot

import (
	"bytes"
	"encoding/xml"
	"hash/adler32"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/golden"
)

// svgDoc is what the structural checks read from an SVG.
type svgDoc struct {
	title, desc string
	texts       []string // every <text>, in drawing order
	tips        []string // every mark's <title>, in drawing order
}

func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			if tok.Name.Local == "text" {
				doc.texts = append(doc.texts, "")
			}
			if tok.Name.Local == "title" && len(stack) > 2 {
				doc.tips = append(doc.tips, "")
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			switch stack[len(stack)-1] {
			case "text":
				doc.texts[len(doc.texts)-1] += string(tok)
			case "title":
				if len(stack) > 2 {
					doc.tips[len(doc.tips)-1] += string(tok)
				} else {
					doc.title += string(tok)
				}
			case "desc":
				doc.desc += string(tok)
			}
		}
	}
	return doc
}

func (d svgDoc) count(s string) int {
	n := 0
	for _, t := range d.texts {
		if t == s {
			n++
		}
	}
	return n
}

type goldenCase struct {
	name  string
	chart Chart
	// once must appear as exactly one <text> each (titles, axis labels,
	// one legend entry or category label per guest, notes); present at
	// least once (value labels, ticks).
	once, present []string
}

func goldenCases() []goldenCase {
	single := Bar{Title: "One guest", YLabel: "Latency (µs)", Categories: []string{"host"},
		Values: [][]Value{{{Median: 42.5, Low: 40, High: 45}}}}
	allMissing := Bar{Title: "Nothing ran", YLabel: "Requests per second (ops/s)",
		Categories: []string{"osv", "rumprun"}, Colors: []int{2, 3},
		Values: [][]Value{{{Missing: true, Note: "failed"}, {Missing: true, Note: "skipped"}}}}
	zeros := Bar{Title: "Errors", YLabel: "Errors per run (count)", Categories: []string{"host", "linux"},
		Values: [][]Value{{{Median: 0}, {Median: 0}}}}
	partial := sampleGroupedBar()
	partial.Title = "One group failed"
	partial.Values[1][1] = Value{Missing: true, Note: "failed"}
	return []goldenCase{
		{name: "bar", chart: sampleBar(),
			once:    []string{"Requests per second", "Requests per second (ops/s)", "host", "linux", "osv", "rumprun", "failed"},
			present: []string{"122k", "64.3k", "41.2k", "0", "100k"}},
		{name: "bar-grouped", chart: sampleGroupedBar(),
			once:    []string{"Throughput by command", "Requests per second (ops/s)", "host", "linux", "osv", "rumprun", "sets", "gets", "totals", "skipped"},
			present: []string{"11k", "110k", "121k", "3.7k"}},
		{name: "bar-partial", chart: partial,
			once: []string{"One group failed", "failed", "skipped", "sets", "gets", "totals"}, present: []string{"64.2k", "5.8k"}},
		{name: "bar-single", chart: single,
			once: []string{"One guest", "Latency (µs)", "host"}, present: []string{"42.5"}},
		{name: "bar-all-missing", chart: allMissing,
			once: []string{"Nothing ran", "Requests per second (ops/s)", "osv", "rumprun", "failed", "skipped"}},
		{name: "bar-zero", chart: zeros,
			once: []string{"Errors", "host", "linux"}, present: []string{"0"}},
		{name: "line", chart: sampleLine(),
			once:    []string{"Throughput as clients grow", "Clients", "Requests per second (ops/s)", "host", "linux", "osv"},
			present: []string{"1", "8", "32", "128", "125k"}},
		{name: "percentiles", chart: samplePercentiles(),
			once:    []string{"Latency by percentile", "Percentile", "Latency (µs)", "host", "linux", "osv", "50%", "90%", "99%", "99.9%", "99.99%", "max"},
			present: []string{"1,000", "10,000"}},
	}
}

func drawBytes(t testing.TB, c Chart, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Draw(&buf, format); err != nil {
		t.Fatalf("Draw(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestGoldenSVG(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := drawBytes(t, tc.chart, "svg")
			golden.Check(t, filepath.Join("testdata", tc.name+".svg"), got)

			doc := parseSVG(t, got)
			for _, s := range tc.once {
				if n := doc.count(s); n != 1 {
					t.Errorf("text %q drawn %d times, want once; texts: %q", s, n, doc.texts)
				}
			}
			for _, s := range tc.present {
				if doc.count(s) == 0 {
					t.Errorf("text %q missing; texts: %q", s, doc.texts)
				}
			}
			if doc.desc != tc.chart.Alt() {
				t.Errorf("<desc> = %q, want the alt text %q", doc.desc, tc.chart.Alt())
			}
			if doc.title == "" {
				t.Error("no <title>")
			}
			if !bytes.Contains(got, []byte("font-family:'Liberation Sans',Arial")) {
				t.Error("svg text has no font fallbacks")
			}
		})
	}
}

func TestPNG(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			img, err := png.Decode(bytes.NewReader(drawBytes(t, tc.chart, "png")))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
				t.Fatalf("png is %dx%d, want 1280x720", b.Dx(), b.Dy())
			}
			if w, h := math.Round(Width.Dots(DPI)), math.Round(Height.Dots(DPI)); w != PixelWidth || h != PixelHeight {
				t.Fatalf("Width, Height at DPI are %vx%v pixels, PixelWidth x PixelHeight %dx%d", w, h, PixelWidth, PixelHeight)
			}
			// The card: transparent outside its rounded corners, opaque
			// card colour inside, so any page colour shows around it.
			if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
				t.Errorf("corner pixel alpha = %d, want transparent", a)
			}
			if got := color.NRGBAModel.Convert(img.At(20, 360)); got != cardColor {
				t.Errorf("pixel inside the card = %v, want the card colour %v", got, cardColor)
			}
		})
	}
}

// TestDeterministic draws every chart twice, and concurrently, as the site
// builder will: every draw must give the same bytes.
func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases() {
		for _, format := range []string{"svg", "png"} {
			first := drawBytes(t, tc.chart, format)
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					var buf bytes.Buffer
					if err := tc.chart.Draw(&buf, format); err != nil {
						t.Errorf("%s %s: %v", tc.name, format, err)
					} else if !bytes.Equal(buf.Bytes(), first) {
						t.Errorf("%s %s: two draws differ", tc.name, format)
					}
				})
			}
			wg.Wait()
		}
	}
}

func TestAlt(t *testing.T) {
	for _, tc := range []struct {
		chart Chart
		want  string
	}{
		{sampleBar(), "Bar chart: Requests per second. Requests per second (ops/s): host 121,500 ops/s (118,200 to 124,900); " +
			"linux 64,300 ops/s (61,000 to 66,100); osv 41,200 ops/s (39,800 to 43,500); rumprun failed."},
		{sampleGroupedBar(), "Bar chart: Throughput by command. Requests per second (ops/s) for sets, gets, totals: " +
			"host: sets 11,000 ops/s (10,500 to 11,600), gets 110,400 ops/s (107,000 to 113,900), totals 121,400 ops/s (118,200 to 124,900); " +
			"linux: sets 5,800 ops/s (5,500 to 6,100), gets 58,400 ops/s (55,800 to 60,200), totals 64,200 ops/s (61,000 to 66,100); " +
			"osv: sets 3,700 ops/s (3,500 to 3,900), gets 37,400 ops/s (36,100 to 39,300), totals 41,100 ops/s (39,800 to 43,500); rumprun skipped."},
		{Bar{Title: "Zero.", Categories: []string{"a"}, Values: [][]Value{{{Median: 0.0421}}}}, "Bar chart: Zero. a 0.0421."},
		{sampleLine(), "Line chart: Throughput as clients grow. Requests per second (ops/s) against Clients: " +
			"host 21,000 at 1, 98,000 at 8, 121,000 at 32, 118,000 at 128; linux 12,500 at 1, 51,000 at 8, 64,000 at 32, 61,000 at 128; " +
			"osv 9,100 at 1, 33,000 at 8, 41,000 at 32, 40,000 at 128."},
		{samplePercentiles(), "Latency percentile chart: Latency by percentile. Latency (µs) by percentile: " +
			"host p50 310 µs, p90 420 µs, p99 690 µs, p99.9 1,400 µs, p99.99 3,100 µs, max 5,200 µs; " +
			"linux p50 590 µs, p90 810 µs, p99 1,500 µs, p99.9 4,200 µs, p99.99 9,800 µs, max 17,000 µs; " +
			"osv p50 920 µs, p90 1,300 µs, p99 2,600 µs, p99.9 7,900 µs, p99.99 21,000 µs, max 48,000 µs."},
	} {
		if got := tc.chart.Alt(); got != tc.want {
			t.Errorf("Alt() =\n%s\nwant\n%s", got, tc.want)
		}
	}
	// Alt must not panic on data Draw would reject.
	_ = Bar{Categories: []string{"a", "b"}, Groups: []string{"x"}, Values: [][]Value{{}}}.Alt()
}

func TestInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	bar := func(v Value) Bar {
		return Bar{Title: "t", Categories: []string{"host"}, Values: [][]Value{{v}}}
	}
	line := func(f func(*Series)) Line {
		s := Series{Name: "host", X: []float64{1, 2}, Y: []float64{3, 4}}
		f(&s)
		return Line{Title: "t", Series: []Series{s}}
	}
	spectrum := func(p, lat []float64) Percentiles {
		return Percentiles{Title: "t", Series: []Spectrum{{Name: "host", P: p, LatencyUs: lat}}}
	}
	for _, tc := range []struct {
		name  string
		chart Chart
		want  string
	}{
		{"bar NaN median", bar(Value{Median: nan}), `value of "host" median is NaN`},
		{"bar Inf high", bar(Value{Median: 1, Low: 0.5, High: inf}), "high is +Inf"},
		{"bar negative", bar(Value{Median: -1}), "negative"},
		{"bar low above median", bar(Value{Median: 1, Low: 2, High: 3}), "low <= median <= high"},
		{"bar no categories", Bar{Title: "t"}, "no categories"},
		{"bar ragged", Bar{Title: "t", Categories: []string{"a", "b"}, Values: [][]Value{{{Median: 1}}}}, "1 values for 2 categories"},
		{"bar groups", Bar{Title: "t", Categories: []string{"a"}, Groups: []string{"x", "y"}, Values: [][]Value{{{Median: 1}}}}, "1 value rows for 2 groups"},
		{"bar colors", Bar{Title: "t", Categories: []string{"a"}, Colors: []int{1, 2}, Values: [][]Value{{{Median: 1}}}}, "2 colors for 1 categories"},
		{"line NaN y", line(func(s *Series) { s.Y[1] = nan }), `series "host" y[1] is NaN`},
		{"line Inf x", line(func(s *Series) { s.X[0] = math.Inf(-1) }), "x[0] is -Inf"},
		{"line lengths", line(func(s *Series) { s.Y = s.Y[:1] }), "2 x values and 1 y values"},
		{"line low only", line(func(s *Series) { s.Low = []float64{1, 2} }), "low and high"},
		{"line no series", Line{Title: "t"}, "no series"},
		{"line log zero", Line{Title: "t", LogX: true, Series: []Series{{Name: "h", X: []float64{0, 1}, Y: []float64{1, 1}}}}, "log x axis"},
		{"percentiles Inf", spectrum([]float64{50, 99}, []float64{1, inf}), "y[1] is +Inf"},
		{"percentiles over 100", spectrum([]float64{50, 101}, []float64{1, 2}), "want 0 to 100"},
		{"percentiles order", spectrum([]float64{99, 50}, []float64{1, 2}), "must ascend"},
		{"percentiles NaN p", spectrum([]float64{nan}, []float64{1}), "percentile[0] is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"svg", "png"} {
				var buf bytes.Buffer
				err := tc.chart.Draw(&buf, format)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Draw error = %v, want one containing %q", err, tc.want)
				}
				if !strings.HasPrefix(err.Error(), "plot: ") || !strings.Contains(err.Error(), `"t"`) {
					t.Errorf("error %q lacks context (package, chart title)", err)
				}
				if buf.Len() != 0 {
					t.Errorf("%d bytes written for invalid data", buf.Len())
				}
			}
		})
	}
	if err := sampleBar().Draw(io.Discard, "jpeg"); err == nil || !strings.Contains(err.Error(), `unknown format "jpeg"`) {
		t.Errorf("Draw(jpeg) error = %v", err)
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	c := samplePercentiles()
	for _, name := range []string{"p.svg", "p.png", "P.PNG"} {
		path := filepath.Join(dir, name)
		if err := Save(path, c); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		format := strings.ToLower(filepath.Ext(name)[1:])
		if !bytes.Equal(got, drawBytes(t, c, format)) {
			t.Errorf("%s: saved bytes differ from Draw(%s)", name, format)
		}
	}
	if err := Save(filepath.Join(dir, "p.jpg"), c); err == nil || !strings.Contains(err.Error(), "use .svg or .png") {
		t.Errorf("Save(.jpg) error = %v", err)
	}
	bad := Bar{Title: "bad", Categories: []string{"a"}, Values: [][]Value{{{Median: math.NaN()}}}}
	if err := Save(filepath.Join(dir, "bad.svg"), bad); err == nil {
		t.Error("Save of NaN data succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("files left in dir: %v, want the 3 charts only", entries)
	}
}

// TestStableColors checks that one palette index gives one colour in every
// chart type, whatever the position of the guest.
func TestStableColors(t *testing.T) {
	const osv = "#009E73" // palette index 2
	bar := Bar{Title: "t", Categories: []string{"osv"}, Colors: []int{2}, Values: [][]Value{{{Median: 1}}}}
	line := Line{Title: "t", Series: []Series{{Name: "osv", Color: 2, X: []float64{1}, Y: []float64{1}}}}
	pct := Percentiles{Title: "t", Series: []Spectrum{{Name: "osv", Color: 2 + len(palette), P: []float64{50}, LatencyUs: []float64{1}}}}
	for _, c := range []Chart{bar, line, pct} {
		if svg := drawBytes(t, c, "svg"); !bytes.Contains(svg, []byte(osv)) {
			t.Errorf("%T: colour %s of index 2 not drawn", c, osv)
		}
	}
	p := Palette()
	p[2] = color.Black
	if Palette()[2] == color.Black {
		t.Error("Palette returned the package's own slice")
	}
}

// TestContrast checks the text colours against the card (WCAG AA, 4.5:1).
func TestContrast(t *testing.T) {
	lum := func(c color.NRGBA) float64 {
		ch := func(v uint8) float64 {
			s := float64(v) / 255
			if s <= 0.03928 {
				return s / 12.92
			}
			return math.Pow((s+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
	}
	for _, c := range []color.NRGBA{inkColor, mutedColor, errColor} {
		if r := (lum(cardColor) + 0.05) / (lum(c) + 0.05); r < 4.5 {
			t.Errorf("text colour %v on the card: contrast %.2f, want >= 4.5", c, r)
		}
	}
}

func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1, "1"}, {12.34, "12.3"}, {999, "999"}, {999.6, "1k"}, {1000, "1k"}, {2500, "2.5k"},
		{123456, "123k"}, {999999, "1M"}, {1234567, "1.23M"}, {4.2e9, "4.2G"}, {0.1234, "0.123"},
		{0.001, "0.001"}, {-1500, "-1.5k"}, {0.30000000000000004, "0.3"},
	} {
		if got := Compact(tc.in); got != tc.want {
			t.Errorf("Compact(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {99.96, "100"}, {121500, "121,500"}, {1234567.4, "1,234,567"}, {42.5, "42.5"}, {0.0421, "0.0421"}, {-2000, "-2,000"},
	} {
		if got := plainNumber(tc.in); got != tc.want {
			t.Errorf("plainNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPercentileAxis(t *testing.T) {
	for p, want := range map[float64]float64{0: 0, 90: 1, 99: 2, 99.9: 3, 99.99: 4} {
		if got := tailPos(p); math.Abs(got-want) > 1e-9 {
			t.Errorf("tailPos(%v) = %v, want %v", p, got, want)
		}
	}
	for k, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := percentileLabel(k); got != want {
			t.Errorf("percentileLabel(%d) = %q, want %q", k, got, want)
		}
	}
	// "max" sits one decade past the largest finite percentile of all
	// series, so series stay comparable.
	xs, maxPos := Percentiles{Series: []Spectrum{
		{P: []float64{50, 99, 100}}, {P: []float64{50, 99.9, 100}},
	}}.positions()
	if math.Abs(maxPos-4) > 1e-9 || xs[0][2] != maxPos || xs[1][2] != maxPos {
		t.Errorf("max at %v (series: %v), want 4", maxPos, xs)
	}
}

func TestLinearTicks(t *testing.T) {
	ticks, top := linearTicks(121500)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "0 25k 50k 75k 100k 125k" || top != 125000 {
		t.Errorf("linearTicks(121500) = %s up to %v", got, top)
	}
}

func BenchmarkCharts(b *testing.B) {
	charts := []Chart{sampleBar(), sampleLine(), samplePercentiles(), sampleGroupedBar()}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range charts {
			for _, format := range []string{"svg", "png"} {
				if err := c.Draw(io.Discard, format); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkFormat splits the cost of one chart by format.
func BenchmarkFormat(b *testing.B) {
	for _, format := range []string{"svg", "png"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				if err := sampleLine().Draw(io.Discard, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEncodePNG checks the hand-rolled encoder against image/png's
// decoder, translucent pixels included.
func TestEncodePNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 37, 5))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	for y := range 5 {
		for x := range 37 {
			a := byte(255)
			if (x+y)%3 == 0 {
				a = byte(x * 6)
			}
			c := img.RGBAAt(x, y)
			img.SetRGBA(x, y, color.RGBA{min(c.R, a), min(c.G, a), min(c.B, a), a})
		}
	}
	var buf bytes.Buffer
	if err := encodePNG(&buf, img); err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("image/png cannot read it: %v", err)
	}
	for y := range 5 {
		for x := range 37 {
			want := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			g := got.At(x, y).(color.NRGBA)
			d := func(a, b uint8) bool { return a-b <= 1 || b-a <= 1 }
			if g.A != want.A || !d(g.R, want.R) || !d(g.G, want.G) || !d(g.B, want.B) {
				t.Fatalf("pixel %d,%d = %v, want %v", x, y, g, want)
			}
		}
	}
}

func TestAdler32Combine(t *testing.T) {
	a, b := []byte("benchbook draws "), bytes.Repeat([]byte("charts\x00\xff"), 20000)
	got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b))
	if want := adler32.Checksum(append(a, b...)); got != want {
		t.Errorf("adler32Combine = %#x, want %#x", got, want)
	}
	if got := adler32Combine(1, adler32.Checksum(b), len(b)); got != adler32.Checksum(b) {
		t.Errorf("combining with the empty sum changed it: %#x", got)
	}
}

// TestEdgeCases draws shapes of data the goldens do not cover; each must
// draw in both formats and keep its labels.
func TestEdgeCases(t *testing.T) {
	many := make([]float64, 20)
	ys := make([]float64, 20)
	for i := range many {
		many[i], ys[i] = float64(i+1)*3, float64(i*i)
	}
	nine := Bar{Title: "Nine guests", YLabel: "ops/s", Values: [][]Value{{}}}
	for i := range 9 {
		nine.Categories = append(nine.Categories, string(rune('a'+i)))
		nine.Values[0] = append(nine.Values[0], Value{Median: float64(i + 1)})
	}
	for _, tc := range []struct {
		name  string
		chart Chart
		want  []string
	}{
		{"line one point", Line{Title: "t", Series: []Series{{Name: "host", X: []float64{4}, Y: []float64{10}}}}, []string{"host", "4"}},
		{"line one point log", Line{Title: "t", LogX: true, Series: []Series{{Name: "host", X: []float64{4}, Y: []float64{10}}}}, []string{"host", "4"}},
		{"line many x", Line{Title: "t", Series: []Series{{Name: "host", X: many, Y: ys}}}, []string{"host"}},
		{"line many x log", Line{Title: "t", LogX: true, Series: []Series{{Name: "host", X: many, Y: ys}}}, []string{"host", "10"}},
		{"line zeros", Line{Title: "t", Series: []Series{{Name: "host", X: []float64{1, 2}, Y: []float64{0, 0}}}}, []string{"host", "0"}},
		{"percentiles linear, no max", Percentiles{Title: "t", Series: []Spectrum{{Name: "host", P: []float64{0, 50, 90, 99}, LatencyUs: []float64{10, 12, 15, 30}}}},
			[]string{"host", "0%", "50%", "90%", "99%", "Latency (µs)"}},
		{"percentiles max only", Percentiles{Title: "t", Series: []Spectrum{{Name: "host", P: []float64{100}, LatencyUs: []float64{0}}}}, []string{"host", "max"}},
		{"bar colours wrap", nine, []string{"a", "i"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := parseSVG(t, drawBytes(t, tc.chart, "svg"))
			for _, s := range tc.want {
				if doc.count(s) == 0 {
					t.Errorf("text %q missing; texts: %q", s, doc.texts)
				}
			}
			drawBytes(t, tc.chart, "png")
		})
	}
}

func TestSubBytesAndOpaque(t *testing.T) {
	a, b := make([]byte, 203), make([]byte, 203)
	for i := range a {
		a[i], b[i] = byte(i*37+11), byte(i*91+200)
	}
	got := make([]byte, len(a))
	subBytes(got, a, b)
	for i := range a {
		if want := a[i] - b[i]; got[i] != want {
			t.Fatalf("subBytes[%d] = %d, want %d", i, got[i], want)
		}
	}
	row := bytes.Repeat([]byte{1, 2, 3, 0xFF}, 9)
	if !opaque(row) {
		t.Error("opaque row reported translucent")
	}
	for _, at := range []int{3, 7, 35} {
		r := bytes.Clone(row)
		r[at] = 0xFE
		if opaque(r) {
			t.Errorf("alpha at byte %d missed", at)
		}
	}
}

package plot

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
)

// Percentiles is a latency-by-percentile chart in the manner of
// HdrHistogram plots: x is -log10(1 - p/100), so 90%, 99%, 99.9% and
// 99.99% are evenly spaced and the tail gets the room it deserves.
type Percentiles struct {
	Title string
	// YLabel defaults to "Latency (µs)". The y axis turns logarithmic when
	// the largest latency is over 100 times the smallest.
	YLabel string
	Series []Spectrum
	// TipFormat formats the latencies of the SVG's tooltips, as the
	// report's tables write them; nil means the alt text's format.
	TipFormat func(float64) string
}

// Spectrum is one series of latency percentiles, typically one guest.
type Spectrum struct {
	Name  string
	Color int // palette index, stable per guest across a report
	// P are percentiles in percent, ascending, in [0, 100]: 50, 90, 99,
	// 99.9, 100. 100 (the maximum) is drawn one decade past the largest
	// other percentile of the chart and labelled "max".
	P         []float64
	LatencyUs []float64
}

func (pc Percentiles) yLabel() string {
	if pc.YLabel == "" {
		return "Latency (µs)"
	}
	return pc.YLabel
}

func (pc Percentiles) validate() error {
	series := make([]Series, len(pc.Series))
	for i, s := range pc.Series {
		series[i] = Series{Name: s.Name, X: s.P, Y: s.LatencyUs}
	}
	if err := validateSeries(series, false, "percentile"); err != nil {
		return err
	}
	for _, s := range pc.Series {
		for i, p := range s.P {
			if p < 0 || p > 100 {
				return fmt.Errorf("series %q percentile[%d] is %v; want 0 to 100", s.Name, i, p)
			}
			if i > 0 && p <= s.P[i-1] {
				return fmt.Errorf("series %q percentiles must ascend: %v after %v", s.Name, p, s.P[i-1])
			}
		}
	}
	return nil
}

// tailPos is the x position of percentile p (< 100).
func tailPos(p float64) float64 { return -math.Log10((100 - p) / 100) }

// positions maps every series' percentiles to x, and returns where "max"
// (p = 100) sits.
func (pc Percentiles) positions() (xs [][]float64, maxPos float64) {
	last := 0.0
	for _, s := range pc.Series {
		for _, p := range s.P {
			if p < 100 {
				last = math.Max(last, tailPos(p))
			}
		}
	}
	maxPos = last + 1
	for _, s := range pc.Series {
		x := make([]float64, len(s.P))
		for i, p := range s.P {
			x[i] = maxPos
			if p < 100 {
				x[i] = tailPos(p)
			}
		}
		xs = append(xs, x)
	}
	return xs, maxPos
}

// percentileLabel names the tick at decade k: 0%, 90%, 99%, 99.9%...
func percentileLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}

// Draw writes the chart as "svg" or "png".
func (pc Percentiles) Draw(w io.Writer, format string) error {
	if err := pc.validate(); err != nil {
		return fmt.Errorf("plot: percentile chart %q: %w", pc.Title, err)
	}
	xs, maxPos := pc.positions()
	hasMax := false
	lo, hi := math.Inf(1), math.Inf(-1)
	minX, maxX := math.Inf(1), math.Inf(-1)
	for i, s := range pc.Series {
		for j, v := range s.LatencyUs {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			minX, maxX = math.Min(minX, xs[i][j]), math.Max(maxX, xs[i][j])
			hasMax = hasMax || s.P[j] == 100
		}
	}
	p := newPlot("Percentile", pc.yLabel())
	p.X.Min, p.X.Max = minX, maxX
	if minX == maxX {
		p.X.Min, p.X.Max = minX-0.5, maxX+0.5
	}
	var ticks []gplot.Tick
	for k := int(math.Floor(p.X.Min)); float64(k) <= p.X.Max && float64(k) < maxPos; k++ {
		if k >= 0 {
			ticks = append(ticks, gplot.Tick{Value: float64(k), Label: percentileLabel(k)})
		}
		if k == 0 {
			ticks = append(ticks, gplot.Tick{Value: tailPos(50), Label: "50%"})
		}
	}
	if hasMax {
		ticks = append(ticks, gplot.Tick{Value: maxPos, Label: "max"})
	}
	p.X.Tick.Marker = gplot.ConstantTicks(ticks)
	if lo > 0 && hi > 100*lo {
		yt, ymin, ymax := logTicks(lo, hi)
		p.Y.Scale = gplot.LogScale{}
		p.Y.Min, p.Y.Max = ymin, ymax
		p.Y.Tick.Marker = gplot.ConstantTicks(yt)
	} else {
		yt, ymax := linearTicks(hi)
		p.Y.Min, p.Y.Max = 0, ymax
		p.Y.Tick.Marker = gplot.ConstantTicks(yt)
	}

	lp := lines{}
	for i, s := range pc.Series {
		tips := make([]string, len(s.P))
		for j := range s.P {
			tips[j] = s.Name + ", " + percentileName(s.P[j]) + ": " + withUnit(tipFormat(pc.TipFormat)(s.LatencyUs[j]), unitOf(pc.yLabel()))
		}
		lp = append(lp, line{name: s.Name, clr: seriesColor(s.Color), x: xs[i], y: s.LatencyUs, tips: tips})
	}
	return wrap("percentile chart", pc.Title, lp.draw(w, format, p, pc.Title, pc.Alt()))
}

// percentileName is "p99.9", or "max" for 100.
func percentileName(p float64) string {
	if p == 100 {
		return "max"
	}
	return "p" + strconv.FormatFloat(p, 'f', -1, 64)
}

// Alt describes the chart: title and every series' latency at each
// percentile.
func (pc Percentiles) Alt() string {
	var s strings.Builder
	fmt.Fprintf(&s, "Latency percentile chart: %s. %s by percentile:", strings.TrimSuffix(pc.Title, "."), pc.yLabel())
	unit := unitOf(pc.yLabel())
	for i, sr := range pc.Series {
		points := make([]string, min(len(sr.P), len(sr.LatencyUs)))
		for j := range points {
			points[j] = percentileName(sr.P[j]) + " " + withUnit(plainNumber(sr.LatencyUs[j]), unit)
		}
		altSeries(&s, i, sr.Name, points)
	}
	s.WriteString(".")
	return s.String()
}

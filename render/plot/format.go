package plot

import (
	"fmt"
	"github.com/benchbook/benchbook/internal/numfmt"
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
)

// Compact formats v with three significant digits and an SI suffix:
// 123456 -> "123k", 1234567 -> "1.23M", 12.34 -> "12.3", 0 -> "0". It is
// the default for value labels and the format of linear axis ticks.
func Compact(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	// Round first, so that 999999 becomes "1M" and not "1000k".
	v = roundSig(v, 3)
	var suffix string
	for _, s := range []struct {
		div  float64
		name string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= s.div {
			v, suffix = v/s.div, s.name
			break
		}
	}
	digits := int(math.Floor(math.Log10(v))) + 1 // before the point
	return sign + trimZeros(strconv.FormatFloat(v, 'f', max(0, 3-digits), 64)) + suffix
}

// plainNumber is the exact-looking form for alt text and log axes:
// thousands separators from 100 up, three significant digits below.
func plainNumber(v float64) string {
	a := math.Abs(v)
	if a >= 100 || a == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
		return numfmt.Group(int64(math.Round(v)))
	}
	decimals := 2 - int(math.Floor(math.Log10(a)))
	return trimZeros(strconv.FormatFloat(v, 'f', min(decimals, 9), 64))
}

func roundSig(v float64, sig int) float64 {
	e := math.Floor(math.Log10(v))
	scale := math.Pow(10, e-float64(sig-1))
	return math.Round(v/scale) * scale
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// unitOf returns the unit written in the last parentheses of an axis
// label: "Latency (µs)" -> "µs".
func unitOf(label string) string {
	open, end := strings.LastIndexByte(label, '('), strings.LastIndexByte(label, ')')
	if open < 0 || end < open {
		return ""
	}
	return strings.TrimSpace(label[open+1 : end])
}

// withUnit appends the unit to a number for alt text.
func withUnit(v string, unit string) string {
	if unit == "" {
		return v
	}
	if unit == "%" {
		return v + unit
	}
	return v + " " + unit
}

// linearTicks returns about five round steps from 0 up to at least top,
// labelled with Compact, and the axis maximum (the last tick).
func linearTicks(top float64) ([]gplot.Tick, float64) {
	if !(top > 0) {
		top = 1
	}
	raw := top / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, f := range []float64{1, 2, 2.5, 5} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	n := int(math.Ceil(top/step - 1e-9))
	ticks := make([]gplot.Tick, 0, n+1)
	for i := 0; i <= n; i++ {
		v := float64(i) * step
		ticks = append(ticks, gplot.Tick{Value: v, Label: Compact(v)})
	}
	return ticks, float64(n) * step
}

// logTicks returns decade ticks covering [lo, hi] (both > 0), with 2 and 5
// in between when the range is short enough for them to fit, and the axis
// range (whole decades).
func logTicks(lo, hi float64) (ticks []gplot.Tick, min, max float64) {
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if e1 == e0 {
		e1++
	}
	mults := []float64{1}
	if e1-e0 <= 2 {
		mults = []float64{1, 2, 5}
	}
	for e := e0; e <= e1; e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if e == e1 && m > 1 {
				break
			}
			ticks = append(ticks, gplot.Tick{Value: v, Label: plainNumber(v)})
		}
	}
	return ticks, math.Pow(10, e0), math.Pow(10, e1)
}

// finite reports an error naming what for a NaN or infinite v.
func finite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s is %v; only finite numbers can be drawn", what, v)
	}
	return nil
}

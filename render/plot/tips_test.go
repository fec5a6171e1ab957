package plot

import (
	"slices"
	"strings"
	"testing"
)

// tipsFromTable is what the tooltips of a chart must say, built from its
// CSV rows (Table) when the tooltips write figures as the CSV does.
func tipsFromTable(c Chart) []string {
	var out []string
	switch c := c.(type) {
	case Bar:
		unit := " " + unitOf(c.YLabel)
		for _, r := range c.Table()[1:] {
			name, fig := r[0], r[1:]
			if len(c.Groups) > 0 {
				name, fig = r[0]+", "+r[1], r[2:]
			}
			if fig[0] == "" {
				continue // missing: no bar
			}
			tip := name + ": " + fig[0] + unit
			if fig[1] != "" && fig[1] != fig[2] {
				tip += " (" + fig[1] + " to " + fig[2] + ")"
			}
			out = append(out, tip)
		}
	case Line:
		for _, r := range c.Table()[1:] {
			tip := r[0] + ", " + c.XLabel + " " + r[1] + ": " + r[2] + " " + unitOf(c.YLabel)
			if r[3] != r[4] {
				tip += " (" + r[3] + " to " + r[4] + ")"
			}
			out = append(out, tip)
		}
	case Percentiles:
		for _, r := range c.Table()[1:] {
			p := "p" + r[1]
			if r[1] == "100" {
				p = "max"
			}
			out = append(out, r[0]+", "+p+": "+r[2]+" "+unitOf(c.yLabel()))
		}
	}
	return out
}

// Every drawn bar and point carries a tooltip with its series, its x and
// its figure in the unit of the axis: the figures of the chart's CSV.
// Missing bars have none; the PNG is drawn as without them (TestPNG).
func TestTips(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.chart
			switch v := c.(type) {
			case Bar:
				v.TipFormat = num
				c = v
			case Line:
				v.TipFormat = num
				c = v
			case Percentiles:
				v.TipFormat = num
				c = v
			}
			// Bars are drawn category by category, their rows are group
			// by group: the same set in another order.
			got := slices.Sorted(slices.Values(parseSVG(t, drawBytes(t, c, "svg")).tips))
			want := slices.Sorted(slices.Values(tipsFromTable(c)))
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("tips:\n%s\nwant, from the CSV rows:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// A dense line draws no dots: each vertex gets an invisible disc to
// carry its tooltip, in the SVG only.
func TestTipsDense(t *testing.T) {
	l := Line{Title: "Throughput through the run", XLabel: "Seconds into the measured phase", YLabel: "Requests per second (ops/s)",
		Dense: true, Series: []Series{{Name: "host", X: []float64{1, 2, 3}, Y: []float64{100, 120, 110}}}}
	svg := drawBytes(t, l, "svg")
	got := parseSVG(t, svg).tips
	want := []string{
		"host, Seconds into the measured phase 1: 100 ops/s",
		"host, Seconds into the measured phase 2: 120 ops/s",
		"host, Seconds into the measured phase 3: 110 ops/s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dense tips:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(string(svg), "fill-opacity:0"); n != 3 {
		t.Errorf("%d invisible discs, want 3", n)
	}
}

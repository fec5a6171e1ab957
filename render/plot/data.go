package plot

import "strconv"

// A chart's figures as rows of text, header first: what the report offers
// as the chart's CSV, so a reader gets the exact numbers drawn, in the
// units of the axis.

var (
	_ interface{ Table() [][]string } = Bar{}
	_ interface{ Table() [][]string } = Line{}
	_ interface{ Table() [][]string } = Percentiles{}
)

// Table is one row per bar: category, group (when grouped), the median,
// the error bar's bounds (empty without one) and the note of a missing
// bar.
func (b Bar) Table() [][]string {
	head := []string{"category"}
	if len(b.Groups) > 0 {
		head = append(head, "group")
	}
	out := [][]string{append(head, b.YLabel, "low", "high", "note")}
	for gi, row := range b.Values {
		for ci, v := range row {
			if ci >= len(b.Categories) {
				break
			}
			r := []string{b.Categories[ci]}
			if len(b.Groups) > 0 && gi < len(b.Groups) {
				r = append(r, b.Groups[gi])
			}
			switch {
			case v.Missing:
				r = append(r, "", "", "", v.Note)
			case hasSpread(v):
				r = append(r, num(v.Median), num(v.Low), num(v.High), "")
			default:
				r = append(r, num(v.Median), "", "", "")
			}
			out = append(out, r)
		}
	}
	return out
}

// Table is one row per point of every series: series, x, y and the error
// bar's bounds (empty without one).
func (l Line) Table() [][]string {
	out := [][]string{{"series", l.XLabel, l.YLabel, "low", "high"}}
	for _, s := range l.Series {
		for i := range s.X {
			if i >= len(s.Y) {
				break
			}
			r := []string{s.Name, num(s.X[i]), num(s.Y[i]), "", ""}
			if i < len(s.Low) && i < len(s.High) {
				r[3], r[4] = num(s.Low[i]), num(s.High[i])
			}
			out = append(out, r)
		}
	}
	return out
}

// Table is one row per percentile of every series.
func (pc Percentiles) Table() [][]string {
	out := [][]string{{"series", "percentile", pc.yLabel()}}
	for _, s := range pc.Series {
		for i := range s.P {
			if i < len(s.LatencyUs) {
				out = append(out, []string{s.Name, num(s.P[i]), num(s.LatencyUs[i])})
			}
		}
	}
	return out
}

// num is a figure in full: the shortest text that reads back as the same
// float64.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

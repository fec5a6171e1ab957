package render

import (
	"fmt"
	"math"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// tableView is a table cell drawn from stored results; the HTML and the
// Markdown output show the same facts.
type tableView struct {
	Title    string
	Caption  string
	Metrics  []string // column headers, with units
	Baseline string
	Rows     []tableRow
	Notes    []string
	Links    *dataLinks // its CSV and the results it shows
	// EnvDiffs, with several machines side by side, say how their
	// environments differ (the "environment differences" list).
	EnvDiffs []string
}

type tableRow struct {
	Guest   string
	Point   string
	Status  string // ok, failed, skipped
	Reason  string
	Accel   string
	Cells   []tableCell
	Repeats int
	Warning string
}

// tableCell is "61,234 ± 1,204 ops/s" and "0.42× host".
type tableCell struct {
	Value  string
	Spread string // "± 1,204", or empty
	Ratio  string // "0.42× host", or empty
}

func (r *report) table(c *notebook.Cell) *tableView {
	bd := r.data(c.From)
	if bd == nil || bd.file == nil {
		return nil
	}
	t := &tableView{Title: c.Title, Caption: strings.TrimSpace(c.Caption), Baseline: c.Baseline, Links: r.links(c)}
	f := bd.view()
	all := rows(f, nil)
	cols := columns(f, c.Metrics, all)
	for _, col := range cols {
		t.Metrics = append(t.Metrics, metricLabel(col.info, col.unit))
	}
	baseOf := r.tableBaseline(c, bd, all)
	minRepeats, exact := 0, true
	for _, row := range all {
		tr := tableRow{Guest: row.Guest, Point: row.Point, Status: row.Status, Reason: firstLine(row.Reason), Accel: row.Accel, Repeats: row.Repeat}
		if row.Status == results.StatusOK {
			var warns []string
			for _, col := range cols {
				m := col.name
				s, ok := row.Sum[m]
				if !ok || s.N == 0 {
					tr.Cells = append(tr.Cells, tableCell{Value: "–"})
					continue
				}
				cell := tableCell{Value: formatIn(s.Median, col.div, col.unit)}
				if s.N > 1 {
					cell.Spread = "± " + formatNumber(spread(s)/col.div)
				}
				if b, ok := baseOf(row); ok && c.Baseline != "" {
					if bs, ok := b.Sum[m]; ok && bs.N > 0 {
						cell.Ratio = formatRatio(s.Median, bs.Median) + " " + c.Baseline
					}
				}
				tr.Cells = append(tr.Cells, cell)
				if s.Warning != "" {
					warns = append(warns, fmt.Sprintf("%s: %s", col.info.Label, s.Warning))
				}
				if minRepeats == 0 || s.N < minRepeats {
					minRepeats = s.N
				}
				exact = exact && s.CIExact
			}
			tr.Warning = strings.Join(warns, "; ")
		}
		t.Rows = append(t.Rows, tr)
	}
	switch {
	case exact:
		t.Notes = append(t.Notes, "Median of the repeats; ± is the 95 % confidence interval of the median")
	case minRepeats > 1:
		t.Notes = append(t.Notes, fmt.Sprintf("Median of the repeats; ± spans min–max (%s are too few for a 95 %% interval of the median: need %d)", plural(minRepeats, "repeat"), results.MinRepeatsForCI()))
	}
	switch {
	case c.BaselinePoint:
		t.Notes = append(t.Notes, fmt.Sprintf("ratios are to the same guest's median at %s", c.Baseline))
	case c.Baseline != "" && bd.machines != nil:
		t.Notes = append(t.Notes, fmt.Sprintf("ratios are to %s's median at the same point on the same machine", c.Baseline))
	case c.Baseline != "":
		t.Notes = append(t.Notes, fmt.Sprintf("ratios are to %s's median at the same point", c.Baseline))
	}
	if len(t.Rows) > 1 {
		t.Notes = append(t.Notes, bd.noiseNotes(c.Metrics)...)
	}
	t.EnvDiffs = bd.envNotes()
	for _, row := range t.Rows {
		if row.Accel == "tcg" {
			t.Notes = append(t.Notes, accelNote)
			break
		}
	}
	return t
}

// column is one metric of a table. Like a plot's axis, it is written in
// the unit its largest median takes (results.Scale), every row alike.
type column struct {
	name string
	info results.Metric
	div  float64 // what its figures are divided by to be in unit
	unit string
}

func columns(f *results.File, metrics []string, all []guestRow) []column {
	cols := make([]column, len(metrics))
	for i, m := range metrics {
		var top float64
		for _, row := range all {
			if s, ok := row.Sum[m]; ok && s.N > 0 && row.Status == results.StatusOK {
				top = max(top, math.Abs(s.Median))
			}
		}
		info := f.Metric(m)
		div, unit := results.Scale(info.Unit, top)
		cols[i] = column{name: m, info: info, div: div, unit: unit}
	}
	return cols
}

// CaptionText is the sentence under a table.
func (t *tableView) CaptionText() string {
	parts := []string{}
	if t.Caption != "" {
		parts = append(parts, t.Caption)
	}
	if len(t.Notes) > 0 {
		parts = append(parts, strings.Join(t.Notes, "; ")+".")
	}
	return strings.Join(parts, " ")
}

// guestLabel names a row: "host", "host (clients=4)".
func (row tableRow) guestLabel() string {
	s := row.Guest
	if row.Point != "" {
		s += " (" + row.Point + ")"
	}
	if row.Accel != "" {
		s += " [accel: " + row.Accel + "]"
	}
	return s
}

// StatusText is shown across a failed or skipped guest's row.
func (row tableRow) StatusText() string {
	if row.Reason == "" {
		return row.Status
	}
	return row.Status + ": " + row.Reason
}

// tableBaseline is what a table row's figures are a ratio to: the
// baseline guest's row at the same point (on the same machine), or with a
// sweep point for baseline the same guest's row at that point (its other
// params the row's); false when the row has none.
func (r *report) tableBaseline(c *notebook.Cell, bd *benchData, all []guestRow) func(guestRow) (guestRow, bool) {
	// The baseline guest's row at each point, on each machine: with
	// several machines, a guest is compared with the baseline of its own.
	type at struct{ machine, point string }
	base := map[at]guestRow{}
	for _, row := range all {
		if !c.BaselinePoint && bd.guestOf(row.Guest) == c.Baseline && row.Status == results.StatusOK {
			base[at{bd.machineOf(row.Guest), row.Point}] = row
		}
	}
	var pins map[string]string
	if c.BaselinePoint {
		pins, _ = notebook.ResolvePoint(r.nb.Bench(c.From), c.Baseline)
	}
	// baseOf is the row a row's figures are a ratio to: the baseline
	// guest's at the same point, or the same guest's at the baseline point
	// (its other params the row's).
	return func(row guestRow) (guestRow, bool) {
		if !c.BaselinePoint {
			b, ok := base[at{bd.machineOf(row.Guest), row.Point}]
			return b, ok && bd.guestOf(row.Guest) != c.Baseline
		}
		if row.pt == nil || pointPinned(row.pt.Params, pins) {
			return guestRow{}, false
		}
		for _, b := range all {
			if b.Guest == row.Guest && b.Status == results.StatusOK && b.pt != nil && pointPinned(b.pt.Params, pins) && sameOtherParams(b.pt.Params, row.pt.Params, pins) {
				return b, true
			}
		}
		return guestRow{}, false
	}
}

// pointPinned reports whether a point's params hold the pinned values.
func pointPinned(params map[string]any, pins map[string]string) bool {
	for k, v := range pins {
		if fmt.Sprint(params[k]) != v {
			return false
		}
	}
	return true
}

// sameOtherParams reports whether two points agree on every param but the
// pinned ones.
func sameOtherParams(a, b map[string]any, pins map[string]string) bool {
	for k, v := range a {
		if _, pinned := pins[k]; !pinned && fmt.Sprint(b[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

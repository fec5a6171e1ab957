package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// Every table and plot of a report links its figures as data: a CSV of
// what it shows (a table's figures in full, in the metric's stored unit; a
// plot's in the units of its axis) and the JSON of the bench cell's
// results. They are written beside the page, listed in Written.Data, so
// render's and the site's manifests know them as their own.

// DataFile is one data file of a report.
type DataFile struct {
	Name string // plot-ID-N.csv, table-ID-N.csv, results-ID.json
	Data []byte
}

// Data formats benchbook export writes.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

func tableCSVName(c *notebook.Cell) string { return fmt.Sprintf("table-%s-%d.csv", c.From, c.Index+1) }
func resultsJSONName(id string) string     { return "results-" + id + ".json" }

// dataLinks are the files a table or plot links: its CSV and its bench
// cell's results.
type dataLinks struct{ CSV, JSON string }

// dataFiles are the data files of the report, in cell order: each table's
// and plot's CSV, then the results of the bench cells they show.
func (r *report) dataFiles() ([]DataFile, error) {
	var out []DataFile
	var shown []string
	for _, c := range r.nb.Cells {
		var f DataFile
		switch c.Kind {
		case notebook.KindTable:
			t := r.table(c)
			if t == nil {
				continue
			}
			f = DataFile{Name: tableCSVName(c), Data: csvBytes(r.tableRecords(c))}
		case notebook.KindPlot:
			fig := r.figure(c)
			if fig == nil || fig.Err != "" {
				continue
			}
			f = DataFile{Name: fig.CSVFile(), Data: csvBytes(fig.Data)}
		default:
			continue
		}
		out = append(out, f)
		if !contains(shown, c.From) {
			shown = append(shown, c.From)
		}
	}
	for _, id := range shown {
		f, err := r.resultsJSON(id)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (r *report) resultsJSON(id string) (DataFile, error) {
	b, err := json.MarshalIndent(r.data(id).file, "", "  ")
	if err != nil {
		return DataFile{}, fmt.Errorf("results of %s as JSON: %w", id, err)
	}
	return DataFile{Name: resultsJSONName(id), Data: append(b, '\n')}, nil
}

// tableRecords is a table's figures, one row per guest, point and metric
// the table shows: the summary in full, in the unit the results store.
func (r *report) tableRecords(c *notebook.Cell) [][]string {
	f := r.data(c.From).view()
	out := [][]string{{"guest", "point", "status", "metric", "unit", "n", "median", "ci_low", "ci_high", "min", "max", "stddev"}}
	for _, row := range rows(f, nil) {
		if row.Status != results.StatusOK {
			out = append(out, []string{row.Guest, row.Point, row.Status, "", "", "0", "", "", "", "", "", ""})
			continue
		}
		for _, m := range c.Metrics {
			s, ok := row.Sum[m]
			if !ok || s.N == 0 {
				out = append(out, []string{row.Guest, row.Point, row.Status, m, f.Metric(m).Unit, "0", "", "", "", "", "", ""})
				continue
			}
			out = append(out, []string{row.Guest, row.Point, row.Status, m, f.Metric(m).Unit, strconv.Itoa(s.N),
				full(s.Median), full(s.CILow), full(s.CIHigh), full(s.Min), full(s.Max), full(s.Stddev)})
		}
	}
	return out
}

// links are the data files the table or plot cell c links, or nil when it
// shows no results.
func (r *report) links(c *notebook.Cell) *dataLinks {
	bd := r.data(c.From)
	if bd == nil || bd.file == nil {
		return nil
	}
	l := &dataLinks{CSV: tableCSVName(c), JSON: resultsJSONName(c.From)}
	if c.Kind == notebook.KindPlot {
		l.CSV = figureName(c) + ".csv"
	}
	return l
}

// Export is a notebook's data as benchbook export writes it: in csv, the
// CSV of every table and plot with results; in json, the results of every
// bench cell that has some.
func Export(nb *notebook.Notebook, opt Options, format string) ([]DataFile, error) {
	rep := newReport(nb, opt)
	switch format {
	case FormatCSV:
		files, err := rep.dataFiles()
		var out []DataFile
		for _, f := range files {
			if !bytes.HasSuffix([]byte(f.Name), []byte(".json")) {
				out = append(out, f)
			}
		}
		return out, err
	case FormatJSON:
		var out []DataFile
		for _, c := range nb.BenchCells() {
			if bd := rep.data(c.ID); bd != nil && bd.file != nil {
				f, err := rep.resultsJSON(c.ID)
				if err != nil {
					return nil, err
				}
				out = append(out, f)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("export format %q: want csv or json", format)
}

func csvBytes(records [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(records) // a bytes.Buffer does not fail
	return b.Bytes()
}

func full(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/results"
)

// timeUnits are seconds per unit, to compare a page's figure in the unit
// its column takes with the CSV's in the stored unit.
var timeUnits = map[string]float64{"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1}

var figureRE = regexp.MustCompile(`^([0-9][0-9,]*(?:\.[0-9]+)?) (\S+)`)

// The CSV of a table holds the figures the page shows: each median,
// written in the page's unit and rounded as the page rounds it, is the
// page's figure.
func TestTableCSVMatchesPage(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	out := writeOut(t, nb, Options{Results: store})
	md := readOut(t, out, "index.md")
	name := "table-throughput-6.csv"
	if !strings.Contains(md, "Data: [CSV]("+name+") · [results (JSON)](results-throughput.json)") {
		t.Fatalf("the table does not link %s:\n%s", name, md)
	}
	recs, err := csv.NewReader(strings.NewReader(readOut(t, out, name))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	page := tableCells(md) // guest -> the figures of its row, in column order
	metrics := []string{"ops_per_sec", "latency_p99"}
	checked := 0
	for _, rec := range recs[1:] {
		guest, status, metric, unit := rec[0], rec[2], rec[3], rec[4]
		cells := page[guest]
		if status != results.StatusOK {
			if len(cells) == 0 || !strings.HasPrefix(cells[0], status) {
				t.Errorf("%s is %s in the CSV, the page says %q", guest, status, cells)
			}
			continue
		}
		median, err := strconv.ParseFloat(rec[6], 64)
		if err != nil {
			t.Fatalf("%s %s: median %q: %v", guest, metric, rec[6], err)
		}
		m := figureRE.FindStringSubmatch(cells[slices.Index(metrics, metric)])
		if m == nil {
			t.Fatalf("%s %s: no figure in %q", guest, metric, cells)
		}
		shown, _ := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		want := median
		if f, ok := timeUnits[m[2]]; ok {
			want = median * timeUnits[unit] / f
		}
		decimals := 0
		if _, frac, ok := strings.Cut(m[1], "."); ok {
			decimals = len(frac)
		}
		// The page keeps 3 significant figures or whole units.
		tol := math.Max(0.5*math.Pow10(-decimals), 0.005*math.Abs(want))
		if math.Abs(want-shown) > tol {
			t.Errorf("%s %s: the CSV says %v %s (%v %s), the page %s", guest, metric, median, unit, want, m[2], cells)
		}
		checked++
	}
	if checked != 4 {
		t.Errorf("checked %d figures, want 2 guests × 2 metrics", checked)
	}
	var f results.File
	if err := json.Unmarshal([]byte(readOut(t, out, "results-throughput.json")), &f); err != nil || f.Cell != "throughput" || len(f.Guests) != 4 {
		t.Errorf("results JSON: %v, cell %q, %d guests", err, f.Cell, len(f.Guests))
	}
	html := readOut(t, out, "index.html")
	if !strings.Contains(html, `<a href="table-throughput-6.csv" download>CSV</a>`) || !strings.Contains(html, `<a href="plot-throughput-3.csv" download>CSV</a>`) {
		t.Errorf("the page does not link the CSVs")
	}
	// Render's record lists the data files, so the next render may replace them.
	rec := readOut(t, out, RenderManifest)
	for _, n := range []string{name, "plot-throughput-3.csv", "plot-throughput-4.csv", "results-throughput.json"} {
		if !strings.Contains(rec, n) {
			t.Errorf("%s does not list %s", RenderManifest, n)
		}
	}
}

// tableCells reads the rows of the Markdown table: guest -> its cells.
func tableCells(md string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Guest") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		guest, _, _ := strings.Cut(cells[0], " ")
		for i := range cells {
			cells[i] = strings.ReplaceAll(cells[i], `\.`, ".")
		}
		out[guest] = cells[1:]
	}
	return out
}

// A plot's CSV holds the figures it draws, with its axis label.
func TestPlotCSV(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	files, err := Export(nb, Options{Results: store}, FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"plot-throughput-3.csv", "plot-throughput-4.csv", "table-throughput-6.csv"}) {
		t.Fatalf("exported %v", names)
	}
	bar := string(files[0].Data)
	for _, want := range []string{"category,Requests per second (ops/s),low,high,note\n", "host,60500,59000,62000,\n", "rumprun,,,,failed\n", "linux,,,,skipped\n"} {
		if !strings.Contains(bar, want) {
			t.Errorf("bar CSV lacks %q:\n%s", want, bar)
		}
	}
	if p := string(files[1].Data); !strings.HasPrefix(p, "series,percentile,Latency (µs)\nhost,50,") {
		t.Errorf("percentile CSV:\n%s", p)
	}
	js, err := Export(nb, Options{Results: store}, FormatJSON)
	if err != nil || len(js) != 1 || js[0].Name != "results-throughput.json" || !bytes.Contains(js[0].Data, []byte(`"cell": "throughput"`)) {
		t.Errorf("json export: %v %v", js, err)
	}
	if _, err := Export(nb, Options{Results: store}, "xml"); err == nil {
		t.Error("export xml: no error")
	}
}

package render

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// svgTips reads the <title> of every mark of a plot's SVG (a title inside
// a group, not the chart's own), in drawing order; the SVG must be
// well-formed XML.
func svgTips(t *testing.T, svg string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var stack []string
	var tips []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return tips
		}
		if err != nil {
			t.Fatalf("the svg is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "title" && len(stack) > 0 && stack[len(stack)-1] == "g" {
				tips = append(tips, "")
			}
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 && stack[len(stack)-1] == "title" && stack[len(stack)-2] == "g" {
				tips[len(tips)-1] += string(tok)
			}
		}
	}
}

// Every bar and point of a plot's SVG carries a tooltip with the figure its
// CSV holds, written as the report's table writes it: the bar of each
// measured guest (none for a failed or skipped one) and each percentile of
// each guest.
func TestPlotTipsMatchData(t *testing.T) {
	nb, store := withResults(t, resultsNotebook)
	out := writeOut(t, nb, Options{Results: store})
	page := tableCells(readOut(t, out, "index.md"))
	records := func(name string) [][]string {
		recs, err := csv.NewReader(strings.NewReader(readOut(t, out, name))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return recs
	}
	figure := func(s string) string {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("figure %q: %v", s, err)
		}
		return formatNumber(v)
	}

	// The bars: "host: 60,500 ops/s (59,000 to 62,000)".
	var want []string
	for _, r := range records("plot-throughput-3.csv")[1:] {
		if r[1] == "" {
			continue // a failed or skipped guest: no bar
		}
		tip := r[0] + ": " + figure(r[1]) + " ops/s (" + figure(r[2]) + " to " + figure(r[3]) + ")"
		want = append(want, tip)
		// The table's cell starts with the same figure.
		if cells := page[r[0]]; len(cells) == 0 || !strings.HasPrefix(cells[0], figure(r[1])+" ops/s") {
			t.Errorf("tip %q, the table's cell %q", tip, cells)
		}
	}
	got := svgTips(t, readOut(t, out, "plot-throughput-3.svg"))
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 2 {
		t.Errorf("bar tips:\n%s\nwant, from the CSV:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The percentiles: "host, p99.9: 1,400 µs".
	want = nil
	for _, r := range records("plot-throughput-4.csv")[1:] {
		p := "p" + r[1]
		if r[1] == "100" {
			p = "max"
		}
		want = append(want, r[0]+", "+p+": "+figure(r[2])+" µs")
	}
	got = svgTips(t, readOut(t, out, "plot-throughput-4.svg"))
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) < 4 {
		t.Errorf("percentile tips:\n%s\nwant, from the CSV:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The PNG beside it has no text to carry them, and is drawn as before.
	if png := readOut(t, out, "plot-throughput-3.png"); !bytes.HasPrefix([]byte(png), []byte("\x89PNG")) {
		t.Error("no PNG beside the SVG")
	}
}

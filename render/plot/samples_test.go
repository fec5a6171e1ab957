package plot

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Sample charts shared by the tests, the benchmark and -samples: the
// figures of the redis-on-unikernels experiment, roughly.

var samples = flag.String("samples", "", "write the sample charts (SVG and PNG) into this directory")

// TestWriteSamples writes the samples for a human to look at:
// go test ./render/plot -run WriteSamples -samples /tmp/plot-samples
func TestWriteSamples(t *testing.T) {
	if *samples == "" {
		t.Skip("no -samples directory given")
	}
	if err := os.MkdirAll(*samples, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases() {
		for _, ext := range []string{".svg", ".png"} {
			if err := Save(filepath.Join(*samples, tc.name+ext), tc.chart); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sampleBar() Bar {
	return Bar{
		Title:      "Requests per second",
		YLabel:     "Requests per second (ops/s)",
		Categories: []string{"host", "linux", "osv", "rumprun"},
		Colors:     []int{0, 1, 2, 3},
		Values: [][]Value{{
			{Median: 121500, Low: 118200, High: 124900},
			{Median: 64300, Low: 61000, High: 66100},
			{Median: 41200, Low: 39800, High: 43500},
			{Missing: true, Note: "failed"},
		}},
	}
}

// sampleGroupedBar is sampleBar's guests, their throughput split by command.
func sampleGroupedBar() Bar {
	b := sampleBar()
	b.Title = "Throughput by command"
	b.Groups = []string{"sets", "gets", "totals"}
	b.Values = [][]Value{
		{{Median: 11000, Low: 10500, High: 11600}, {Median: 5800, Low: 5500, High: 6100}, {Median: 3700, Low: 3500, High: 3900}, {Missing: true, Note: "skipped"}},
		{{Median: 110400, Low: 107000, High: 113900}, {Median: 58400, Low: 55800, High: 60200}, {Median: 37400, Low: 36100, High: 39300}, {Missing: true, Note: "skipped"}},
		{{Median: 121400, Low: 118200, High: 124900}, {Median: 64200, Low: 61000, High: 66100}, {Median: 41100, Low: 39800, High: 43500}, {Missing: true, Note: "skipped"}},
	}
	return b
}

func sampleLine() Line {
	return Line{
		Title:  "Throughput as clients grow",
		XLabel: "Clients",
		YLabel: "Requests per second (ops/s)",
		LogX:   true,
		Series: []Series{
			{Name: "host", Color: 0, X: []float64{1, 8, 32, 128},
				Y: []float64{21000, 98000, 121000, 118000}, Low: []float64{20100, 95000, 117000, 112000}, High: []float64{21900, 101000, 125000, 123000}},
			{Name: "linux", Color: 1, X: []float64{1, 8, 32, 128},
				Y: []float64{12500, 51000, 64000, 61000}, Low: []float64{12000, 49000, 61000, 57000}, High: []float64{13100, 53500, 66000, 64500}},
			{Name: "osv", Color: 2, X: []float64{1, 8, 32, 128},
				Y: []float64{9100, 33000, 41000, 40000}, Low: []float64{8700, 31500, 39500, 37000}, High: []float64{9600, 34800, 43000, 42500}},
		},
	}
}

func samplePercentiles() Percentiles {
	p := []float64{50, 90, 99, 99.9, 99.99, 100}
	return Percentiles{
		Title:  "Latency by percentile",
		YLabel: "Latency (µs)",
		Series: []Spectrum{
			{Name: "host", Color: 0, P: p, LatencyUs: []float64{310, 420, 690, 1400, 3100, 5200}},
			{Name: "linux", Color: 1, P: p, LatencyUs: []float64{590, 810, 1500, 4200, 9800, 17000}},
			{Name: "osv", Color: 2, P: p, LatencyUs: []float64{920, 1300, 2600, 7900, 21000, 48000}},
		},
	}
}

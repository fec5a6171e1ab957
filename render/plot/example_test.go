package plot_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/benchbook/benchbook/render/plot"
)

func Example() {
	chart := plot.Bar{
		Title:      "Requests per second",
		YLabel:     "Requests per second (ops/s)",
		Categories: []string{"host", "osv", "rumprun"},
		Colors:     []int{0, 2, 3}, // the guests' palette slots in this report
		Values: [][]plot.Value{{
			{Median: 120000, Low: 117000, High: 124000},
			{Median: 60000, Low: 58500, High: 61000},
			{Missing: true, Note: "failed"},
		}},
	}
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"rps.svg", "rps.png"} {
		if err := plot.Save(filepath.Join(dir, name), chart); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(chart.Alt())
	// Output:
	// Bar chart: Requests per second. Requests per second (ops/s): host 120,000 ops/s (117,000 to 124,000); osv 60,000 ops/s (58,500 to 61,000); rumprun failed.
}

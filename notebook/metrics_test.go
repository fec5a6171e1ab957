package notebook

import (
	"slices"
	"strings"
	"testing"
)

// fioBase is a notebook whose bench cell runs fio on two guests.
var fioBase = `title = "t"
[params]
tool = "fio"
` + redisProcesses("xfs", "ext4") + `[loads.w]
tool = "{tool}"
rw = "randwrite"
[[cells]]
kind = "bench"
id = "fs"
guests = ["xfs", "ext4"]
load = "w"
`

// A metric the cell's tool does not produce is an error where it is
// written -- a plot's y, a table's column, a claim's reference -- naming
// the closest metric and every one the tool produces.
func TestUnknownMetricOfTool(t *testing.T) {
	src := fioBase + `[[cells]]
kind = "plot"
from = "fs"
y = "write_clat_p9"
[[cells]]
kind = "table"
from = "fs"
metrics = ["iops", "ops_per_sec"]
[[cells]]
kind = "check"
from = "fs"
claims = ["xfs.write_clat_p99 < ext4.write_clat_99"]
[[cells]]
kind = "plot"
from = "fs"
y = "write_iops"
group = true
`
	_, err := Parse("x.toml", []byte(src))
	fioMetrics := "bench cell fs (tool fio) produces iops, read_iops, read_bw, "
	want := []string{
		`x.toml:21:5: unknown metric "write_clat_p9" (did you mean "write_clat_p90"?); ` + fioMetrics,
		`x.toml:25:20: unknown metric "ops_per_sec"; ` + fioMetrics,
		`x.toml:29:33: claim "xfs.write_clat_p99 < ext4.write_clat_99": unknown metric "write_clat_99" (did you mean "write_clat_p99"?); ` + fioMetrics,
		`x.toml:34:9: group = true draws SETs and GETs apart, but bench cell fs has neither sets.write_iops nor gets.write_iops`,
	}
	got := checkErrors(t, err, want)
	if !strings.HasSuffix(got[0].Error(), ", write_clat_max, boot_ms") {
		t.Errorf("the list ends %q; want every metric of fio, then boot_ms", got[0].Error()[len(got[0].Error())-40:])
	}
}

// Without y a plot draws its tool's primary metric; without metrics a table
// shows it and the usual latencies the tool has.
func TestMetricDefaults(t *testing.T) {
	tests := []struct {
		name, load     string
		y              string
		columns        []string
		metrics, tools []string // some of CellMetrics
	}{
		{"builtin", "[loads.w]\nrequests = 10\n", "ops_per_sec", []string{"ops_per_sec", "latency_avg", "latency_p99"}, []string{"gets.latency_p99", "boot_ms"}, []string{"builtin"}},
		{"fio", "[loads.w]\ntool = \"fio\"\n", "iops", []string{"iops"}, []string{"write_clat_p99", "boot_ms"}, []string{"fio"}},
		{"sysbench", "[loads.w]\ntool = \"sysbench\"\n", "events_per_sec", []string{"events_per_sec", "latency_avg"}, []string{"latency_p95"}, []string{"sysbench"}},
		{"command with its own metric", "[loads.w]\ntool = \"command\"\ncommand = [\"true\"]\nmetrics = { rate = { regex = \"r=([0-9]+)\", unit = \"files/s\", better = \"higher\" } }\n",
			"wall_ms", []string{"wall_ms"}, []string{"max_rss_bytes", "rate"}, []string{"command"}},
		{"a swept tool: each tool's", "[loads.w]\ntool = \"{tool}\"\n",
			"iops", []string{"iops", "events_per_sec", "latency_avg"}, []string{"write_bw", "latency_p95"}, []string{"fio", "sysbench"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "title = \"t\"\n[params]\ntool = \"fio\"\n[guests.g]\nkind = \"process\"\ncommand = [\"x\", \"{port}\"]\n" + tt.load +
				"[[cells]]\nkind = \"bench\"\nid = \"b\"\nguests = [\"g\"]\nload = \"w\"\n"
			if strings.Contains(tt.name, "swept") {
				src += "sweep = { tool = [\"fio\", \"sysbench\"] }\n"
			}
			src += "[[cells]]\nkind = \"plot\"\nfrom = \"b\"\n[[cells]]\nkind = \"table\"\nfrom = \"b\"\n"
			nb, err := Parse("x.toml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if y := nb.Cells[1].Y; y != tt.y {
				t.Errorf("plot y = %q, want %q", y, tt.y)
			}
			if cols := nb.Cells[2].Metrics; !slices.Equal(cols, tt.columns) {
				t.Errorf("table metrics = %q, want %q", cols, tt.columns)
			}
			if got := nb.DefaultMetrics(nb.Bench("b")); !slices.Equal(got, tt.columns) {
				t.Errorf("DefaultMetrics = %q, want %q", got, tt.columns)
			}
			ms, tools := nb.CellMetrics(nb.Bench("b"))
			for _, m := range tt.metrics {
				if !slices.Contains(MetricNames(ms), m) {
					t.Errorf("CellMetrics lacks %s: %v", m, MetricNames(ms))
				}
			}
			if !slices.Equal(tools, tt.tools) {
				t.Errorf("tools %q, want %q", tools, tt.tools)
			}
		})
	}
}

// A command's own metric carries what the table declares of it; boot_ms
// is there for a started guest but not for the machine itself.
func TestMetricsAt(t *testing.T) {
	src := `title = "t"
[guests.g]
kind = "process"
command = ["x", "{port}"]
[guests.me]
kind = "host"
[loads.w]
tool = "command"
command = ["true"]
metrics = { rate = { regex = "r=([0-9]+)", unit = "files/s", better = "higher", doc = "files per second" } }
[[cells]]
kind = "bench"
id = "b"
guests = ["g", "me"]
load = "w"
[[cells]]
kind = "bench"
id = "host-only"
guests = ["me"]
load = "w"
`
	nb, _ := Parse("x.toml", []byte(src)) // judged with this build's guest kinds: host may not be one yet
	ms, tool := nb.MetricsAt(nb.Bench("b"), nil)
	want := Metric{Name: "rate", Unit: "files/s", Better: BetterHigher, Doc: "files per second"}
	if tool != "command" || !slices.Contains(ms, want) || !hasMetric(ms, "boot_ms") {
		t.Errorf("MetricsAt = %v, %q; want command's metrics, %+v and boot_ms", ms, tool, want)
	}
	if ms, _ := nb.MetricsAt(nb.Bench("host-only"), nil); hasMetric(ms, "boot_ms") {
		t.Errorf("a host guest has boot_ms: %v", MetricNames(ms))
	}
}

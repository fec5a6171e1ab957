package notebook

import (
	"strings"
	"testing"
)

// TestDecodeMetricTable: a key of TypeMetricTable (the command tool's
// metrics) is checked entry by entry and decoded into MetricSources.
func TestDecodeMetricTable(t *testing.T) {
	type spec struct {
		Cmd     []string                `key:"command" required:""`
		Metrics map[string]MetricSource `key:"metrics" noparam:""`
	}
	table := func(entries map[string]any) map[string]any {
		return map[string]any{"command": []any{"true"}, "metrics": entries}
	}
	tests := []struct {
		name   string
		values map[string]any
		want   string // an error containing this; "" for none
		check  func(t *testing.T, s spec)
	}{
		{
			name:   "json and regex",
			values: table(map[string]any{"rate": map[string]any{"json": "/stats/rate", "unit": "files/s", "better": "higher"}, "n": map[string]any{"regex": `n=([0-9]+)`}}),
			check: func(t *testing.T, s spec) {
				if got := s.Metrics["rate"]; got != (MetricSource{JSON: "/stats/rate", Unit: "files/s", Better: "higher"}) {
					t.Errorf("rate: %+v", got)
				}
				if got := s.Metrics["n"]; got.Regex != `n=([0-9]+)` || got.JSON != "" {
					t.Errorf("n: %+v", got)
				}
			},
		},
		{name: "the whole document", values: table(map[string]any{"x": map[string]any{"json": ""}})},
		{name: "not a table", values: map[string]any{"command": []any{"true"}, "metrics": "rate"}, want: "metrics must be a table of metrics"},
		{name: "an entry not a table", values: table(map[string]any{"rate": "/stats/rate"}), want: `metrics.rate must be a table like { json = "/stats/rate" }`},
		{name: "neither", values: table(map[string]any{"rate": map[string]any{"unit": "ms"}}), want: "metrics.rate: give json = \"/pointer\" or regex = \"...\", exactly one"},
		{name: "both", values: table(map[string]any{"rate": map[string]any{"json": "/a", "regex": "(a)"}}), want: "exactly one"},
		{name: "unknown key", values: table(map[string]any{"rate": map[string]any{"jsn": "/a"}}), want: `metrics.rate: unknown key "jsn" (did you mean "json"?)`},
		{name: "not a string", values: table(map[string]any{"rate": map[string]any{"json": int64(1)}}), want: "metrics.rate.json must be a string, not an integer"},
		{name: "pointer without slash", values: table(map[string]any{"rate": map[string]any{"json": "stats.rate"}}), want: `metrics.rate.json "stats.rate": a JSON pointer starts with "/"`},
		{name: "bad escape", values: table(map[string]any{"rate": map[string]any{"json": "/a~2"}}), want: `"~" must be written ~0`},
		{name: "regex does not compile", values: table(map[string]any{"rate": map[string]any{"regex": "rate: ([0-9"}}), want: "metrics.rate.regex \"rate: ([0-9\": error parsing regexp"},
		{name: "regex without a group", values: table(map[string]any{"rate": map[string]any{"regex": "rate: [0-9]+"}}), want: "has 0 groups: want exactly one"},
		{name: "regex with two groups", values: table(map[string]any{"rate": map[string]any{"regex": "(a)(b)"}}), want: "has 2 groups"},
		{name: "non-capturing groups are fine", values: table(map[string]any{"rate": map[string]any{"regex": "(?:rate|speed): ([0-9.]+)"}})},
		{name: "better", values: table(map[string]any{"rate": map[string]any{"json": "/a", "better": "more"}}), want: `metrics.rate.better = "more": want "higher" or "lower"`},
		{name: "bad name", values: table(map[string]any{"Rate-1": map[string]any{"json": "/a"}}), want: "metrics.Rate-1: a metric name is lowercase"},
		{name: "required key missing", values: map[string]any{}, want: `missing key "command": it is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s spec
			err := Decode(tt.values, &s)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Decode: %v, want an error containing %q", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestMetricsOf: the metrics of a table are the tool's and those the table
// declares itself, with their units and directions.
func TestMetricsOf(t *testing.T) {
	d := Decl{
		Keys:    []Key{{Name: "metrics", Type: TypeMetricTable}},
		Metrics: []Metric{{Name: "wall_ms", Unit: "ms", Better: BetterLower}},
	}
	got := d.MetricsOf(map[string]any{"metrics": map[string]any{
		"z_rate": map[string]any{"json": "/r", "unit": "files/s", "better": "higher", "doc": "files compiled per second"},
		"a_n":    map[string]any{"regex": "(n)"},
	}})
	want := []Metric{
		{Name: "wall_ms", Unit: "ms", Better: BetterLower},
		{Name: "a_n"},
		{Name: "z_rate", Unit: "files/s", Better: BetterHigher, Doc: "files compiled per second"},
	}
	if len(got) != len(want) {
		t.Fatalf("MetricsOf = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("metric %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := d.MetricsOf(nil); len(got) != 1 {
		t.Errorf("without a metrics key: %+v", got)
	}
}

// TestParseMetricTable: check judges a load's metrics table where it is
// written, every entry's problem at once.
func TestParseMetricTable(t *testing.T) {
	load := "tool = \"command\"\ncommand = [\"true\"]\nmetrics = { rate = { json = \"stats/rate\" }, n = { regex = \"(a)(b)\" }, ok = { json = \"/x\", better = \"higher\" } }"
	_, err := Parse("x.toml", []byte(valuesSrc(load, "")))
	got := Errors(err)
	if len(got) != 1 {
		t.Fatalf("got %d errors, want 1:\n%v", len(got), err)
	}
	want := `x.toml:16:11: metrics.n.regex "(a)(b)" has 2 groups: want exactly one, around the number, like "rate: ([0-9.]+)" (use (?:...) for the others); metrics.rate.json "stats/rate": a JSON pointer starts with "/", like "/stats/rate"`
	if got[0].Error() != want {
		t.Errorf("error:\n got %s\nwant %s", got[0], want)
	}
	if _, err := Parse("x.toml", []byte(valuesSrc("tool = \"command\"\ncommand = [\"true\"]\nmetrics = { ok = { json = \"/x\" } }", ""))); err != nil {
		t.Errorf("a good metrics table: %v", err)
	}
}

// TestWhenBool: a key limited to one value of a bool key (iperf3's
// congestion, TCP only) is judged on that bool, given or by its default.
func TestWhenBool(t *testing.T) {
	d := Decl{Keys: []Key{
		{Name: "udp", Type: TypeBool, Default: "false"},
		{Name: "congestion", Type: TypeString, When: "udp=false"},
	}}
	tests := []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"congestion": "bbr"}, ""},
		{map[string]any{"congestion": "bbr", "udp": false}, ""},
		{map[string]any{"congestion": "bbr", "udp": true}, `congestion: congestion applies to udp = "false" only, and this table has udp = "true"`},
	}
	for _, tt := range tests {
		var got []string
		d.ruleProblems(tt.values, func(key, msg string) { got = append(got, key+": "+msg) })
		if strings.Join(got, "\n") != tt.want {
			t.Errorf("%v: %q, want %q", tt.values, got, tt.want)
		}
	}
}

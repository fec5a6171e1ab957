package notebook

import (
	"strings"
	"testing"
)

// A load table with one bench cell using it, for value checks: {load} is
// replaced by the keys under test, {sweep} by the cell's sweep.
var valuesBase = `title = "t"
[params]
c = 10
net = "tap"
tool = "builtin"
` + redisProcesses("host") + `[guests.vm]
kind = "qemu"
image = "builtin:linux-redis"
network = "{net}"
[loads.mt]
{load}
[[cells]]
kind = "bench"
id = "tp"
guests = ["host", "vm"]
load = "mt"
{sweep}
`

func valuesSrc(load, sweep string) string {
	return strings.NewReplacer("{load}", load, "{sweep}", sweep).Replace(valuesBase)
}

// TestParseValueRanges: every value a load or guest key gets is checked
// against its declaration at check time, with the position where the value
// is written -- also when it arrives through a param or a sweep point.
func TestParseValueRanges(t *testing.T) {
	tests := []struct {
		name, load, sweep string
		want              []string
	}{
		{name: "valid", load: `clients = "{c}"`},
		{name: "negative clients", load: "clients = -1", want: []string{`x.toml:14:11: clients = -1: want 1 to 100000`}},
		{name: "zero clients is not the default", load: "clients = 0", want: []string{`x.toml:14:11: clients = 0: want 1 to 100000 (leave clients out for the default, 50)`}},
		{name: "negative threads", load: "threads = -5", want: []string{`x.toml:14:11: threads = -5: want 1 to 1024`}},
		{name: "negative requests", load: "requests = -1", want: []string{`x.toml:14:12: requests = -1: want at least 1`}},
		{name: "negative data_size", load: "data_size = -1", want: []string{`x.toml:14:13: data_size = -1: want 1 to 536870912`}},
		{name: "negative pipeline", load: "pipeline = -1", want: []string{`x.toml:14:12: pipeline = -1: want 1 to 100000`}},
		{name: "ratio 0:0", load: `ratio = "0:0"`, want: []string{`x.toml:14:9: ratio "0:0": want SET:GET like "1:10", with counts >= 0 and not both 0`}},
		{name: "ratio only GETs is fine", load: `ratio = "0:1"`},
		{name: "bad key pattern", load: `key_pattern = "X:Y"`, want: []string{`x.toml:14:15: key_pattern "X:Y": want SET:GET letters`}},
		{name: "key range upside down", load: "key_minimum = 10\nkey_maximum = 5", want: []string{`x.toml:14:15: key_minimum = 10 is above key_maximum = 5`}},
		{name: "key_minimum above the default maximum", load: "key_minimum = 20000000", want: []string{`x.toml:14:15: key_minimum = 20000000 is above key_maximum = 10000000`}},
		{name: "key_minimum 0 means something", load: "key_minimum = 0\nkey_maximum = 0"},
		{name: "requests and test_time", load: "requests = 5\ntest_time = \"1s\"", want: []string{`x.toml:15:13: give requests or test_time, not both`}},
		{name: "zero test_time", load: `test_time = "0s"`, want: []string{`x.toml:14:13: test_time = "0s": want at least 1ms`}},
		{
			name: "a param's default is checked where the param is written",
			load: `clients = "{c}"`, sweep: "",
		},
		{
			name:  "a sweep value is checked where it is written",
			load:  `clients = "{c}"`,
			sweep: "sweep = { c = [1, -4, 8, 0] }",
			want: []string{
				`x.toml:20:19: clients = -4: want 1 to 100000 (loads.mt.clients = "{c}")`,
				`x.toml:20:26: clients = 0: want 1 to 100000 (leave clients out for the default, 50) (loads.mt.clients = "{c}")`,
			},
		},
		{
			name:  "a swept network mode benchbook has not",
			sweep: `sweep = { net = ["user", "tap", "tap-routed", "slirp", "vhost"] }`,
			want: []string{
				`x.toml:20:47: network "slirp": want "auto", "user", "tap", "tap-routed", "macvtap", "passt", "loopback" or "vhost" (qemu)`,
			},
		},
		{
			name:  "a swept tool",
			sweep: `sweep = { tool = ["builtin", "memtire"] }`,
			load:  `tool = "{tool}"`,
			want:  []string{`x.toml:20:30: tool = "memtire": want one of "builtin", "redis-benchmark", `},
		},
		{
			name:  "a sweep too large to run",
			sweep: "repeat = 1000\nsweep = { c = [1, 2, 3, 4, 5, 6] }",
			want:  []string{`x.toml:21:9: bench cell tp asks for 12000 runs (sweep points × repeats × guests); at most 10000`},
		},
		{
			name:  "a sweep of a million points",
			sweep: "sweep = { c = [" + strings.Repeat("1,", 999) + "1], tool = [" + strings.Repeat(`"builtin",`, 999) + `"builtin"] }`,
			want:  []string{`x.toml:20:9: bench cell tp asks for more than 10000 runs`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(valuesSrc(tt.load, tt.sweep)))
			checkErrors(t, err, tt.want)
		})
	}
}

// TestOverrideChecked: a -p value is checked like a written one and the
// error names the -p argument.
func TestOverrideChecked(t *testing.T) {
	nb, err := Parse("x.toml", []byte(valuesSrc(`clients = "{c}"`, "")))
	if err != nil {
		t.Fatal(err)
	}
	err = nb.Override([]string{"c=-3"})
	if err == nil || !strings.Contains(err.Error(), `-p c=-3: clients = -3: want 1 to 100000`) {
		t.Fatalf("Override(c=-3) = %v, want a clients range error naming -p c=-3", err)
	}
	nb, _ = Parse("x.toml", []byte(valuesSrc(`clients = "{c}"`, "")))
	if err := nb.Override([]string{"net=slirp"}); err == nil || !strings.Contains(err.Error(), `-p net=slirp: network "slirp"`) {
		t.Fatalf("Override(net=slirp) = %v, want a network error", err)
	}
	nb, _ = Parse("x.toml", []byte(valuesSrc(`clients = "{c}"`, "")))
	if err := nb.Override([]string{"c=20", "net=user"}); err != nil {
		t.Fatalf("good overrides refused: %v", err)
	}
}

// TestDecode: the typed values the runner gets come from the same
// declarations and checks.
func TestDecode(t *testing.T) {
	type spec struct {
		N     int    `key:"n" default:"5" min:"1" excludes:"other"`
		Mode  string `key:"mode" default:"a" oneof:"a|b"`
		Other string `key:"other"`
	}
	var s spec
	if err := Decode(map[string]any{}, &s); err != nil || s.N != 5 || s.Mode != "a" {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
	if err := Decode(map[string]any{"n": int64(0)}, &s); err == nil || !strings.Contains(err.Error(), "n = 0: want at least 1") {
		t.Errorf("n = 0: %v", err)
	}
	if err := Decode(map[string]any{"mode": "c"}, &s); err == nil || !strings.Contains(err.Error(), `mode = "c": want one of "a" or "b"`) {
		t.Errorf("mode = c: %v", err)
	}
	if err := Decode(map[string]any{"nn": int64(1)}, &s); err == nil || !strings.Contains(err.Error(), `unknown key "nn" (did you mean "n"?)`) {
		t.Errorf("unknown key: %v", err)
	}
	s = spec{}
	if err := Decode(map[string]any{"other": "x"}, &s); err != nil || s.N != 0 {
		t.Errorf("an excluded key's default must not apply: %+v, %v", s, err)
	}
}

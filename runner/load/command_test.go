package load

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

func commandValues(argv []any, kv ...any) notebook.Values {
	v := notebook.Values{"tool": ToolCommand, "command": argv}
	for i := 0; i < len(kv); i += 2 {
		v[kv[i].(string)] = kv[i+1]
	}
	return v
}

func metricTable(entries ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(entries); i += 2 {
		m[entries[i].(string)] = entries[i+1]
	}
	return m
}

func TestCommandRun(t *testing.T) {
	tests := []struct {
		name   string
		values notebook.Values
		check  func(t *testing.T, m Measurement)
	}{
		{
			name: "true", values: commandValues([]any{"true"}),
			check: func(t *testing.T, m Measurement) {
				if w := m.Metrics["wall_ms"]; w <= 0 || w >= 2000 {
					t.Errorf("wall_ms %g", w)
				}
			},
		},
		{
			// The mean of the runs; a bound that holds on a loaded machine.
			name: "sleep 0.1, twice", values: commandValues([]any{"sleep", "0.1"}, "runs", int64(2)),
			check: func(t *testing.T, m Measurement) {
				if w := m.Metrics["wall_ms"]; w < 95 || w >= 2000 {
					t.Errorf("wall_ms %g, want about 100", w)
				}
				if m.Duration < 190*time.Millisecond {
					t.Errorf("duration %s, want the two runs", m.Duration)
				}
				if m.Metrics["user_ms"] > 50 {
					t.Errorf("user_ms %g for a sleep", m.Metrics["user_ms"])
				}
			},
		},
		{
			name: "a metric read by JSON pointer",
			values: commandValues([]any{"sh", "-c", `echo '{"stats":{"rate":42}}'`},
				"metrics", metricTable("compile_rate", map[string]any{"json": "/stats/rate", "unit": "files/s", "better": "higher"})),
			check: func(t *testing.T, m Measurement) {
				if got := m.Metrics["compile_rate"]; got != 42 {
					t.Errorf("compile_rate %g, want 42", got)
				}
			},
		},
		{
			name: "a metric read by regex, over runs",
			values: commandValues([]any{"sh", "-c", `echo "rate: $(( $(cat n 2>/dev/null || echo 0) + 10 )).5 files/s"; echo $(( $(cat n 2>/dev/null || echo 0) + 10 )) > n`},
				"runs", int64(2), "metrics", metricTable("rate", map[string]any{"regex": `rate: ([0-9.]+)`})),
			check: func(t *testing.T, m Measurement) {
				// 10.5 then 20.5: their mean.
				if got := m.Metrics["rate"]; got != 15.5 {
					t.Errorf("rate %g, want 15.5", got)
				}
			},
		},
		{
			// dd's 64 MiB buffer, under sh: a waited-for child's peak counts.
			name: "peak memory of a child", values: commandValues([]any{"sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null"}),
			check: func(t *testing.T, m Measurement) {
				if got := m.Metrics["max_rss_bytes"]; got < 64<<20 || got > 1<<30 {
					t.Errorf("max_rss_bytes %g, want over 64 MiB", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := mustRun(t, Target{Dir: dir}, tt.values)
			if m.Tool != ToolCommand || m.ToolVersion == "" || len(m.Command) == 0 {
				t.Errorf("tool %q, version %q, command %q", m.Tool, m.ToolVersion, m.Command)
			}
			for _, name := range []string{"wall_ms", "user_ms", "sys_ms", "max_rss_bytes"} {
				if v, ok := m.Metrics[name]; !ok || v < 0 {
					t.Errorf("%s = %g, %v", name, v, ok)
				}
			}
			if m.Metrics["max_rss_bytes"] < 100<<10 {
				t.Errorf("max_rss_bytes %g: a process takes more", m.Metrics["max_rss_bytes"])
			}
			tt.check(t, m)
		})
	}
}

// Warmups and runs each come after prepare; cleanup comes once, after them;
// all in the scratch folder unless dir says otherwise.
func TestCommandSteps(t *testing.T) {
	dir, nbDir := t.TempDir(), t.TempDir()
	log := filepath.Join(dir, "log")
	v := commandValues([]any{"sh", "-c", "echo run >> " + log},
		"warmup", int64(1), "runs", int64(2),
		"prepare", []any{"sh", "-c", "echo prepare >> " + log},
		"cleanup", []any{"sh", "-c", "echo cleanup in $(pwd) >> " + log},
	)
	m := mustRun(t, Target{Dir: dir, NotebookDir: nbDir}, v)
	got, _ := os.ReadFile(log)
	want := "prepare\nrun\nprepare\nrun\nprepare\nrun\ncleanup in " + dir + "\n"
	if string(got) != want {
		t.Errorf("steps:\n%s\nwant:\n%s", got, want)
	}
	if len(m.Commands) != 3 {
		t.Errorf("commands %q: want prepare, command, cleanup", m.Commands)
	}
	// A relative dir is in the notebook's folder.
	v = commandValues([]any{"sh", "-c", "pwd > {dir}/where"}, "dir", ".")
	mustRun(t, Target{Dir: dir, NotebookDir: nbDir}, v)
	if got, _ := os.ReadFile(filepath.Join(dir, "where")); strings.TrimSpace(string(got)) != nbDir {
		t.Errorf("ran in %q, want the notebook's folder %s", got, nbDir)
	}
}

func TestCommandFails(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		values notebook.Values
		want   []string
	}{
		{"exit 1", commandValues([]any{"sh", "-c", "echo partial; echo 'error: cannot open input.c' >&2; exit 1"}), []string{"run 1 of 1: sh: exit status 1; stderr: error: cannot open input.c"}},
		{"exit 1 on a later run", commandValues([]any{"sh", "-c", "test -e once && exit 3; touch once"}, "runs", int64(3)), []string{"run 2 of 3: sh: exit status 3"}},
		{"no such program", commandValues([]any{"nosuchprog-benchbook"}), []string{"nosuchprog-benchbook: executable file not found in $PATH"}},
		{"prepare fails", commandValues([]any{"true"}, "prepare", []any{"false"}), []string{"run 1 of 1: prepare: false: exit status 1"}},
		{"cleanup fails", commandValues([]any{"true"}, "cleanup", []any{"false"}), []string{"cleanup: false: exit status 1"}},
		{"a run past its timeout", commandValues([]any{"sleep", "10"}, "timeout", "300ms"), []string{"run 1 of 1: killed after its timeout of 300ms"}},
		{"a signal", commandValues([]any{"sh", "-c", "kill -9 $$"}), []string{"sh: signal: killed"}},
		{
			"no such JSON key", commandValues([]any{"sh", "-c", `echo '{"stats":{"rate":42}}'`}, "metrics", metricTable("r", map[string]any{"json": "/stats/speed"})),
			[]string{`metric r: json "/stats/speed": no "speed" in its output (keys: rate)`},
		},
		{
			"not JSON", commandValues([]any{"echo", "hello"}, "metrics", metricTable("r", map[string]any{"json": "/x"})),
			[]string{`metric r: its standard output is not JSON, nor is any of its lines: "hello\n"`},
		},
		{
			"not a number", commandValues([]any{"sh", "-c", `echo '{"v":"fast"}'`}, "metrics", metricTable("r", map[string]any{"json": "/v"})),
			[]string{`metric r: "fast" is not a finite number`},
		},
		{
			"a regex that matches nothing", commandValues([]any{"echo", "done"}, "metrics", metricTable("r", map[string]any{"regex": `rate: ([0-9.]+)`})),
			[]string{`metric r: regex "rate: ([0-9.]+)" matches nothing in its output: "done\n"`},
		},
		{"a metric named as the tool's", commandValues([]any{"true"}, "metrics", metricTable("wall_ms", map[string]any{"regex": `(1)`})), []string{"metrics.wall_ms: the command tool measures wall_ms itself"}},
		{"a regex with two groups", commandValues([]any{"true"}, "metrics", metricTable("r", map[string]any{"regex": `(a)(b)`})), []string{"has 2 groups: want exactly one"}},
		{"no command", notebook.Values{"tool": ToolCommand}, []string{`missing key "command"`}},
		{"an empty command", commandValues([]any{}), []string{"command is empty"}},
		{"a dir out of the notebook's folder", commandValues([]any{"true"}, "dir", "../up"), []string{`dir "../up": leaves the notebook's folder`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			runFails(t, Target{Dir: t.TempDir(), NotebookDir: dir}, tt.values, tt.want)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
			if left := childrenNamed(t, "sleep"); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

func TestCommandMetricsCaptured(t *testing.T) {
	tests := []struct {
		out, json, regex string
		want             float64
		err              string
	}{
		{out: "stats-json", json: "/stats/rate", want: 42},
		{out: "log-then-json", json: "/stats/files", want: 120},
		{out: "log-then-json", json: "/ok", err: `json "/ok" is a boolean, not a number`},
		{out: "log-then-json", json: "/stats/rate/x", err: `"x" is inside a number`},
		{out: "text-rate", regex: `rate: ([0-9.]+)`, want: 51.9},
		{out: "text-rate", regex: `done in ([0-9.]+) s`, want: 2.31},
		{out: "gzip-list", regex: `(?m)^\s*[0-9]+\s+([0-9]+)\s`, want: 100000},
		{out: "exit1", json: "/x", err: "is not JSON"},
		{out: "nothing", regex: "(x)", err: "it printed nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.out+tt.json+tt.regex, func(t *testing.T) {
			stdout, _ := captured(t, "command", tt.out)
			var got float64
			var err error
			if tt.regex != "" {
				got, err = regexMetric(regexp.MustCompile(tt.regex), stdout)
			} else {
				var doc any
				if doc, err = stdoutJSON(stdout); err == nil {
					got, err = pointerMetric(doc, tt.json)
				}
			}
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
			case err != nil:
				t.Error(err)
			case got != tt.want:
				t.Errorf("got %g, want %g", got, tt.want)
			}
		})
	}
}

// FuzzCommandMetrics covers the readers of figures in a command's output,
// seeded with the recorded outputs: a finite number or an error, whatever
// the program printed and whichever pointer the notebook gives.
func FuzzCommandMetrics(f *testing.F) {
	for _, b := range recordedOutputs(f, "command") {
		f.Add(b, "/stats/rate")
	}
	f.Add([]byte(`[1,[2,{"a/b":{"~":3}}]]`), "/1/1/a~1b/~0")
	f.Add([]byte(`{"":{"":"7"}}`), "//")
	re := regexp.MustCompile(`rate: ([0-9.eE+-]+)`)
	f.Fuzz(func(t *testing.T, stdout []byte, pointer string) {
		if notebook.CheckJSONPointer(pointer) != nil {
			return // refused when the notebook is checked
		}
		check := func(v float64, err error) {
			if err == nil && (v != v || math.IsInf(v, 0)) {
				t.Fatalf("%g without an error", v)
			}
		}
		check(regexMetric(re, stdout))
		doc, err := stdoutJSON(stdout)
		if err != nil {
			return
		}
		check(pointerMetric(doc, pointer))
	})
}

// TestCommandEnv: a command sees LC_ALL=C even when benchbook's own
// environment sets another (the first of two would win in glibc's getenv).
func TestCommandEnv(t *testing.T) {
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	v := commandValues([]any{"sh", "-c", `test "$LC_ALL" = C && test "$(env | grep -c '^LC_ALL=')" = 1 && test -z "$(cat)"`})
	mustRun(t, Target{Dir: t.TempDir()}, v)
}

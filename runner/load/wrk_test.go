package load

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/servertest"
	"github.com/benchbook/benchbook/notebook"
)

func wrkValues(kv ...any) notebook.Values {
	return toolValues(ToolWrk, notebook.Values{"duration": "1s", "threads": int64(1), "connections": int64(4)}, kv...)
}

// TestWrkRun drives a real nginx serving a 1 KiB file: figures that fit
// together, keep-alive on and off, and a notebook's script that changes
// what is requested.
func TestWrkRun(t *testing.T) {
	needTool(t, "wrk")
	srv := servertest.Nginx(t)
	nbDir := t.TempDir()
	// The load asks for a page that does not exist; only the script makes
	// the run succeed, by asking for the file instead.
	os.WriteFile(filepath.Join(nbDir, "fix-path.lua"), []byte("wrk.path = \"/1k.bin\"\ndone = function(s, l, r) io.write(\"benchbook-wrk: {}\\n\") end\n"), 0o644)
	tests := []struct {
		name   string
		values notebook.Values
	}{
		{"keepalive", wrkValues("path", "/1k.bin")},
		{"close", wrkValues("path", "/1k.bin", "keepalive", false, "headers", map[string]any{"X-Bench": "1"})},
		{"script", wrkValues("path", "/nope", "script", "fix-path.lua")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRun(t, Target{Addr: srv.Addr, NotebookDir: nbDir}, tt.values)
			checkWrk(t, m)
			// Each answer is the 1 KiB file and its headers.
			if per := m.Metrics["transfer_per_sec"] / m.Metrics["requests_per_sec"]; per < 1024 || per > 1400 {
				t.Errorf("%.0f bytes per response, want 1 KiB and headers", per)
			}
			if m.Duration < 900*time.Millisecond || m.Duration > 3*time.Second {
				t.Errorf("duration %s for a 1s run", m.Duration)
			}
			if tt.name == "close" && !slices.Contains(m.Command, "Connection: close") {
				t.Errorf("command %q sends no Connection: close", m.Command)
			}
		})
	}
}

// checkWrk checks what every good wrk run must satisfy.
func checkWrk(t *testing.T, m Measurement) {
	t.Helper()
	if m.Tool != ToolWrk || !strings.HasPrefix(m.ToolVersion, "debian/4.1") || m.CPU <= 0 {
		t.Errorf("tool %q, version %q, cpu %s", m.Tool, m.ToolVersion, m.CPU)
	}
	for _, metric := range wrkMetrics {
		if _, ok := m.Metrics[metric.Name]; !ok {
			t.Errorf("no %s in %v", metric.Name, m.Metrics)
		}
	}
	if len(m.Metrics) != len(wrkMetrics) {
		t.Errorf("metrics %v, want those declared", m.Metrics)
	}
	rps := m.Metrics["requests_per_sec"]
	if rps < 100 {
		t.Errorf("requests_per_sec %g: nginx on loopback serves thousands", rps)
	}
	if got := m.Metrics["requests"] / m.Duration.Seconds(); got < rps*0.999 || got > rps*1.001 {
		t.Errorf("requests %g over %s is %g/s, not requests_per_sec %g", m.Metrics["requests"], m.Duration, got, rps)
	}
	lat := func(name string) float64 { return m.Metrics["latency_"+name] }
	if !(0 < lat("p50") && lat("p50") <= lat("p90") && lat("p90") <= lat("p99") && lat("p99") <= lat("p999") && lat("p999") <= lat("max")) {
		t.Errorf("latencies out of order: %v", m.Metrics)
	}
	if lat("avg") <= 0 || lat("avg") > lat("max") {
		t.Errorf("latency_avg %g, max %g", lat("avg"), lat("max"))
	}
	checkSpectrum(t, m.Percentiles)
}

func TestWrkFails(t *testing.T) {
	needTool(t, "wrk")
	srv := servertest.Nginx(t)
	nbDir := t.TempDir()
	os.WriteFile(filepath.Join(nbDir, "syntax.lua"), []byte("wrk.method = = \"POST\"\n"), 0o644)
	os.WriteFile(filepath.Join(nbDir, "done-error.lua"), []byte("done = function(s, l, r) error(\"cannot write report.csv\") end\n"), 0o644)
	closed := closedAddr(t)
	tests := []struct {
		name   string
		values notebook.Values
		addr   string
		want   []string
		fast   bool // fails at once, long before the run's 30 s
	}{
		{"a closed port", wrkValues(), closed, []string{"wrk: exit status 1; stderr: unable to connect to " + closed + " Connection refused"}, true},
		{"404s", wrkValues("path", "/nope"), srv.Addr, []string{"answers were not 2xx or 3xx from http://" + srv.Addr, "check the path"}, false},
		{"a script that does not load", wrkValues("script", "syntax.lua"), srv.Addr, []string{"the script syntax.lua failed: ", "syntax.lua:1: unexpected symbol near '='"}, true},
		{"a script whose done fails", wrkValues("script", "done-error.lua"), srv.Addr, []string{"the script done-error.lua failed: ", "done-error.lua:1: cannot write report.csv"}, false},
		{"no script", wrkValues("script", "gone.lua"), srv.Addr, []string{"script: no file " + filepath.Join(nbDir, "gone.lua")}, true},
		{"more threads than connections", wrkValues("threads", int64(8)), srv.Addr, []string{"threads = 8 is above connections = 4"}, true},
		{"a fraction of a second", wrkValues("duration", "1500ms"), srv.Addr, []string{`duration = "1500ms": want whole multiples of 1s (the tool counts no less), like "1s" or "2s"`}, true},
		{"keepalive and a Connection header", wrkValues("keepalive", false, "headers", map[string]any{"connection": "keep-alive"}), srv.Addr, []string{"headers.connection and keepalive = false"}, true},
		{"a header name with a colon", wrkValues("headers", map[string]any{"X-A: b": "c"}), srv.Addr, []string{`headers: "X-A: b" is not a header name`}, true},
		{"a path without its slash", wrkValues("path", "index.html"), srv.Addr, []string{`path "index.html": want a path like`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fast && tt.values["duration"] == "1s" {
				tt.values["duration"] = "30s"
			}
			start := time.Now()
			m, err := Run(context.Background(), Target{Addr: tt.addr, NotebookDir: nbDir}, tt.values)
			if err == nil {
				t.Fatalf("Run succeeded: %v", m.Metrics)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
			// A third of the run's duration: an error that ends wrk at once
			// is far from it even on a machine loaded enough to slow every
			// start (a fixed 500 ms was not).
			if took := time.Since(start); tt.fast && took > 10*time.Second {
				t.Errorf("took %s, want far under the run's 30 s", took)
			}
			if len(m.Metrics) != 0 {
				t.Errorf("a failed run has figures: %v", m.Metrics)
			}
			if left := childrenNamed(t, "wrk"); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

// TestWrkServerTrouble: a server that dies during the run gives socket
// errors, one that stops answering gives no response at all; both fail,
// and a run past its timeout is killed.
func TestWrkServerTrouble(t *testing.T) {
	needTool(t, "wrk")
	t.Run("killed", func(t *testing.T) {
		srv := servertest.Nginx(t)
		time.AfterFunc(300*time.Millisecond, srv.Stop)
		_, err := Run(context.Background(), Target{Addr: srv.Addr}, wrkValues("path", "/1k.bin"))
		if err == nil || !strings.Contains(err.Error(), "socket errors: ") {
			t.Fatalf("error %v, want socket errors", err)
		}
		t.Log(err)
	})
	t.Run("hung", func(t *testing.T) {
		srv := servertest.Nginx(t)
		if err := syscall.Kill(srv.Pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		_, err := Run(context.Background(), Target{Addr: srv.Addr}, wrkValues("request_timeout", "1s"))
		if err == nil || !strings.Contains(err.Error(), "no request to http://"+srv.Addr+" completed") {
			t.Fatalf("error %v, want no request completed", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := servertest.Nginx(t)
		checkTimeout(t, Target{Addr: srv.Addr}, wrkValues("duration", "30s", "timeout", "1s"), 3*time.Second, func() []int { return childrenNamed(t, "wrk") })
	})
}

// TestWrkParseCaptured reads the recorded runs (testdata/wrk/capture.sh)
// as wrkRun reads a run: the summary, then its judgement.
func TestWrkParseCaptured(t *testing.T) {
	tests := []struct {
		name string
		rps  float64 // wrk's own Requests/sec line
		want string  // the error, for a failed run
	}{
		{name: "get-1k", rps: 25528.21},
		{name: "close", rps: 11829.60},
		{name: "script", rps: 27953.84},
		{name: "notfound", want: "31854 of 31854 answers were not 2xx or 3xx"},
		{name: "killed", want: "socket errors: read 8, write 1823 from"},
		{name: "hung", want: "no request to http://ADDR completed"},
		{name: "closed", want: "no summary in its output"},
		{name: "script-syntax", want: "script: /tmp/wrkcap/syntax.lua:1: unexpected symbol near '='"},
		{name: "script-done-error", want: `script: /tmp/wrkcap/done-error.lua:2: cannot write "report.csv"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _ := captured(t, "wrk", tt.name)
			out, err := parseWrk(stdout)
			if err == nil && out.ScriptError != nil {
				err = errorString("script: " + *out.ScriptError)
			}
			if err == nil {
				err = out.judge("ADDR")
			}
			if testutil.ExpectErr(t, err, tt.want) {
				return
			}
			m := Measurement{Tool: ToolWrk, ToolVersion: "debian/4.1.0-3+b2", CPU: 1}
			out.fill(&m)
			checkWrk(t, m)
			// wrk prints its rate to two decimals.
			if got := m.Metrics["requests_per_sec"]; got < tt.rps-0.006 || got > tt.rps+0.006 {
				t.Errorf("requests_per_sec %.4f, wrk printed %.2f", got, tt.rps)
			}
		})
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func TestLuaString(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/a.lua":           `"/tmp/a.lua"`,
		`/tmp/"x"\y.lua`:       `"/tmp/\034x\034\092y.lua"`,
		"/tmp/é\n.lua":         `"/tmp/\195\169\010.lua"`,
		"/tmp/]]--[[ also.lua": `"/tmp/]]--[[ also.lua"`,
	} {
		if got := luaString(in); got != want {
			t.Errorf("luaString(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzWrk covers the reading of wrk's output and the hook's line, seeded
// with every recorded run: figures that are declared, finite and in
// order, or an error.
func FuzzWrk(f *testing.F) {
	for _, b := range recordedOutputs(f, "wrk") {
		f.Add(b)
	}
	f.Add([]byte(`benchbook-wrk: {"duration_us":1,"requests":1,"bytes":1,"latency":{"min":5,"max":1,"mean":3,"percentiles":[[50,9]]}}`))
	f.Add([]byte(`benchbook-wrk: {"duration_us":0,"requests":3,"bytes":1e308,"latency":{"min":1,"max":2,"mean":1,"percentiles":[[99,1],[50,3],[50,1]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := parseWrk(data)
		if err != nil || out.ScriptError != nil || out.judge("x") != nil {
			return
		}
		var m Measurement
		out.fill(&m)
		checkFuzzed(t, m, wrkMetrics, 1e300)
	})
}

func TestWrkIperf3Available(t *testing.T) {
	needTool(t, "wrk")
	needTool(t, "iperf3")
	for tool, want := range map[string]string{ToolWrk: "debian/4.1.0-3+b2", ToolIperf3: "3.12"} {
		if v, err := Available(tool); err != nil || v != want {
			t.Errorf("Available(%s) = %q, %v; want %q", tool, v, err, want)
		}
	}
}

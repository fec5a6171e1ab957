package load

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// ToolWrk is wrk, the HTTP benchmarking tool (Debian wrk).
const ToolWrk = "wrk"

const wrkProg = "wrk"

// WrkSpec declares the keys of a wrk load: GET http://ADDR/PATH over
// connections kept open by wrk's threads for duration, ADDR the guest's.
type WrkSpec struct {
	Tool        string            `key:"tool" required:"" doc:"the load generator"`
	Connections int               `key:"connections" default:"10" min:"1" max:"1000000" doc:"HTTP connections kept open, shared among the threads (wrk's -c)"`
	Threads     int               `key:"threads" default:"2" min:"1" max:"1024" atmost:"connections" doc:"threads of wrk, each an event loop over its share of the connections (-t)"`
	Duration    time.Duration     `key:"duration" default:"10s" min:"1s" step:"1s" doc:"how long the load runs, in whole seconds (-d)"`
	Path        string            `key:"path" default:"/" pattern:"^/[!-~]*$" help:"want a path like \"/\" or \"/static/1k.bin?x=1\" (from its leading /, no spaces)" doc:"the path and query requested: the URL is http://ADDR/PATH, ADDR the guest's address"`
	Keepalive   bool              `key:"keepalive" default:"true" doc:"keep connections open across requests (HTTP/1.1's default); false sends Connection: close, one request per connection"`
	Headers     map[string]string `key:"headers" doc:"request headers, { Name = \"value\" } (wrk's -H)"`
	Script      string            `key:"script" doc:"a wrk Lua script, relative to the notebook's folder (requests, methods, bodies); it runs as with wrk -s, and benchbook's done() after its own"`

	RequestTimeout time.Duration `key:"request_timeout" default:"2s" min:"1s" step:"1s" doc:"a request unanswered this long counts as a timeout error (wrk's --timeout), in whole seconds"`
	Timeout        time.Duration `key:"timeout" min:"1s" doc:"kill wrk after this long (default: duration + 1m)"`
	Description    string        `key:"description" noparam:"" doc:"shown in the report"`
}

// wrkMetrics: latencies are in microseconds, as wrk measures them and as
// benchbook stores every latency.
var wrkMetrics = []notebook.Metric{
	{Name: "requests_per_sec", Unit: "req/s", Better: notebook.BetterHigher, Doc: "responses per second (wrk's Requests/sec: requests over the run's duration)"},
	{Name: "transfer_per_sec", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "bytes read per second, headers included (wrk's Transfer/sec)"},
	{Name: "latency_avg", Unit: "µs", Better: notebook.BetterLower, Doc: "mean latency, from a request's sending to its response"},
	{Name: "latency_p50", Unit: "µs", Better: notebook.BetterLower, Doc: "median latency"},
	{Name: "latency_p90", Unit: "µs", Better: notebook.BetterLower, Doc: "90th percentile of latency"},
	{Name: "latency_p99", Unit: "µs", Better: notebook.BetterLower, Doc: "99th percentile of latency"},
	{Name: "latency_p999", Unit: "µs", Better: notebook.BetterLower, Doc: "99.9th percentile of latency"},
	{Name: "latency_max", Unit: "µs", Better: notebook.BetterLower, Doc: "highest latency"},
	{Name: "requests", Doc: "responses received in the run"},
	{Name: "errors", Better: notebook.BetterLower, Doc: "socket errors and answers other than 2xx or 3xx; a run with any fails, so stored figures have none"},
}

// wrkSummaryHook is the done() hook that prints the figures as JSON.
//
//go:embed wrk_summary.lua
var wrkSummaryHook string

// wrkMarker starts the hook's line on wrk's standard output.
const wrkMarker = "benchbook-wrk: "

// wrkVersion reads `wrk -v`, which exits 1: "wrk debian/4.1.0-3+b2
// [epoll] Copyright (C) 2012 Will Glozer".
func wrkVersion(ctx context.Context) (string, error) {
	path, err := exec.LookPath(wrkProg)
	if err != nil {
		return "", fmt.Errorf("%s not on PATH (apt-get install wrk; see benchbook doctor): %w", wrkProg, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := runProc(ctx, []string{path, "-v"}, "", nil)
	line, _, _ := strings.Cut(string(res.stdout), "\n")
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "wrk" {
		return "", fmt.Errorf("wrk -v: no version in its output: %v%s", err, stderrHint(res.stderr))
	}
	return fields[1], nil
}

// wrkRun runs wrk once against t and judges it: a socket error, an answer
// other than 2xx or 3xx, an error of the notebook's script or a run with
// no response fails the repeat.
func wrkRun(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	m := Measurement{Tool: ToolWrk}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("wrk: %w", err) }
	s, path, err := decodeTool[WrkSpec](t, v, wrkProg)
	if err != nil {
		return fail(err)
	}
	// A folder of its own for the hook, not the repeat's {dir}: that may be
	// what the server serves.
	dir, done, err := scratch(Target{}, ToolWrk)
	if err != nil {
		return fail(err)
	}
	defer done()
	hook, err := writeWrkHook(dir, s.Script, t.NotebookDir)
	if err != nil {
		return fail(err)
	}
	m.Command = s.argv(path, hook, t.Addr)
	timeout := s.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	// In the notebook's folder, so that a script finds the files beside it
	// as it would when run by hand from there.
	res, err := runProc(ctx, t.wrap(m.Command), t.NotebookDir, nil)
	m.CPU = res.cpu()
	if ctx.Err() != nil {
		return fail(describeProcErr(ctx, err, timeout, res.stderr))
	}
	out, perr := parseWrk(res.stdout)
	switch {
	case perr == nil && out.ScriptError != nil:
		return fail(fmt.Errorf("the script %s failed: %s", s.Script, *out.ScriptError))
	case err != nil:
		return fail(fmt.Errorf("%w%s", err, stderrHint(res.stderr)))
	case perr != nil:
		return fail(fmt.Errorf("%w%s", perr, stderrHint(res.stderr)))
	}
	if err := out.judge(t.Addr); err != nil {
		return fail(err)
	}
	out.fill(&m)
	m.ToolVersion, _ = wrkVersion(ctx)
	return m, nil
}

// check refuses what the key declarations cannot say: headers wrk would
// send broken, and a Connection header that contradicts keepalive.
func (s WrkSpec) check() error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		value := s.Headers[name]
		switch {
		case name == "" || strings.ContainsAny(name, ": \t\r\n"):
			errs = append(errs, fmt.Errorf("headers: %q is not a header name", name))
		case strings.ContainsAny(value, "\r\n"):
			errs = append(errs, fmt.Errorf("headers.%s: a value of one line, please", name))
		case strings.EqualFold(name, "Connection") && !s.Keepalive:
			errs = append(errs, fmt.Errorf("headers.%s and keepalive = false: keepalive = false sends Connection: close; give one of them", name))
		}
	}
	return errors.Join(errs...)
}

func (s WrkSpec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return s.Duration + slack
}

// argv is wrk's command line against addr, with the hook script.
func (s WrkSpec) argv(path, hook, addr string) []string {
	argv := []string{path,
		"--threads", strconv.Itoa(s.Threads),
		"--connections", strconv.Itoa(s.Connections),
		"--duration", wrkSeconds(s.Duration),
		"--timeout", wrkSeconds(s.RequestTimeout),
	}
	if !s.Keepalive {
		argv = append(argv, "--header", "Connection: close")
	}
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		argv = append(argv, "--header", name+": "+s.Headers[name])
	}
	return append(argv, "--script", hook, "http://"+addr+s.Path)
}

func wrkSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// writeWrkHook writes the script wrk runs into dir: benchbook's done()
// hook, after a line that loads the notebook's script when there is one.
func writeWrkHook(dir, script, notebookDir string) (string, error) {
	var b strings.Builder
	b.WriteString("-- written by benchbook for one run of wrk\n")
	if script != "" {
		p, err := besideNotebook("script", script, notebookDir)
		if err != nil {
			return "", err
		}
		if p, err = filepath.Abs(p); err != nil {
			return "", fmt.Errorf("script: %w", err)
		}
		fmt.Fprintf(&b, "local benchbook_script = %s\n", luaString(p))
	}
	b.WriteString(wrkSummaryHook)
	hook := filepath.Join(dir, "benchbook-wrk.lua")
	if err := os.WriteFile(hook, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("writing wrk's script: %w", err)
	}
	return hook, nil
}

// luaString quotes s as a Lua string literal: bytes other than plain
// printable ones as decimal escapes, which every Lua reads.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c <= '~' && c != '"' && c != '\\' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\%03d", c)
	}
	b.WriteByte('"')
	return b.String()
}

// wrkOutput is the hook's line: counts, and latencies in microseconds.
type wrkOutput struct {
	DurationUs *float64 `json:"duration_us"`
	Requests   *float64 `json:"requests"`
	Bytes      *float64 `json:"bytes"`
	Errors     struct {
		Connect float64 `json:"connect"`
		Read    float64 `json:"read"`
		Write   float64 `json:"write"`
		Status  float64 `json:"status"`
		Timeout float64 `json:"timeout"`
	} `json:"errors"`
	Latency struct {
		Min         *float64     `json:"min"`
		Max         *float64     `json:"max"`
		Mean        *float64     `json:"mean"`
		Percentiles [][2]float64 `json:"percentiles"`
	} `json:"latency"`
	// ScriptError is the error of the notebook's script: raised while it
	// loaded (then nothing else is set) or by its done().
	ScriptError *string `json:"script_error"`
}

// parseWrk reads the hook's line from wrk's standard output, which also
// holds wrk's own report and whatever the notebook's script printed.
func parseWrk(stdout []byte) (wrkOutput, error) {
	var out wrkOutput
	var line []byte
	for rest := stdout; len(rest) > 0; {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		if after, ok := bytes.CutPrefix(l, []byte(wrkMarker)); ok {
			line = after // the last one: a script printing the marker comes first
		}
	}
	if line == nil {
		return out, errors.New("no summary in its output (benchbook's done() hook did not run)")
	}
	if err := json.Unmarshal(line, &out); err != nil {
		return out, fmt.Errorf("reading its summary: %w", err)
	}
	if out.ScriptError != nil {
		return out, nil
	}
	return out, out.sane()
}

// sane refuses a summary no wrk can have printed.
func (o wrkOutput) sane() error {
	if o.DurationUs == nil || o.Requests == nil || o.Bytes == nil {
		return errors.New("its summary lacks the duration, requests or bytes")
	}
	e := o.Errors
	for name, x := range map[string]float64{"duration": *o.DurationUs, "requests": *o.Requests, "bytes": *o.Bytes, "connect errors": e.Connect, "read errors": e.Read, "write errors": e.Write, "status errors": e.Status, "timeouts": e.Timeout} {
		if x < 0 || math.IsInf(x, 0) || x > 1e300 {
			return fmt.Errorf("its summary has %s = %g", name, x)
		}
	}
	if *o.DurationUs > 1e15 {
		return fmt.Errorf("its summary has a duration of %g µs", *o.DurationUs)
	}
	if *o.Requests == 0 {
		return nil // judged as such, with the errors' counts
	}
	if *o.DurationUs == 0 {
		return errors.New("its summary has requests in no time")
	}
	l := o.Latency
	if l.Min == nil || l.Max == nil || l.Mean == nil {
		return errors.New("its summary has requests but no latency")
	}
	if *l.Min < 0 || *l.Min > *l.Max || *l.Max > 1e300 || *l.Mean < 0 {
		return fmt.Errorf("its latency is min %g, max %g, mean %g", *l.Min, *l.Max, *l.Mean)
	}
	for _, p := range l.Percentiles {
		if !(p[0] > 0 && p[0] < 100) || p[1] < 0 || p[1] > 1e300 {
			return fmt.Errorf("its latency percentile %v", p)
		}
	}
	return nil
}

// judge fails a run with errors: a connection that failed or timed out, or
// an answer other than 2xx or 3xx, mixes what is not the server serving
// into the figures.
func (o wrkOutput) judge(addr string) error {
	e := o.Errors
	var socket []string
	for _, c := range []struct {
		name string
		n    float64
	}{{"connect", e.Connect}, {"read", e.Read}, {"write", e.Write}, {"timeout", e.Timeout}} {
		if c.n > 0 {
			socket = append(socket, fmt.Sprintf("%s %.0f", c.name, c.n))
		}
	}
	var errs []string
	if len(socket) > 0 {
		errs = append(errs, "socket errors: "+strings.Join(socket, ", "))
	}
	if e.Status > 0 {
		errs = append(errs, fmt.Sprintf("%.0f of %.0f answers were not 2xx or 3xx", e.Status, *o.Requests))
	}
	switch {
	case len(errs) > 0:
		return fmt.Errorf("%s from http://%s; figures with failed requests measure the failures: check the path, the server (its logs, its connection limits) or request_timeout", strings.Join(errs, "; "), addr)
	case *o.Requests == 0:
		return fmt.Errorf("no request to http://%s completed", addr)
	}
	return nil
}

// fill puts the figures of a judged run into m.
func (o wrkOutput) fill(m *Measurement) {
	secs := *o.DurationUs / 1e6
	m.Duration = time.Duration(*o.DurationUs) * time.Microsecond
	l := o.Latency
	m.Metrics = map[string]float64{
		"requests":    *o.Requests,
		"errors":      0,
		"latency_avg": *l.Mean,
		"latency_max": *l.Max,
	}
	if secs > 0 {
		m.Metrics["requests_per_sec"] = *o.Requests / secs
		m.Metrics["transfer_per_sec"] = *o.Bytes / secs
	}
	m.Percentiles = []Percentile{{P: 0, LatencyUs: *l.Min}}
	for _, p := range slices.SortedFunc(slices.Values(l.Percentiles), func(a, b [2]float64) int { return cmp.Compare(a[0], b[0]) }) {
		last := m.Percentiles[len(m.Percentiles)-1]
		if p[0] <= last.P {
			continue
		}
		m.Percentiles = append(m.Percentiles, Percentile{P: p[0], LatencyUs: min(max(p[1], last.LatencyUs), *l.Max)})
	}
	m.Percentiles = append(m.Percentiles, Percentile{P: 100, LatencyUs: max(*l.Max, m.Percentiles[len(m.Percentiles)-1].LatencyUs)})
	for name, p := range map[string]float64{"latency_p50": 50, "latency_p90": 90, "latency_p99": 99, "latency_p999": 99.9} {
		if v, ok := spectrumAt(m.Percentiles, p); ok {
			m.Metrics[name] = v
		}
	}
}

// spectrumAt is the latency at percentile p of a spectrum, when it has it
// (the hook prints 99.9 as 99.900000000000006).
func spectrumAt(s []Percentile, p float64) (float64, bool) {
	for _, x := range s {
		if math.Abs(x.P-p) < 1e-9 {
			return x.LatencyUs, true
		}
	}
	return 0, false
}

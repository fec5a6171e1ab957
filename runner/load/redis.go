package load

import (
	"context"
	"fmt"

	"github.com/benchbook/benchbook/notebook"
)

// What the three redis tools share: their keys (Spec), the metrics they
// produce, and how a run is judged.

// redisMetrics are the figures of the redis tools: the totals, and per
// command under a "sets." or "gets." prefix. Latencies are in
// microseconds.
var redisMetrics = func() []notebook.Metric {
	base := []notebook.Metric{
		{Name: "ops_per_sec", Unit: "ops/s", Better: notebook.BetterHigher, Doc: "requests per second", Timeline: true},
		{Name: "kb_per_sec", Unit: "KB/s", Better: notebook.BetterHigher, Doc: "kilobytes sent and received per second"},
		{Name: "latency_avg", Unit: "µs", Better: notebook.BetterLower, Doc: "mean latency"},
		{Name: "latency_p50", Unit: "µs", Better: notebook.BetterLower, Doc: "median latency"},
		{Name: "latency_p90", Unit: "µs", Better: notebook.BetterLower, Doc: "90th percentile of latency"},
		{Name: "latency_p99", Unit: "µs", Better: notebook.BetterLower, Doc: "99th percentile of latency", Timeline: true},
		{Name: "latency_p999", Unit: "µs", Better: notebook.BetterLower, Doc: "99.9th percentile of latency"},
		{Name: "latency_max", Unit: "µs", Better: notebook.BetterLower, Doc: "highest latency seen"},
		{Name: "hits", Better: notebook.BetterHigher, Doc: "GETs that found their key"},
		{Name: "misses", Better: notebook.BetterLower, Doc: "GETs that found no key"},
	}
	out := append([]notebook.Metric{}, base...)
	out = append(out, notebook.Metric{Name: "errors", Better: notebook.BetterLower, Doc: "error replies and connection errors"})
	for _, prefix := range []string{"sets.", "gets."} {
		for _, m := range base {
			if prefix == "sets." && (m.Name == "hits" || m.Name == "misses") {
				continue
			}
			if m.Name != "hits" && m.Name != "misses" {
				m.Doc += ", " + map[string]string{"sets.": "SETs", "gets.": "GETs"}[prefix] + " only"
			}
			m.Name = prefix + m.Name
			m.Timeline = false // the timeline is of all requests
			out = append(out, m)
		}
	}
	return out
}()

// redisRun runs one of the redis tools from a load table's values and
// judges what it measured: a run that completed nothing, or in which the
// server refused requests, is a failure, never figures.
func redisRun(name string) func(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	return func(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
		s, err := Decode(v)
		if err != nil {
			return Measurement{}, err
		}
		s.Progress = t.Progress
		l, err := New(name)
		if err != nil {
			return Measurement{}, err
		}
		m, err := l.Run(ctx, t, s)
		if err != nil {
			return m, err
		}
		m.Metrics = flatten(m)
		if m.Totals.Ops == 0 {
			return m, fmt.Errorf("no request completed")
		}
		if m.Errors > 0 {
			// Refused requests are answered fast: figures that mix them in
			// measure the refusals (a full maxmemory, a wrong password),
			// not the server.
			first := ""
			if m.FirstError != "" {
				first = fmt.Sprintf(" (the first: %q)", m.FirstError)
			}
			return m, fmt.Errorf("the server answered %d of %d requests with an error%s; figures with refused requests measure the refusals: fix the guest's configuration (maxmemory?) or the load", m.Errors, m.Errors+m.Totals.Ops, first)
		}
		return m, nil
	}
}

// flatten turns a redis measurement into the flat metric names.
func flatten(m Measurement) map[string]float64 {
	out := map[string]float64{"errors": float64(m.Errors)}
	add := func(prefix string, s Stats) {
		out[prefix+"ops_per_sec"] = s.OpsPerSec
		out[prefix+"kb_per_sec"] = s.KBPerSec
		out[prefix+"latency_avg"] = s.LatencyAvg
		out[prefix+"latency_p50"] = s.LatencyP50
		out[prefix+"latency_p90"] = s.LatencyP90
		out[prefix+"latency_p99"] = s.LatencyP99
		out[prefix+"latency_p999"] = s.LatencyP999
		out[prefix+"latency_max"] = s.LatencyMax
		if prefix != "sets." {
			out[prefix+"hits"] = float64(s.Hits)
			out[prefix+"misses"] = float64(s.Misses)
		}
	}
	add("", m.Totals)
	if m.Sets.Ops > 0 {
		add("sets.", m.Sets)
	}
	if m.Gets.Ops > 0 {
		add("gets.", m.Gets)
	}
	return out
}

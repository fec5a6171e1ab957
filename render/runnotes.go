package render

import (
	"fmt"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// runNotes say how a bench cell's stored run went beyond its figures:
// why an adaptive repeat stopped, every failure a guest had (retried or
// not), and, when guests the cell needs failed, that the run is
// incomplete and which figures were kept.
type runNotes struct {
	Stopped    string   // "target reached after 12 rounds: ±1.8 %", per point in a sweep
	Failures   []string // "osv: 2 failures in 12 repeats, retried: ..."
	Incomplete string   // the banner of a run whose failed guests were left out
	Behaviour  []string // repeats not steady second by second (timeline.go)
}

// addRunNotes fills v's run notes from the stored run f.
func (v *benchView) addRunNotes(f *results.File) {
	if f == nil {
		return
	}
	v.Stopped = stopText(f)
	v.Behaviour = behaviourNotes(f)
	var kept []string
	for _, g := range f.Guests {
		if t := g.FailureText(); t != "" {
			v.Failures = append(v.Failures, g.Name+": "+t)
		}
		if g.Status == results.StatusFailed && g.Kept != nil {
			kept = append(kept, fmt.Sprintf("%s's figures of the run of %s are kept in the results file", g.Name, formatWhen(g.Kept.Started)))
		}
	}
	if f.Incomplete == "" {
		return
	}
	v.Incomplete = fmt.Sprintf("the run of %s is incomplete: %s. The figures shown are the other guests'", formatWhen(f.Started), firstLine(f.Incomplete))
	if len(kept) > 0 {
		v.Incomplete += "; " + strings.Join(kept, "; ") + ", not shown beside figures of another time"
	}
}

// stopText says why an adaptive repeat stopped, at each sweep point: the
// reason and rounds the points' guests share, with the widest interval
// among the guests measured there. "" for a fixed count.
func stopText(f *results.File) string {
	type at struct {
		label string
		stop  results.Stop
	}
	var points []at
	for _, g := range f.Guests {
		if g.Status != results.StatusOK {
			continue
		}
		for pi, p := range g.Points {
			if p.Stop == nil {
				continue
			}
			if pi >= len(points) {
				points = append(points, make([]at, pi+1-len(points))...)
			}
			s := &points[pi]
			if s.stop.Reason == "" {
				s.label, s.stop = results.PointLabel(p.Params), *p.Stop
				continue
			}
			if s.stop.Interval >= 0 && (p.Stop.Interval < 0 || p.Stop.Interval > s.stop.Interval) {
				s.stop.Interval = p.Stop.Interval
			}
		}
	}
	var parts []string
	for _, p := range points {
		switch {
		case p.stop.Reason == "":
		case p.label != "":
			parts = append(parts, p.label+": "+p.stop.String())
		default:
			parts = append(parts, p.stop.String())
		}
	}
	return strings.Join(parts, "; ")
}

// repeatText is a bench cell's repeats for its setup line: "5 repeats",
// or an adaptive rule, "6 to 40 repeats until ±2 % (budget 10m)", and its
// retries.
func repeatText(c *notebook.Cell) string {
	s := plural(c.Repeat, "repeat")
	if c.Adaptive != nil {
		s = c.Adaptive.String()
	}
	if c.Retry > 0 {
		s += fmt.Sprintf(", a failed one retried up to %s", plural(c.Retry, "time"))
	}
	return s
}

// markdownRunNotes is the run notes of a bench cell's summary, "" when
// it has none.
func markdownRunNotes(v *benchView) string {
	var b strings.Builder
	if v.Stopped != "" {
		fmt.Fprintf(&b, "\nRepeats stopped: %s.\n", mdEscape(v.Stopped))
	}
	if len(v.Failures) > 0 {
		fmt.Fprintf(&b, "\n> **Failures:** %s.\n", mdEscape(strings.Join(v.Failures, "; ")))
	}
	if len(v.Behaviour) > 0 {
		fmt.Fprintf(&b, "\n> **Not steady:** %s.\n", mdEscape(strings.Join(v.Behaviour, "; ")))
	}
	if v.Incomplete != "" {
		fmt.Fprintf(&b, "\n> **Warning:** %s.\n", mdEscape(v.Incomplete))
	}
	return b.String()
}

// failureFacts are a guest's failures and kept figures for the appendix.
func failureFacts(g results.Guest) []kv {
	var out []kv
	if t := g.FailureText(); t != "" {
		out = append(out, kv{"failures", t})
	}
	for _, f := range g.Failures {
		if f.Log != "" && !slices.ContainsFunc(out, func(x kv) bool { return x.V == f.Log }) {
			out = append(out, kv{"failure log", f.Log})
		}
	}
	if k := g.Kept; k != nil {
		out = append(out, kv{"kept", fmt.Sprintf("figures of the run of %s (input hash %s)", formatWhen(k.Started), k.InputHash)})
	}
	return out
}

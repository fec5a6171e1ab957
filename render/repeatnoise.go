package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/benchbook/benchbook/results"
)

// cpuSettings are the machine-wide settings a run recorded that move
// figures, and its placement plan (none in files from before benchbook
// recorded them).
func cpuSettings(e results.Env) []kv {
	var out []kv
	for _, s := range []kv{
		{"CPU frequency governor", e.CPUGovernor},
		{"turbo boost", e.CPUBoost},
		{"SMT", e.SMT},
		{"CPU vulnerability mitigations", e.Mitigations},
		{"placement", placementText(e.Placement)},
	} {
		if s.V != "" {
			out = append(out, s)
		}
	}
	return out
}

// placementText is the plan in words: "auto: system under test on CPU 0,
// load on CPU 1 (of CPUs 0-1)", "auto: not possible on 1 core", "none:
// not placed".
func placementText(p *results.Placement) string {
	switch {
	case p == nil:
		return ""
	case p.SUT != "" && p.Load != "":
		s := fmt.Sprintf("%s: system under test on %s, load on %s", p.Mode, cpusText(p.SUT), cpusText(p.Load))
		if p.Allowed != "" {
			s += " (of " + cpusText(p.Allowed) + ")"
		}
		if p.Note != "" {
			s += "; " + p.Note
		}
		return s
	case p.Note != "":
		return p.Mode + ": " + strings.TrimPrefix(p.Note, "placement: ")
	}
	return p.Mode + ": not placed"
}

// cpusText is "CPU 1" or "CPUs 0-3" for a kernel CPU list.
func cpusText(list string) string {
	if _, err := strconv.Atoi(list); err == nil {
		return "CPU " + list
	}
	return "CPUs " + list
}

// noisyRepeat is a repeat's noise with where it was measured.
type noisyRepeat struct {
	label string // "repeat 2", "repeat 2 at clients=8"
	n     *results.RepeatNoise
}

func noisyRepeats(g results.Guest) []noisyRepeat {
	var out []noisyRepeat
	for _, p := range g.Points {
		for _, r := range p.Repeats {
			if r.Noise == nil {
				continue
			}
			label := fmt.Sprintf("repeat %d", r.Index+1)
			if at := results.PointLabel(p.Params); at != "" {
				label += " at " + at
			}
			out = append(out, noisyRepeat{label, r.Noise})
		}
	}
	return out
}

// maxBusyListed bounds the busy repeats an appendix names one by one.
const maxBusyListed = 8

// noiseFacts sum up what else the machine did during a guest's repeats:
// a "noise" line with the ranges over the repeats, and a "busy" line
// naming each repeat run while the machine was busy (with the rule), or
// saying none was. Nothing for a guest whose repeats recorded no noise.
func noiseFacts(g results.Guest) []kv {
	reps := noisyRepeats(g)
	if len(reps) == 0 {
		return nil
	}
	var others, steal, load []float64
	var busy []string
	for _, r := range reps {
		others, steal = append(others, r.n.OthersPct), append(steal, r.n.StealPct)
		load = append(load, r.n.LoadBefore, r.n.LoadAfter)
		if r.n.Busy != "" {
			busy = append(busy, r.label+" ("+r.n.Busy+")")
		}
	}
	summary := fmt.Sprintf("%s: others used %s %% of a core, the hypervisor stole %s %%, load average %s",
		plural(len(reps), "repeat"), span(others, "%.0f"), span(steal, "%.0f"), span(load, "%.2f"))
	rule := fmt.Sprintf("others at %.0f %% of a core or more, or steal at %.0f %% or more, during the load", results.BusyOthersPct, results.BusyStealPct)
	verdict := fmt.Sprintf("none of %s ran while the machine was busy (%s)", plural(len(reps), "repeat"), rule)
	if n := len(busy); n > 0 {
		if n > maxBusyListed {
			busy = append(busy[:maxBusyListed], fmt.Sprintf("and %d more", n-maxBusyListed))
		}
		verdict = fmt.Sprintf("%d of %s ran while the machine was busy (%s): %s", n, plural(len(reps), "repeat"), rule, strings.Join(busy, ", "))
	}
	return []kv{{"noise", summary}, {"busy", verdict}}
}

// span is "3" or "3 to 37" over xs, each formatted with f.
func span(xs []float64, f string) string {
	lo, hi := fmt.Sprintf(f, slices.Min(xs)), fmt.Sprintf(f, slices.Max(xs))
	if lo == hi {
		return lo
	}
	return lo + " to " + hi
}

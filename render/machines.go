package render

import (
	"fmt"
	"slices"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// Results of several machines (benchbook results merge, or folders copied
// together) meet in a cell's history, keyed by the machine id. When the
// history of a bench cell holds runs of more than one machine, its tables
// and plots show the newest run of each machine side by side, each guest
// named "GUEST @ MACHINE", machines sorted by id, and list under them how
// the machines' environments differ. With one machine nothing changes: the
// report shows CELL.json, as it always has. Runs without a machine id
// (stored before benchbook kept one) count as no machine.

// sideBySide is what a bench cell's tables and plots show when the cell
// has runs of several machines.
type sideBySide struct {
	// view holds every guest of every machine's newest run, the guests
	// renamed "GUEST @ MACHINE", in cell order and, per guest, by machine.
	view *results.File
	// guest and machine give, for a guest of view, the notebook's guest
	// and the machine it ran on.
	guest, machine map[string]string
	// notes list how the machines' environments differ, and the machines
	// whose newest run predates a change to the cell.
	notes []string
	// machines are the machine ids, sorted; runs their newest runs.
	machines []string
	runs     map[string]*results.File
}

// viewGuest is "host @ ci-large": a guest of one machine.
func viewGuest(guest, machine string) string { return guest + " @ " + machineName(machine) }

// newestByMachine is the newest entry of each machine in entries (oldest
// first), and the machines in the order they first appear.
func newestByMachine(entries []results.Entry) (map[string]*results.File, []string) {
	newest := map[string]*results.File{}
	var order []string
	for _, e := range entries {
		if _, ok := newest[e.Run.Env.Machine]; !ok {
			order = append(order, e.Run.Env.Machine)
		}
		newest[e.Run.Env.Machine] = e.Run
	}
	return newest, order
}

// envDiffLines says, one line per machine after the first of order, how
// its newest run's environment differs from the first machine's.
func envDiffLines(newest map[string]*results.File, order []string) []string {
	var out []string
	for _, m := range order[min(1, len(order)):] {
		diffs := results.CompareEnv(newest[order[0]].Environment(), newest[m].Environment())
		line := "no difference in what both record"
		if len(diffs) > 0 {
			line = results.JoinEnvDiffs(diffs)
		}
		out = append(out, fmt.Sprintf("%s → %s: %s", machineName(order[0]), machineName(m), line))
	}
	return out
}

// machineCount is how many machines with an id ran entries, as
// machinesSideBySide counts them.
func machineCount(entries []results.Entry) int {
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Run.Env.Machine != "" {
			seen[e.Run.Env.Machine] = true
		}
	}
	return len(seen)
}

// machinesSideBySide builds the side-by-side view of cell c from its
// history, or returns nil when the history holds one machine (or none).
// base is the cell's CELL.json, whose metric names the view keeps; hash is
// the cell's current input hash.
func machinesSideBySide(c *notebook.Cell, base *results.File, entries []results.Entry, hash string) *sideBySide {
	// A run without a machine id was stored before benchbook kept one:
	// most likely this machine's, so it is no machine of its own.
	known := slices.DeleteFunc(slices.Clone(entries), func(e results.Entry) bool { return e.Run.Env.Machine == "" })
	newest, machines := newestByMachine(known)
	if len(machines) < 2 {
		return nil
	}
	slices.Sort(machines)
	s := &sideBySide{guest: map[string]string{}, machine: map[string]string{}, machines: machines, runs: newest}
	// Guests in the cell's order, then any a machine ran that the cell no
	// longer names, in the order the machines (sorted) list them.
	names := slices.Clone(c.Guests)
	for _, m := range machines {
		for _, g := range newest[m].Guests {
			if !slices.Contains(names, g.Name) {
				names = append(names, g.Name)
			}
		}
	}
	view := *base
	view.Guests = nil
	for _, name := range names {
		for _, m := range machines {
			g := newest[m].Guest(name)
			if g == nil {
				continue
			}
			gg := *g
			gg.Name = viewGuest(name, m)
			view.Guests = append(view.Guests, gg)
			s.guest[gg.Name], s.machine[gg.Name] = name, m
		}
	}
	s.view = &view
	s.notes = envDiffLines(newest, machines)
	for _, m := range machines {
		if f := newest[m]; f.InputHash != hash {
			s.notes = append(s.notes, fmt.Sprintf("%s: its newest run (%s) predates a change to the cell, its guests, its load or the params it uses", machineName(m), formatWhen(f.Started)))
		}
	}
	return s
}

// view is the results a bench cell's tables and plots show: the machines
// side by side, or CELL.json.
func (bd *benchData) view() *results.File {
	if bd.machines != nil {
		return bd.machines.view
	}
	return bd.file
}

// guestOf is the notebook's guest a guest of the view is.
func (bd *benchData) guestOf(name string) string {
	if bd.machines != nil {
		if g, ok := bd.machines.guest[name]; ok {
			return g
		}
	}
	return name
}

// machineOf is the machine a guest of the view ran on; "" when the view
// is one machine's.
func (bd *benchData) machineOf(name string) string {
	if bd.machines != nil {
		return bd.machines.machine[name]
	}
	return ""
}

// only is the guests of the view a table or plot limited to the notebook's
// guests names shows: names itself for one machine, every machine's copy
// of them for several; nil (all) stays nil.
func (bd *benchData) only(names []string) []string {
	if bd.machines == nil || len(names) == 0 {
		return names
	}
	var out []string
	for _, g := range bd.machines.view.Guests {
		if slices.Contains(names, bd.machines.guest[g.Name]) {
			out = append(out, g.Name)
		}
	}
	return out
}

// envNotes is the "environment differences" list under a table or plot of
// the cell: empty for one machine.
func (bd *benchData) envNotes() []string {
	if bd.machines == nil {
		return nil
	}
	return bd.machines.notes
}

// noiseNotes are the noise-floor sentences for metrics: the one of
// CELL.json's machine, or one per machine (each has its own floor).
func (bd *benchData) noiseNotes(metrics []string) []string {
	if bd.machines == nil {
		if note := noiseNote(bd.file, metrics); note != "" {
			return []string{note}
		}
		return nil
	}
	var out []string
	for _, m := range bd.machines.machines {
		if note := noiseNote(bd.machines.runs[m], metrics); note != "" {
			out = append(out, machineName(m)+": "+note)
		}
	}
	return out
}

package render

import (
	"fmt"

	"github.com/benchbook/benchbook/results"
)

// What a report can say of staleness, it says from the notebook and the
// stored files alone: whether the inputs changed (the hash), whether the
// newest run failed, and how the environments recorded by the notebook's
// runs differ from each other. Whether results still describe a machine
// takes probing it (versions, digests), which rendering never does: that
// is `benchbook status`, on that machine.

// compareEnvironments notes, for each bench cell's results, how the
// environment they were measured in differs from that of the notebook's
// newest run, another cell's: figures side by side in one report may come
// from another redis, load generator, kernel or machine. It compares what
// the stored files recorded, nothing else: a report says the same on
// every machine it is rendered on, and rendering runs no probe. Whether the
// results still describe a given machine is for `benchbook status` there.
func (r *report) compareEnvironments() {
	var newest *benchData
	for _, c := range r.nb.BenchCells() {
		bd := r.bench[c.ID]
		if bd.file != nil && (newest == nil || bd.file.Started.After(newest.file.Started)) {
			newest = bd
		}
	}
	if newest == nil {
		return
	}
	now := newest.file.Environment()
	for _, bd := range r.bench {
		if bd == newest || bd.file == nil {
			continue
		}
		if diffs := results.CompareEnv(bd.file.Environment(), now); len(diffs) > 0 {
			bd.envNote = fmt.Sprintf("differs from that of the notebook's newest run (cell %s, %s): %s",
				newest.cell.ID, formatWhen(newest.file.Started), results.JoinEnvDiffs(diffs))
		}
	}
}

// staleness lists the bench cells whose results the page shows as not
// current, in cell order, each as "id: why" ("tp: stale (inputs)",
// "other: never run"), for a site build to report.
func (r *report) staleness() []string {
	var out []string
	for _, c := range r.nb.BenchCells() {
		bd := r.bench[c.ID]
		why := ""
		switch {
		case bd.loadErr != nil:
			why = "unreadable"
		case bd.failure != nil && (bd.file == nil || bd.failure.Started.After(bd.file.Started)):
			why = "failed"
		case bd.file == nil:
			why = "never run"
		case !bd.fresh:
			why = "stale (inputs)"
		case bd.envNote != "":
			why = "environment " + bd.envNote
		default:
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", c.ID, why))
	}
	return out
}

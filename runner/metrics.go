package runner

import (
	"slices"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// declaredMetrics are the metrics this run of the cell can produce, as its
// results file declares them (unit, label, better direction): its load
// tool's at every sweep point (a swept param may switch tools), with the
// load table's own (a command's metrics = {...}), and boot_ms.
func (cr *cellRun) declaredMetrics() []results.Metric {
	var all []notebook.Metric
	for _, point := range cr.points {
		ms, _ := cr.nb.MetricsAt(cr.cell, cr.vars(point, nil))
		for _, m := range ms {
			if !slices.ContainsFunc(all, func(x notebook.Metric) bool { return x.Name == m.Name }) {
				all = append(all, m)
			}
		}
	}
	return results.Declare(all)
}

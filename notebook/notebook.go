// Package notebook reads benchbook notebooks: TOML files that mix prose with
// benchmark cells. It parses, validates (every problem at once, each with its
// file:line:col), applies parameter overrides and computes the input hash of
// each cell. It never executes anything.
package notebook

import (
	"maps"
	"slices"
	"time"
)

// Cell kinds.
const (
	KindMarkdown = "markdown"
	KindBench    = "bench"
	KindPlot     = "plot"
	KindTable    = "table"
	KindCheck    = "check"
)

// Notebook is a parsed notebook.
type Notebook struct {
	Path       string // as given to Parse; used in error messages
	Title      string
	Date       time.Time // zero when absent
	Authors    []string
	Tags       []string
	Summary    string
	Slug       string
	Draft      bool
	UnsafeHTML bool

	Params map[string]*Param
	Guests map[string]*Table
	Loads  map[string]*Table
	Cells  []*Cell

	pos *positions
}

// Param is one entry of [params]. Value is an int64, float64, string or bool.
type Param struct {
	Name  string
	Value any
	Pos   Pos
	set   string // the -p argument that gave Value, when one did
}

// Table is a [guests.NAME] or [loads.NAME] table, kept as decoded so that
// {param} references can be resolved per run; Guest and Load give typed views.
type Table struct {
	Name   string
	Pos    Pos
	Values map[string]any
}

// Cell is one entry of [[cells]]. Fields not meaningful for a kind are zero.
type Cell struct {
	Index int // position in Cells
	Pos   Pos // of its [[cells]] header
	Kind  string
	ID    string

	// markdown
	Text    string
	TextPos Pos // where the text's string starts (its opening quote)

	// bench
	Guests      []string
	Load        string
	Repeat      int         // repeats per guest and point: the count, or Adaptive's max
	Adaptive    *RepeatRule // repeat = { min, max, target, budget }; nil for a count
	Retry       int         // reruns of a failed repeat, each with a fresh boot
	Sweep       []SweepAxis
	Description string

	// plot and table
	From     string
	Y        string
	X        string
	Style    string
	Title    string
	Caption  string
	Group    bool
	ErrorBar string
	Alt      string
	Metrics  []string
	Baseline string
	// BaselinePoint: Baseline is a sweep point of the bench cell ("net=
	// loopback", or a bare "loopback"), each guest's figures shown as a
	// ratio to its own there; else it is a guest.
	BaselinePoint bool

	// check
	Claims []*Claim
	Mode   string // ModeAssert or ModeTest

	raw map[string]any
}

// SweepAxis is one swept param and its values, in the order written.
type SweepAxis struct {
	Param  string
	Values []any
}

// Bench returns the bench cell with the given id, or nil.
func (nb *Notebook) Bench(id string) *Cell {
	for _, c := range nb.Cells {
		if c.Kind == KindBench && c.ID == id {
			return c
		}
	}
	return nil
}

// BenchCells returns the bench cells in notebook order.
func (nb *Notebook) BenchCells() []*Cell {
	var out []*Cell
	for _, c := range nb.Cells {
		if c.Kind == KindBench {
			out = append(out, c)
		}
	}
	return out
}

// ParamNames returns the param names, sorted.
func (nb *Notebook) ParamNames() []string { return slices.Sorted(maps.Keys(nb.Params)) }

// ParamValues returns the params as a plain map, for substitution.
func (nb *Notebook) ParamValues() map[string]any {
	m := make(map[string]any, len(nb.Params))
	for k, p := range nb.Params {
		m[k] = p.Value
	}
	return m
}

// KeyPos returns where a key path (e.g. "guests", "host", "command") is
// written, or the nearest enclosing key when that exact one is unknown.
func (nb *Notebook) KeyPos(path ...string) Pos {
	if nb.pos == nil {
		return Pos{}
	}
	return nb.pos.near(path...)
}

// Errorf builds a positioned error for this notebook, for packages that
// check what the notebook package cannot (rendering references, assets).
func (nb *Notebook) Errorf(pos Pos, format string, args ...any) *Error {
	return errorf(nb.Path, pos, format, args...)
}

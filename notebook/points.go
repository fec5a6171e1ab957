package notebook

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// A value reaches a key through a param ("{clients}"), a sweep point or a
// -p override as well as by being written there. Those values are checked
// here as the runner will see them -- the table resolved at every sweep
// point of every bench cell that uses it -- and each problem is reported
// where the value was written: the param's default, the sweep value, or the
// -p argument.

// origin is where a resolved value came from.
type origin struct {
	pos Pos    // in the file
	set string // the -p argument, when an override gave it
}

// point is one sweep point of a cell: the params' values and where each
// came from.
type point struct {
	vars    map[string]any
	origins map[string]origin
}

// checkPoints checks every guest and load table at every point it runs.
func (p *parser) checkPoints(nb *Notebook) {
	seen := map[string]bool{}
	report := func(o origin, msg string) {
		if o.set != "" {
			msg = fmt.Sprintf("-p %s: %s", o.set, msg)
		}
		key := o.pos.String() + "|" + msg
		if seen[key] {
			return
		}
		seen[key] = true
		p.errAt(o.pos, "%s", msg)
	}
	usedLoads, usedGuests := map[string]bool{}, map[string]bool{}
	for _, c := range nb.BenchCells() {
		points, ok := p.cellPoints(nb, c)
		if !ok {
			continue
		}
		for _, pt := range points {
			if t := nb.Loads[c.Load]; t != nil {
				usedLoads[c.Load] = true
				p.checkResolved(nb, []string{"loads", c.Load}, t, loadDeclAt(nb, t, pt), pt, report)
			}
			for _, g := range c.Guests {
				if t := nb.Guests[g]; t != nil {
					usedGuests[g] = true
					p.checkResolved(nb, []string{"guests", g}, t, guestDeclAt(t, pt), pt, report)
				}
			}
		}
	}
	// Tables no cell runs are still checked with the params' defaults.
	defaults := p.defaultPoint(nb)
	for _, name := range slices.Sorted(maps.Keys(nb.Loads)) {
		if !usedLoads[name] {
			t := nb.Loads[name]
			p.checkResolved(nb, []string{"loads", name}, t, loadDeclAt(nb, t, defaults), defaults, report)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nb.Guests)) {
		if !usedGuests[name] {
			t := nb.Guests[name]
			p.checkResolved(nb, []string{"guests", name}, t, guestDeclAt(t, defaults), defaults, report)
		}
	}
}

// defaultPoint is the params' values, each from its [params] entry (or its
// -p override).
func (p *parser) defaultPoint(nb *Notebook) point {
	pt := point{vars: map[string]any{}, origins: map[string]origin{}}
	for name, param := range nb.Params {
		pt.vars[name] = param.Value
		pt.origins[name] = origin{pos: p.pos.val("params", name), set: param.set}
	}
	return pt
}

// cellPoints expands the sweep of a bench cell, first axis slowest, as the
// runner does. A cell that asks for more runs than MaxRuns is reported and
// not expanded.
func (p *parser) cellPoints(nb *Notebook, c *Cell) ([]point, bool) {
	n := 1
	for _, a := range c.Sweep {
		n *= len(a.Values)
		if n > MaxRuns {
			break
		}
	}
	if runs := n * max(c.Repeat, 1) * max(len(c.Guests), 1); n > MaxRuns || runs > MaxRuns {
		path := []string{"cells", strconv.Itoa(c.Index), "sweep"}
		if len(c.Sweep) == 0 {
			path[2] = "repeat"
		}
		shown := strconv.Itoa(runs)
		if n > MaxRuns {
			shown = "more than " + strconv.Itoa(MaxRuns)
		}
		p.errVal(path, "bench cell %s asks for %s runs (sweep points × repeats × guests); at most %d: sweep fewer values or lower repeat", c.ID, shown, MaxRuns)
		return nil, false
	}
	points := []point{p.defaultPoint(nb)}
	for _, a := range c.Sweep {
		if _, ok := nb.Params[a.Param]; !ok {
			continue // reported by sweep
		}
		var next []point
		for _, pt := range points {
			for j, v := range a.Values {
				q := point{vars: maps.Clone(pt.vars), origins: maps.Clone(pt.origins)}
				q.vars[a.Param] = v
				q.origins[a.Param] = origin{pos: p.pos.val("cells", strconv.Itoa(c.Index), "sweep", a.Param, strconv.Itoa(j))}
				next = append(next, q)
			}
		}
		points = next
	}
	return points, true
}

// loadDeclAt is the declaration of the tool a load table names at pt.
func loadDeclAt(nb *Notebook, t *Table, pt point) *Decl {
	tool, ok := t.Values["tool"].(string)
	if !ok {
		return LoadTool(defaultLoadTool)
	}
	if name, isRef := wholeRef(tool); isRef {
		tool, _ = pt.vars[name].(string)
	}
	if d := LoadTool(tool); d != nil {
		return d
	}
	// An unknown tool: builtin's tool key says so, at the value's origin.
	return LoadTool(defaultLoadTool)
}

// guestDeclAt is the key list of a guest table's kind at pt.
func guestDeclAt(t *Table, pt point) *Decl {
	kind, _ := t.Values["kind"].(string)
	if name, isRef := wholeRef(kind); isRef {
		kind, _ = pt.vars[name].(string)
	}
	return GuestKind(kind)
}

// checkResolved checks the values of one table that came through params at
// one point, and the rules between its keys.
func (p *parser) checkResolved(nb *Notebook, path []string, t *Table, d *Decl, pt point, report func(origin, string)) {
	if d == nil {
		return // an unknown tool or kind: reported where it is written
	}
	resolved := map[string]any{}
	from := map[string]origin{}
	for _, name := range slices.Sorted(maps.Keys(t.Values)) {
		raw := t.Values[name]
		k := d.Key(name)
		if k == nil {
			continue // reported by checkKeys
		}
		o := origin{pos: p.pos.val(append(slices.Clone(path), name)...)}
		v := raw
		if s, ok := raw.(string); ok && !k.NoParam {
			if param, isRef := wholeRef(s); isRef {
				pv, known := pt.vars[param]
				if !known {
					continue // a runtime variable or undefined: reported elsewhere
				}
				v, o = pv, pt.origins[param]
				resolved[name], from[name] = v, o
				if k.typeProblem(v) != "" {
					continue // reported by checkRefs
				}
				if msg := k.valueProblem(v); msg != "" {
					report(o, fmt.Sprintf("%s (%s.%s.%s = %q)", msg, path[0], path[1], name, s))
				}
				continue
			}
			if len(refs(s)) > 0 {
				sub := Substitute(s, pt.vars)
				if len(refs(sub)) > 0 {
					continue // {port} and the like: known only at run time
				}
				v = sub
				if k.typeProblem(v) == "" {
					if msg := k.valueProblem(v); msg != "" {
						report(o, msg)
					}
				}
			}
		}
		resolved[name], from[name] = v, o
	}
	d.ruleProblems(resolved, func(key, msg string) {
		o, ok := from[key]
		if !ok {
			o = origin{pos: t.Pos}
		}
		report(o, msg)
	})
}

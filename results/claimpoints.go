package results

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/benchbook/benchbook/notebook"
)

// pointOf is the index of the point of g that ref names when the claim is
// judged at g's point pi: pi itself for a reference without a point,
// otherwise the point whose params are pi's with the pinned ones replaced.
// The message says why there is none.
func pointOf(g *Guest, ref notebook.Ref, pi int) (int, string) {
	if ref.Point == "" {
		if pi >= len(g.Points) {
			return 0, ref.Guest + " has no such point"
		}
		return pi, ""
	}
	pins, msg := Pins(g.Points, ref.Point)
	if msg != "" {
		return 0, ref.Guest + ": " + msg
	}
	want := map[string]string{}
	if pi < len(g.Points) {
		for k, v := range g.Points[pi].Params {
			want[k] = fmt.Sprint(v)
		}
	}
	maps.Copy(want, pins)
	for i, p := range g.Points {
		if pointMatches(p.Params, want) {
			return i, ""
		}
	}
	return 0, fmt.Sprintf("%s has no figures at [%s]", ref.Guest, ref.Point)
}

// Pins reads a sweep point as written (see notebook.ParsePoint) against
// stored points: param to value, a bare value standing for the one param
// that takes it.
func Pins(points []Point, point string) (map[string]string, string) {
	pins := map[string]string{}
	for _, pp := range notebook.ParsePoint(point) {
		if pp.Param != "" {
			pins[pp.Param] = pp.Value
			continue
		}
		owner := ""
		for _, p := range points {
			for k, v := range p.Params {
				if fmt.Sprint(v) == pp.Value {
					if owner != "" && owner != k {
						return nil, fmt.Sprintf("%q is a value of both %s and %s", pp.Value, owner, k)
					}
					owner = k
				}
			}
		}
		if owner == "" {
			return nil, fmt.Sprintf("no stored point has the value %q", pp.Value)
		}
		pins[owner] = pp.Value
	}
	return pins, ""
}

// pointMatches reports whether params take the wanted values: every one
// that is wanted, and nothing else.
func pointMatches(params map[string]any, want map[string]string) bool {
	n := 0
	for k, v := range want {
		pv, ok := params[k]
		if !ok || fmt.Sprint(pv) != v {
			return false
		}
		n++
	}
	return n == len(params)
}

// FindPoint is the point of points that point (as written) names, or -1:
// it must pin every param of that point.
func FindPoint(points []Point, point string) int {
	pins, msg := Pins(points, point)
	if msg != "" {
		return -1
	}
	for i, p := range points {
		if pointMatches(p.Params, pins) {
			return i
		}
	}
	return -1
}

// pinnedByAll are the params every reference of c pins: the claim's
// verdict does not depend on them, so its point label leaves them out.
func pinnedByAll(c *notebook.Claim, f *File) map[string]bool {
	var out map[string]bool
	for _, ref := range c.Refs() {
		g := f.Guest(ref.Guest)
		if ref.Point == "" || g == nil {
			return nil
		}
		pins, _ := Pins(g.Points, ref.Point)
		if out == nil {
			out = map[string]bool{}
			for k := range pins {
				out[k] = true
			}
			continue
		}
		for k := range out {
			if _, ok := pins[k]; !ok {
				delete(out, k)
			}
		}
	}
	return out
}

func without(params map[string]any, drop map[string]bool) map[string]any {
	out := map[string]any{}
	for k, v := range params {
		if !drop[k] {
			out[k] = v
		}
	}
	return out
}

// upToPoints are the indexes of the points a claim is judged at: all of
// them, or with u those whose param u.Param is at most u.Value; past is
// the point with the smallest value above it (-1: none).
func upToPoints(u *notebook.UpTo, f *File, points int) (judged []int, past int) {
	past = -1
	if u == nil {
		for pi := range points {
			judged = append(judged, pi)
		}
		return judged, past
	}
	pastAt := 0.0
	for pi := range points {
		v, ok := pointValue(f, pi, u.Param)
		switch {
		case !ok:
		case v <= u.Value:
			judged = append(judged, pi)
		case past < 0 || v < pastAt:
			past, pastAt = pi, v
		}
	}
	return slices.Clip(judged), past
}

// pointValue is param's number at point pi of the guests' points.
func pointValue(f *File, pi int, param string) (float64, bool) {
	for _, g := range f.Guests {
		if pi < len(g.Points) {
			if pv, ok := g.Points[pi].Params[param]; ok {
				v, err := strconv.ParseFloat(fmt.Sprint(pv), 64)
				return v, err == nil
			}
		}
	}
	return 0, false
}

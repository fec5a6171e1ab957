package notebook

import (
	"fmt"
	"slices"
	"strings"
)

// ResolvePoint reads a sweep point of bench cell c as a claim or an inline
// value names it (see ParsePoint) and returns the params it pins, param to
// value as fmt.Sprint writes it. A bare value stands for the one swept
// param that has it. The problem says what is wrong, with the closest
// param or value, or is "".
func ResolvePoint(c *Cell, point string) (pins map[string]string, problem string) {
	if len(c.Sweep) == 0 {
		return nil, fmt.Sprintf("bench cell %s has no sweep, so no point [%s]: drop the brackets", c.ID, point)
	}
	pins = map[string]string{}
	for _, pp := range ParsePoint(point) {
		param, msg := resolveParam(c, pp)
		if msg != "" {
			return nil, msg
		}
		if prev, dup := pins[param]; dup && prev != pp.Value {
			return nil, fmt.Sprintf("sweep point [%s] names %s twice", point, param)
		}
		pins[param] = pp.Value
	}
	return pins, ""
}

// resolveParam finds the swept param a point's part is about and checks
// its value is one the cell sweeps.
func resolveParam(c *Cell, pp PointParam) (string, string) {
	var params []string
	for _, a := range c.Sweep {
		params = append(params, a.Param)
	}
	if pp.Param == "" {
		var owners []string
		for _, a := range c.Sweep {
			if slices.Contains(axisValues(a), pp.Value) {
				owners = append(owners, a.Param)
			}
		}
		switch len(owners) {
		case 1:
			return owners[0], ""
		case 0:
			return "", fmt.Sprintf("%q is not a value bench cell %s sweeps%s (%s)", pp.Value, c.ID, didYouMean(pp.Value, allValues(c)), sweepList(c))
		}
		return "", fmt.Sprintf("%q is a value of %s: say which, like [%s=%s]", pp.Value, strings.Join(owners, " and "), owners[0], pp.Value)
	}
	i := slices.IndexFunc(c.Sweep, func(a SweepAxis) bool { return a.Param == pp.Param })
	if i < 0 {
		return "", fmt.Sprintf("bench cell %s does not sweep %q%s (%s)", c.ID, pp.Param, didYouMean(pp.Param, params), sweepList(c))
	}
	vals := axisValues(c.Sweep[i])
	if !slices.Contains(vals, pp.Value) {
		return "", fmt.Sprintf("bench cell %s does not sweep %s = %q%s; it sweeps %s = [%s]", c.ID, pp.Param, pp.Value, didYouMean(pp.Value, vals), pp.Param, strings.Join(vals, ", "))
	}
	return pp.Param, ""
}

func axisValues(a SweepAxis) []string {
	out := make([]string, len(a.Values))
	for i, v := range a.Values {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func allValues(c *Cell) []string {
	var out []string
	for _, a := range c.Sweep {
		out = append(out, axisValues(a)...)
	}
	return out
}

// sweepList is "net = [user, tap], clients = [1, 4]".
func sweepList(c *Cell) string {
	parts := make([]string, len(c.Sweep))
	for i, a := range c.Sweep {
		parts[i] = fmt.Sprintf("%s = [%s]", a.Param, strings.Join(axisValues(a), ", "))
	}
	return "it sweeps " + strings.Join(parts, ", ")
}

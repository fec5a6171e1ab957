package notebook

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Override applies "key=value" overrides (from `-p key=value`) to the params.
// The value takes the type of the param it overrides, so -p clients=100
// stays an integer and a typo fails instead of silently becoming a string.
func (nb *Notebook) Override(sets []string) error {
	var errs []string
	for _, kv := range sets {
		name, val, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Sprintf("-p %s: want key=value", kv))
			continue
		}
		param, ok := nb.Params[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("-p %s: %s has no param %q%s", kv, nb.Path, name, didYouMean(name, nb.ParamNames())))
			continue
		}
		v, err := convert(param.Value, val)
		if err != nil {
			errs = append(errs, fmt.Sprintf("-p %s: %v", kv, err))
			continue
		}
		param.Value = v
		param.set = kv
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	// An override must give every key it reaches a value the key accepts,
	// as the notebook's own values do.
	if nb.pos != nil {
		p := &parser{path: nb.Path, pos: nb.pos}
		p.checkPoints(nb)
		if len(p.errs) > 0 {
			return p.errs.Err()
		}
	}
	return nil
}

func convert(like any, s string) (any, error) {
	switch like.(type) {
	case int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the param is an integer; %q is not", s)
		}
		return n, nil
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("the param is a number; %q is not", s)
		}
		return f, nil
	case bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("the param is true or false; %q is neither", s)
		}
		return b, nil
	}
	return s, nil
}

// Resolve returns a deep copy of v with {name} references replaced from vars.
// A string that is exactly "{name}" takes the variable's own type; inside a
// longer string it is formatted. References with no variable stay as written
// (the runner fills {port} later), and "{{" stands for "{".
func Resolve(v any, vars map[string]any) any {
	switch x := v.(type) {
	case string:
		if name, ok := wholeRef(x); ok {
			if val, ok := vars[name]; ok {
				return val
			}
			return x
		}
		return substitute(x, vars)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Resolve(e, vars)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Resolve(e, vars)
		}
		return out
	case []map[string]any: // an array of tables
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = Resolve(e, vars).(map[string]any)
		}
		return out
	}
	return v
}

// Substitute replaces {name} references in s; see Resolve.
func Substitute(s string, vars map[string]any) string { return substitute(s, vars) }

func substitute(s string, vars map[string]any) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "{{") {
			b.WriteByte('{')
			i += 2
			continue
		}
		if s[i] == '{' {
			if loc := refRE.FindStringSubmatchIndex(s[i:]); loc != nil && loc[0] == 0 {
				name := s[i+loc[2] : i+loc[3]]
				if val, ok := vars[name]; ok {
					b.WriteString(format(val))
					i += loc[1]
					continue
				}
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func format(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

package notebook

import (
	"cmp"
	"fmt"
	"time"
)

// GuestValues returns the guest table called name with its references
// resolved from vars (params plus runtime variables such as "port"), as
// the runner decodes it (guest.DecodeSpec).
func (nb *Notebook) GuestValues(name string, vars map[string]any) (Values, error) {
	t, ok := nb.Guests[name]
	if !ok {
		return nil, fmt.Errorf("no guest %q", name)
	}
	m, _ := Resolve(t.Values, vars).(map[string]any)
	return Values(m), nil
}

// LoadValues returns the load table called name with its references
// resolved from vars, and the declaration of its tool. The values are
// those the runner decodes (load.Decode) into what it runs: a value that
// reached a key through a param was checked by Parse like a written one.
func (nb *Notebook) LoadValues(name string, vars map[string]any) (Values, *Decl, error) {
	t, ok := nb.Loads[name]
	if !ok {
		return nil, nil, fmt.Errorf("no load %q", name)
	}
	m, _ := Resolve(t.Values, vars).(map[string]any)
	tool, _ := m["tool"].(string)
	d := LoadTool(cmp.Or(tool, defaultLoadTool))
	if d == nil {
		return nil, nil, fmt.Errorf("load %s: unknown tool %q (want one of %s)", name, tool, quoteList(LoadTools()))
	}
	return Values(m), d, nil
}

// Values is a table with its {param} references resolved. Its getters
// return the zero value for an absent key or one of another type.
type Values map[string]any

// String returns the string value of key.
func (v Values) String(key string) string { s, _ := v[key].(string); return s }

// Int returns the integer value of key.
func (v Values) Int(key string) int { n, _ := v[key].(int64); return int(n) }

// Duration returns the duration value of key.
func (v Values) Duration(key string) time.Duration {
	d, _ := time.ParseDuration(v.String(key))
	return d
}

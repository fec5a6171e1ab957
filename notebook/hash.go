package notebook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// hashVersion changes when the meaning of the hashed inputs changes, so old
// results become stale instead of silently matching.
const hashVersion = 1

// InputHash is the hash of everything a bench cell's results depend on: the
// cell itself, the guests and load it references with params resolved (so a
// param the cell does not use does not make it stale), and extra facts the
// runner adds, such as image digests. Markdown text and plot settings are not
// inputs. The form is canonical JSON (sorted keys), so the hash is stable
// across runs, machines and Go versions.
func (nb *Notebook) InputHash(c *Cell, extra map[string]string) string {
	vars := nb.ParamValues()
	guests := map[string]any{}
	for _, g := range c.Guests {
		if t, ok := nb.Guests[g]; ok {
			guests[g] = canonical(Resolve(withoutDescription(t.Values), vars))
		}
	}
	var load any
	if t, ok := nb.Loads[c.Load]; ok {
		load = canonical(Resolve(withoutDescription(t.Values), vars))
	}
	sweep := map[string]any{}
	for _, a := range c.Sweep {
		sweep[a.Param] = canonical(a.Values)
	}
	// A count hashes as before; an adaptive rule as written, so a changed
	// target or budget makes the cell stale. retry is no input: it changes
	// how often a failure is tried again, not what is measured.
	var repeat any = c.Repeat
	if m, ok := c.raw["repeat"].(map[string]any); ok {
		repeat = canonical(m)
	}
	doc := map[string]any{
		"v":      hashVersion,
		"guests": guests,
		"order":  c.Guests,
		"load":   load,
		"repeat": repeat,
		"sweep":  sweep,
		"extra":  extra,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		// Every value comes from TOML decoding: strings, numbers, bools,
		// dates, arrays and tables, all of which marshal.
		panic(fmt.Sprintf("notebook: hash input not serialisable: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func withoutDescription(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "description" {
			out[k] = v
		}
	}
	return out
}

// canonical makes values JSON-stable: times in RFC 3339, floats that are
// whole kept apart from integers by their Go type already. TOML's nan and
// inf, which JSON cannot hold, become strings: validation refuses them, but
// hashing must not panic on a notebook with problems.
func canonical(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("float:%v", x)
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = canonical(e)
		}
		return out
	}
	return v
}

package notebook

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. Whatever the input, Parse must
// not panic, must not return a nil notebook without an error, and every
// problem it reports must carry the file and a line:col inside the input,
// so `benchbook check` can always point at it. A notebook that parses must
// also survive what the runner and the renderer do with it first: specs,
// input hashes, overrides.
//
// The seed corpus is testdata/fuzz/FuzzParse plus the repository's own
// notebooks; `go test` runs it, `go test -fuzz FuzzParse` explores from it.
func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob("../notebooks/*.toml")
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(base + benchCell))
	f.Fuzz(func(t *testing.T, src []byte) {
		const path = "fuzz.toml"
		nb, err := Parse(path, src)
		if err != nil {
			checkPositioned(t, path, src, err)
		}
		if nb == nil {
			if err == nil {
				t.Fatal("nil notebook and no error")
			}
			return
		}
		vars := nb.ParamValues()
		for _, name := range slices.Sorted(maps.Keys(nb.Guests)) {
			nb.GuestValues(name, vars)
		}
		for _, name := range slices.Sorted(maps.Keys(nb.Loads)) {
			nb.LoadValues(name, vars)
		}
		for _, c := range nb.BenchCells() {
			if h := nb.InputHash(c, nil); !strings.HasPrefix(h, "sha256:") {
				t.Fatalf("input hash %q", h)
			}
		}
		for _, c := range nb.Cells {
			nb.KeyPos("cells", fmt.Sprint(c.Index), "text")
		}
		var sets []string
		for _, name := range nb.ParamNames() {
			sets = append(sets, name+"=1")
		}
		nb.Override(sets)
	})
}

// checkPositioned fails unless err is a list of notebook errors, each in
// file path at a line:col that exists in src.
func checkPositioned(t *testing.T, path string, src []byte, err error) {
	t.Helper()
	list := Errors(err)
	if len(list) == 0 {
		t.Fatalf("error without a position: %v", err)
	}
	lines := bytes.Count(src, []byte("\n")) + 1
	for _, e := range list {
		if e.File != path || !e.Pos.IsValid() || e.Pos.Col < 1 || e.Pos.Line > lines {
			t.Errorf("error %q: want %s:LINE:COL with LINE in 1..%d", e.Error(), path, lines)
		}
		if prefix := fmt.Sprintf("%s:%d:%d: ", path, e.Pos.Line, e.Pos.Col); !strings.HasPrefix(e.Error(), prefix) {
			t.Errorf("error %q does not start with %q", e.Error(), prefix)
		}
	}
}

// FuzzParseClaim: a claim either parses or fails with a *ClaimError whose
// offset lies inside the claim, which the notebook error turns into a column.
func FuzzParseClaim(f *testing.F) {
	for _, s := range []string{
		"osv.ops_per_sec > rumprun.ops_per_sec",
		"host.ops_per_sec > 2 * osv.ops_per_sec",
		"linux.latency_p99 <= 1.5 * (host.latency_p99 + 10)",
		"a.b - c.d >= 1e3 / x-y.latency_avg",
		"((", "1 >", ".5 < 1..2", "", "a.b > c.d e",
		"host.latency_p99 < 1000 up to rate = 30000", "a.b < 1 up to", "up to x = 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClaim(s)
		if err != nil {
			var ce *ClaimError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseClaim(%q): %T %v, want a *ClaimError", s, err, err)
			}
			if ce.Offset < 0 || ce.Offset > len(s) {
				t.Fatalf("ParseClaim(%q): offset %d outside the claim", s, ce.Offset)
			}
			return
		}
		if c.Text != s || c.Left == nil || c.Right == nil {
			t.Fatalf("ParseClaim(%q) = %+v", s, c)
		}
		c.Refs()
		_ = c.Left.String() + c.Right.String()
		if u := c.UpTo; u != nil && (u.At < 0 || u.At+len(u.Param) > len(s) || s[u.At:u.At+len(u.Param)] != u.Param) {
			t.Fatalf("ParseClaim(%q): up to %+v is not at its offset", s, u)
		}
	})
}

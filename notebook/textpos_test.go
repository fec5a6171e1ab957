package notebook

import "testing"

func TestDecodeTOMLString(t *testing.T) {
	for _, tc := range []struct {
		lit, want string
		ok        bool
	}{
		{`"a\tb\u00e9\"" rest`, "a\tb\u00e9\"", true},
		{`'a\tb' rest`, `a\tb`, true},
		{"\"\"\"\nx\ny\"\"\"", "x\ny", true},
		{"\"\"\"\r\nx\"\"\"", "x", true},
		{`"""a""""`, `a"`, true},
		{`"""a"""""`, `a""`, true},
		{"'''\nx\\t'''", `x\t`, true},
		{"\"\"\"a \\\n   \n  b\"\"\"", "a b", true},
		{`"unterminated`, "", false},
		{"\"one\nline\"", "", false},
		{`x = 1`, "", false},
	} {
		got, offs, ok := decodeTOMLString(tc.lit)
		if ok != tc.ok || got != tc.want {
			t.Errorf("decode %q = %q, %v; want %q, %v", tc.lit, got, ok, tc.want, tc.ok)
			continue
		}
		if ok && len(offs) != len(got)+1 {
			t.Errorf("decode %q: %d offsets for %d bytes", tc.lit, len(offs), len(got))
		}
	}
}

// A TextMap places an offset of a markdown cell's decoded text in the file:
// exactly when the source decodes to the text, estimated from the string's
// start when it is missing or changed.
func TestTextMap(t *testing.T) {
	src := "title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"\"\"\nfirst\n\\tsé [x](y)\n\"\"\"\n"
	text := "first\n\tsé [x](y)\n"
	start := Pos{Line: 4, Col: 8}
	at := len("first\n\tsé ") // the link, after an escape and a 2-byte rune
	for _, tt := range []struct {
		name string
		src  string
		want Pos
	}{
		{"exact", src, Pos{Line: 6, Col: 6}},
		{"no source: estimated", "", Pos{Line: 6, Col: 5}},
		{"changed source: estimated", src[:len(src)-5], Pos{Line: 6, Col: 5}},
	} {
		if got := NewTextMap(tt.src, start, text).Pos(at); got != tt.want {
			t.Errorf("%s: Pos(%d) = %v, want %v", tt.name, at, got, tt.want)
		}
	}
}

package notebook

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// A markdown cell's text is a TOML string, and what a Markdown parser sees
// is that string decoded: escapes resolved, the newline after an opening """ trimmed,
// line-ending backslashes folded. To point an error INTO the prose, an offset
// in the decoded text is mapped back to the file by re-scanning the string
// literal in the source. When the source is unavailable or does not decode
// to the same text (edited since parsing, a decoder that normalised newlines),
// a plain estimate from the string's start is used instead.

// TextMap maps byte offsets of a markdown cell's decoded text to positions
// in the notebook file, so a problem found in the prose (a broken link) is
// reported where it is written.
type TextMap struct {
	src   string
	offs  []int // offs[i]: source byte that produced decoded byte i; one extra entry for the end
	start Pos
	multi bool // estimate: a multi-line string whose content starts on the next line
	open  int  // estimate: width of the opening delimiter in characters
	text  string
}

// NewTextMap maps the decoded text of the string literal that starts at
// start in src, the notebook's source (Cell.TextPos and Cell.Text). With
// src empty (the file could not be read again) positions are estimated.
func NewTextMap(src string, start Pos, text string) *TextMap {
	m := &TextMap{src: src, start: start, text: text}
	at, ok := byteOffset(src, start)
	if !ok {
		m.estimateFrom("")
		return m
	}
	lit := src[at:]
	if decoded, offs, ok := decodeTOMLString(lit); ok && decoded == text {
		for i := range offs {
			offs[i] += at
		}
		m.offs = offs
		return m
	}
	m.estimateFrom(lit)
	return m
}

func (m *TextMap) estimateFrom(lit string) {
	switch {
	case strings.HasPrefix(lit, `"""`), strings.HasPrefix(lit, `'''`):
		m.open = 3
		rest := lit[3:]
		m.multi = strings.HasPrefix(rest, "\n") || strings.HasPrefix(rest, "\r\n")
	case lit == "":
		// No source: notebooks almost always write prose as """\n...""".
		m.multi = true
	default:
		m.open = 1
	}
}

// Pos returns the file position of byte off of the decoded text.
func (m *TextMap) Pos(off int) Pos {
	off = max(0, min(off, len(m.text)))
	if m.offs != nil {
		return posAt(m.src, m.offs[off])
	}
	before := m.text[:off]
	line := strings.Count(before, "\n")
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	switch {
	case m.multi:
		return Pos{Line: m.start.Line + 1 + line, Col: col}
	case line == 0:
		return Pos{Line: m.start.Line, Col: m.start.Col + m.open + col - 1}
	default:
		return Pos{Line: m.start.Line + line, Col: col}
	}
}

// byteOffset converts a 1-based line and character column to a byte offset.
func byteOffset(src string, p Pos) (int, bool) {
	if !p.IsValid() || p.Col < 1 {
		return 0, false
	}
	at := 0
	for line := 1; line < p.Line; line++ {
		nl := strings.IndexByte(src[at:], '\n')
		if nl < 0 {
			return 0, false
		}
		at += nl + 1
	}
	for col := 1; col < p.Col; col++ {
		if at >= len(src) || src[at] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(src[at:])
		at += size
	}
	return at, at < len(src)
}

// decodeTOMLString decodes the TOML string literal at the start of lit (any
// of the four kinds) and returns, for each decoded byte, the offset in lit of
// the character that produced it. It reports false on anything it does not
// understand; the caller then estimates.
func decodeTOMLString(lit string) (string, []int, bool) {
	var delim string
	switch {
	case strings.HasPrefix(lit, `"""`), strings.HasPrefix(lit, `'''`):
		delim = lit[:3]
	case strings.HasPrefix(lit, `"`), strings.HasPrefix(lit, `'`):
		delim = lit[:1]
	default:
		return "", nil, false
	}
	multi, basic := len(delim) == 3, delim[0] == '"'
	i := len(delim)
	if multi {
		if strings.HasPrefix(lit[i:], "\n") {
			i++
		} else if strings.HasPrefix(lit[i:], "\r\n") {
			i += 2
		}
	}
	var out []byte
	var offs []int
	emit := func(s string, at int) {
		out = append(out, s...)
		for range len(s) {
			offs = append(offs, at)
		}
	}
	for i < len(lit) {
		c := lit[i]
		if strings.HasPrefix(lit[i:], delim) {
			if multi {
				// A run of up to five quotes ends the string with its last three;
				// the first ones belong to the content.
				run := len(lit[i:]) - len(strings.TrimLeft(lit[i:], delim[:1]))
				if run > 5 {
					return "", nil, false
				}
				for k := 0; k < run-3; k++ {
					emit(delim[:1], i+k)
				}
				i += run
			}
			offs = append(offs, i-len(delim))
			return string(out), offs, true
		}
		if !multi && c == '\n' {
			return "", nil, false
		}
		if !basic || c != '\\' {
			emit(lit[i:i+1], i)
			i++
			continue
		}
		// An escape in a basic string.
		if i+1 >= len(lit) {
			return "", nil, false
		}
		esc := lit[i+1]
		if simple, ok := tomlEscapes[esc]; ok {
			emit(simple, i)
			i += 2
			continue
		}
		switch esc {
		case 'u', 'U', 'x':
			n := map[byte]int{'u': 4, 'U': 8, 'x': 2}[esc]
			if i+2+n > len(lit) {
				return "", nil, false
			}
			v, err := strconv.ParseUint(lit[i+2:i+2+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return "", nil, false
			}
			emit(string(rune(v)), i)
			i += 2 + n
			continue
		}
		if !multi {
			return "", nil, false
		}
		// A line-ending backslash: it, the newline and all whitespace up to
		// the next non-blank character vanish.
		j := i + 1
		for j < len(lit) && (lit[j] == ' ' || lit[j] == '\t') {
			j++
		}
		if j < len(lit) && lit[j] == '\r' {
			j++
		}
		if j >= len(lit) || lit[j] != '\n' {
			return "", nil, false
		}
		for j < len(lit) && strings.IndexByte(" \t\r\n", lit[j]) >= 0 {
			j++
		}
		i = j
	}
	return "", nil, false
}

var tomlEscapes = map[byte]string{
	'b': "\b", 't': "\t", 'n': "\n", 'f': "\f", 'r': "\r", 'e': "\x1b", '"': `"`, '\\': `\`,
}

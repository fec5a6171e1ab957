package notebook

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The TOML decoder knows where each key is but does not say so publicly, and
// it keys array-of-tables entries by name only (all [[cells]] share "cells.text").
// So a small scanner walks the already-valid source once and records where
// every key and every value starts, by path: "cells", "3", "guests", "1".
// It never decides validity (the decoder did); on anything it does not
// understand it skips to the next line, so it cannot fail or loop.

// path separator: a byte that cannot appear in a TOML key without escaping.
const sep = "\x00"

func pathKey(parts ...string) string { return strings.Join(parts, sep) }

type positions struct {
	keys map[string]Pos // where the key (or table header) is written
	vals map[string]Pos // where the value starts (the opening quote of a string)

	arrays map[string]int // arrays of tables ([[name]]) by path, and their lengths
}

func (p *positions) key(parts ...string) Pos { return p.keys[pathKey(parts...)] }
func (p *positions) val(parts ...string) Pos {
	if v, ok := p.vals[pathKey(parts...)]; ok {
		return v
	}
	return p.key(parts...)
}

// near returns the position of the deepest recorded ancestor of the path, so
// an error about something the scanner did not record still points close by.
func (p *positions) near(parts ...string) Pos {
	for n := len(parts); n > 0; n-- {
		if pos, ok := p.keys[pathKey(parts[:n]...)]; ok {
			return pos
		}
	}
	return Pos{Line: 1, Col: 1}
}

type scanner struct {
	src    string
	i      int
	line   int
	lineAt int // byte offset of the current line's start
	pos    positions
	arrays map[string]int // array-of-tables path -> number of entries so far
}

func locate(src string) *positions {
	s := &scanner{
		src:    src,
		line:   1,
		pos:    positions{keys: map[string]Pos{}, vals: map[string]Pos{}},
		arrays: map[string]int{},
	}
	s.run()
	s.pos.arrays = s.arrays
	return &s.pos
}

func (s *scanner) here() Pos {
	end := min(s.i, len(s.src))
	return Pos{Line: s.line, Col: utf8.RuneCountInString(s.src[s.lineAt:end]) + 1}
}

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *scanner) advance() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.lineAt = s.i + 1
	}
	s.i++
}

// jump moves to byte offset to, keeping the line count.
func (s *scanner) jump(to int) {
	seg := s.src[s.i:to]
	if n := strings.Count(seg, "\n"); n > 0 {
		s.line += n
		s.lineAt = s.i + strings.LastIndexByte(seg, '\n') + 1
	}
	s.i = to
}

// escaped reports whether the byte at i is preceded by an odd number of
// backslashes.
func escaped(src string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && src[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func (s *scanner) skipSpace(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.advance()
		case c == '\n' && newlines:
			s.advance()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			return
		}
	}
}

func (s *scanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.advance()
	}
}

func (s *scanner) run() {
	var table []string
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		start := s.i
		if s.peek() == '[' {
			table = s.header()
		} else {
			s.keyValue(table)
		}
		if s.i == start { // no progress: never loop forever on odd input
			s.skipLine()
			if s.i == start {
				s.advance()
			}
		}
	}
}

// header reads [a.b] or [[a.b]] and returns the table's full path, with the
// index of each array-of-tables entry it passes through.
func (s *scanner) header() []string {
	at := s.here()
	s.advance()
	isArray := s.peek() == '['
	if isArray {
		s.advance()
	}
	s.skipSpace(false)
	keys := s.dottedKey()
	var path []string
	for i, k := range keys {
		path = append(path, k)
		joined := pathKey(path...)
		if isArray && i == len(keys)-1 {
			n := s.arrays[joined]
			s.arrays[joined] = n + 1
			if _, ok := s.pos.keys[joined]; !ok {
				s.pos.keys[joined] = at
			}
			path = append(path, strconv.Itoa(n))
		} else if n, ok := s.arrays[joined]; ok {
			path = append(path, strconv.Itoa(n-1))
		}
	}
	s.pos.keys[pathKey(path...)] = at
	s.skipLine()
	return path
}

func (s *scanner) keyValue(table []string) {
	at := s.here()
	keys := s.dottedKey()
	if len(keys) == 0 {
		return
	}
	s.skipSpace(false)
	if s.peek() != '=' {
		s.skipLine()
		return
	}
	s.advance()
	s.skipSpace(false)
	path := append(append([]string{}, table...), keys...)
	s.pos.keys[pathKey(path...)] = at
	s.value(path)
}

func (s *scanner) dottedKey() []string {
	var keys []string
	for {
		s.skipSpace(false)
		k, ok := s.simpleKey()
		if !ok {
			return keys
		}
		keys = append(keys, k)
		s.skipSpace(false)
		if s.peek() != '.' {
			return keys
		}
		s.advance()
	}
}

func (s *scanner) simpleKey() (string, bool) {
	switch s.peek() {
	case '"', '\'':
		start := s.i
		s.str()
		raw := s.src[start:s.i]
		if raw[0] == '\'' {
			return strings.Trim(raw, "'"), true
		}
		if k, err := strconv.Unquote(raw); err == nil {
			return k, true
		}
		return strings.Trim(raw, `"`), true
	}
	start := s.i
	for !s.eof() {
		c := s.peek()
		if c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			s.advance()
			continue
		}
		break
	}
	return s.src[start:s.i], s.i > start
}

// str skips one string of any of TOML's four kinds.
func (s *scanner) str() {
	q := s.peek()
	if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
		// Prose lives in these strings: jump from delimiter to delimiter
		// instead of stepping byte by byte.
		closing := strings.Repeat(string(q), 3)
		from := s.i + 3
		for {
			k := strings.Index(s.src[from:], closing)
			if k < 0 {
				s.jump(len(s.src))
				return
			}
			end := from + k
			if q == '"' && escaped(s.src, end) {
				from = end + 1
				continue
			}
			end += 3
			// up to two more quotes may belong to the content
			for range 2 {
				if end < len(s.src) && s.src[end] == q {
					end++
				}
			}
			s.jump(end)
			return
		}
	}
	s.advance()
	for !s.eof() && s.peek() != '\n' {
		c := s.peek()
		if q == '"' && c == '\\' {
			s.advance()
			s.advance()
			continue
		}
		s.advance()
		if c == q {
			return
		}
	}
}

func (s *scanner) value(path []string) {
	s.pos.vals[pathKey(path...)] = s.here()
	switch s.peek() {
	case '"', '\'':
		s.str()
	case '[':
		s.advance()
		for n := 0; ; n++ {
			s.skipSpace(true)
			if s.eof() || s.peek() == ']' {
				s.advance()
				return
			}
			elem := append(append([]string{}, path...), strconv.Itoa(n))
			s.pos.keys[pathKey(elem...)] = s.here()
			before := s.i
			s.value(elem)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.advance()
			} else if s.i == before {
				s.advance()
			}
		}
	case '{':
		s.advance()
		for {
			s.skipSpace(true)
			if s.eof() || s.peek() == '}' {
				s.advance()
				return
			}
			at := s.here()
			keys := s.dottedKey()
			s.skipSpace(false)
			if len(keys) == 0 || s.peek() != '=' {
				s.skipLine()
				return
			}
			s.advance()
			s.skipSpace(false)
			sub := append(append([]string{}, path...), keys...)
			s.pos.keys[pathKey(sub...)] = at
			s.value(sub)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.advance()
			}
		}
	default:
		for !s.eof() {
			switch s.peek() {
			case ',', ']', '}', '\n', '#':
				return
			}
			s.advance()
		}
	}
}

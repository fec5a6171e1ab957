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

// node is one key of the path tree the scanner records: where the key (or
// table header) is written, where its value starts, and its children. A
// tree, not a map keyed by joined paths: a path of n parts then costs n steps
// to record or find, where joining every prefix of a deep dotted header
// cost n² (a 200 KB header took a minute).
type node struct {
	key     Pos // where the key (or table header) is written
	val     Pos // where the value starts (the opening quote of a string)
	entries int // for an array of tables ([[name]]): its entries so far

	// Most nodes have one child: it needs no map of its own.
	firstName string
	first     *node
	kids      map[string]*node // the other children
}

// child returns the child k of n, making it when it is new.
func (n *node) child(k string) *node {
	if c := n.lookup(k); c != nil {
		return c
	}
	c := &node{}
	if n.first == nil {
		n.firstName, n.first = k, c
		return c
	}
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	n.kids[k] = c
	return c
}

// lookup returns the child k of n, or nil; n may be nil.
func (n *node) lookup(k string) *node {
	switch {
	case n == nil:
		return nil
	case n.first != nil && n.firstName == k:
		return n.first
	}
	return n.kids[k]
}

// positions is where the keys and values of one notebook are written, by
// path: "cells", "3", "guests", "1".
type positions struct {
	root node
}

func (p *positions) find(parts ...string) *node {
	n := &p.root
	for _, k := range parts {
		if n = n.lookup(k); n == nil {
			return nil
		}
	}
	return n
}

func (p *positions) key(parts ...string) Pos {
	if n := p.find(parts...); n != nil {
		return n.key
	}
	return Pos{}
}

func (p *positions) val(parts ...string) Pos {
	if v, ok := p.value(parts...); ok {
		return v
	}
	return p.key(parts...)
}

// value returns where the value at the path starts, if the scanner saw it.
func (p *positions) value(parts ...string) (Pos, bool) {
	n := p.find(parts...)
	if n == nil || !n.val.IsValid() {
		return Pos{}, false
	}
	return n.val, true
}

// near returns the position of the deepest recorded ancestor of the path, so
// an error about something the scanner did not record still points close by.
func (p *positions) near(parts ...string) Pos {
	best := Pos{Line: 1, Col: 1}
	n := &p.root
	for _, k := range parts {
		if n = n.lookup(k); n == nil {
			break
		}
		if n.key.IsValid() {
			best = n.key
		}
	}
	return best
}

// posAt converts a byte offset of src to a line and a character column.
func posAt(src string, off int) Pos {
	off = max(0, min(off, len(src)))
	lineStart := strings.LastIndexByte(src[:off], '\n') + 1
	return Pos{
		Line: strings.Count(src[:off], "\n") + 1,
		Col:  utf8.RuneCountInString(src[lineStart:off]) + 1,
	}
}

type scanner struct {
	src    string
	i      int
	line   int
	lineAt int // byte offset of the current line's start
	pos    positions

	// here counts characters from where it last counted on the same line, so
	// a long line costs its length once, not once per key on it.
	colLine, colAt, col int
}

func locate(src string) *positions {
	s := &scanner{src: src, line: 1}
	s.run()
	return &s.pos
}

func (s *scanner) here() Pos {
	end := min(s.i, len(s.src))
	if s.colLine != s.line || s.colAt > end || s.colAt < s.lineAt {
		s.colLine, s.colAt, s.col = s.line, s.lineAt, 1
	}
	s.col += utf8.RuneCountInString(s.src[s.colAt:end])
	s.colAt = end
	return Pos{Line: s.line, Col: s.col}
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
	table := &s.pos.root
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

// header reads [a.b] or [[a.b]] and returns the table's node, reached
// through the latest entry of each array of tables on the way.
func (s *scanner) header() *node {
	at := s.here()
	s.advance()
	isArray := s.peek() == '['
	if isArray {
		s.advance()
	}
	s.skipSpace(false)
	parts := s.dottedKey()
	n := &s.pos.root
	for i, k := range parts {
		n = n.child(k.name)
		last := i == len(parts)-1
		switch {
		case isArray && last:
			if !n.key.IsValid() {
				n.key = at
			}
			n.entries++
			n = n.child(strconv.Itoa(n.entries - 1))
		case n.entries > 0:
			n = n.child(strconv.Itoa(n.entries - 1))
		case !last && !n.key.IsValid():
			// A table this header creates implicitly ("vm" of
			// [guests.vm.disk]) is where its name is written, until a
			// header of its own says otherwise.
			n.key = k.at
		}
	}
	if len(parts) > 0 {
		n.key = at
	}
	s.skipLine()
	return n
}

// keyValue reads a `dotted.key = value` into the node below table, the
// key's position with it, for a line of a table or an entry of an inline
// table. What is not one is skipped to the end of its line, and keyValue
// reports false.
func (s *scanner) keyValue(table *node) bool {
	at := s.here()
	parts := s.dottedKey()
	s.skipSpace(false)
	if len(parts) == 0 || s.peek() != '=' {
		s.skipLine()
		return false
	}
	s.advance()
	s.skipSpace(false)
	n := keyNode(table, parts)
	n.key = at
	s.value(n)
	return true
}

// keyNode returns the node of a dotted key below n, recording where the
// tables it creates implicitly (a and b of a.b.c = 1) are named.
func keyNode(n *node, parts []part) *node {
	for i, k := range parts {
		n = n.child(k.name)
		if i < len(parts)-1 && !n.key.IsValid() {
			n.key = k.at
		}
	}
	return n
}

// part is one simple key of a dotted key, and where it is written.
type part struct {
	name string
	at   Pos
}

func (s *scanner) dottedKey() []part {
	var parts []part
	for {
		s.skipSpace(false)
		at := s.here()
		k, ok := s.simpleKey()
		if !ok {
			return parts
		}
		parts = append(parts, part{k, at})
		s.skipSpace(false)
		if s.peek() != '.' {
			return parts
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

func (s *scanner) value(n *node) {
	n.val = s.here()
	switch s.peek() {
	case '"', '\'':
		s.str()
	case '[':
		s.advance()
		for i := 0; ; i++ {
			s.skipSpace(true)
			if s.eof() || s.peek() == ']' {
				s.advance()
				return
			}
			elem := n.child(strconv.Itoa(i))
			elem.key = s.here()
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
			if !s.keyValue(n) {
				return
			}
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

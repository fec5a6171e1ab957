package notebook

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

// decode parses TOML into plain values: strings, int64, float64, bool,
// time.Time, []any, []map[string]any (an array of tables, written
// [[name]]) and map[string]any. It uses pelletier/go-toml, which decodes a
// notebook about 14 times faster than BurntSushi/toml did (24 µs against
// 335 µs for a 7 KB one); in a site build of a thousand notebooks that was a
// tenth of the work.
func decode(src []byte) (map[string]any, *positions, error) {
	var raw map[string]any
	if err := toml.Unmarshal(src, &raw); err != nil {
		return nil, nil, err
	}
	// The scanner runs on valid TOML only.
	pos := locate(string(src))
	return normalize(raw, &pos.root), pos, nil
}

// normalize gives decoded values the types validation and hashing expect.
// Local dates and times become time.Time in UTC, so a notebook means the
// same on every machine. An array written as [[name]] tables becomes
// []map[string]any; an inline array of tables stays []any, so "cells" must be
// written as tables, where every key has a line of its own for errors to
// point at. It walks with a stack of its own, not by recursion: a notebook
// nested 100,000 tables deep would otherwise make a stack the garbage
// collector scans again and again (a second for 200 KB).
func normalize(raw map[string]any, root *node) map[string]any {
	type pending struct {
		m map[string]any // a table to normalize in place, or
		a []any          // an array to normalize in place
		n *node
	}
	stack := []pending{{m: raw, n: root}}
	// fix returns the normalized form of a child value v, whose node is n,
	// and queues the tables and arrays it holds.
	fix := func(v any, n *node) any {
		switch x := v.(type) {
		case map[string]any:
			stack = append(stack, pending{m: x, n: n})
		case []any:
			if tables, ok := arrayOfTables(x, n); ok {
				for i, m := range tables {
					stack = append(stack, pending{m: m, n: n.lookup(strconv.Itoa(i))})
				}
				return tables
			}
			stack = append(stack, pending{a: x, n: n})
		default:
			return localTime(v)
		}
		return v
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for k, e := range p.m {
			p.m[k] = fix(e, p.n.lookup(k))
		}
		for i, e := range p.a {
			var en *node
			switch e.(type) {
			case map[string]any, []any:
				en = p.n.lookup(strconv.Itoa(i))
			}
			p.a[i] = fix(e, en)
		}
	}
	return raw
}

// arrayOfTables returns x as tables when it was written as [[name]].
func arrayOfTables(x []any, n *node) ([]map[string]any, bool) {
	if n == nil || n.entries == 0 {
		return nil, false
	}
	tables := make([]map[string]any, 0, len(x))
	for _, e := range x {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false // cannot happen for [[name]]; leave it for validation
		}
		tables = append(tables, m)
	}
	return tables, true
}

// localTime turns TOML's local dates and times into time.Time in UTC and
// returns other values as they are.
func localTime(v any) any {
	switch x := v.(type) {
	case toml.LocalDate:
		return time.Date(x.Year, time.Month(x.Month), x.Day, 0, 0, 0, 0, time.UTC)
	case toml.LocalDateTime:
		return time.Date(x.Year, time.Month(x.Month), x.Day, x.Hour, x.Minute, x.Second, x.Nanosecond, time.UTC)
	case toml.LocalTime:
		return time.Date(0, time.January, 1, x.Hour, x.Minute, x.Second, x.Nanosecond, time.UTC)
	}
	return v
}

// checkUTF8 refuses a notebook that is not UTF-8, at its first byte that is
// not: the decoder would only say "invalid UTF-8" at 1:1.
func checkUTF8(path string, src []byte) *Error {
	if utf8.Valid(src) {
		return nil
	}
	off := 0
	for off < len(src) {
		r, size := utf8.DecodeRune(src[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return errorf(path, posAt(string(src), off), "not UTF-8 text (byte 0x%02x): a notebook is a UTF-8 TOML file", src[off])
}

// syntaxError places a decoding error. The decoder counts columns in bytes;
// errors count them in characters.
func syntaxError(path string, src []byte, err error) *Error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return errorf(path, charPos(src, row, col), "TOML syntax: %s", msg)
	}
	// Every problem gets a position, even one the decoder does not place.
	return errorf(path, Pos{Line: 1, Col: 1}, "TOML: %v", err)
}

// charPos turns a line and a byte column into a line and a character column.
func charPos(src []byte, row, col int) Pos {
	if row < 1 {
		return Pos{Line: 1, Col: 1}
	}
	line := src
	for range row - 1 {
		i := strings.IndexByte(string(line), '\n')
		if i < 0 {
			return Pos{Line: row, Col: max(col, 1)}
		}
		line = line[i+1:]
	}
	if i := strings.IndexByte(string(line), '\n'); i >= 0 {
		line = line[:i]
	}
	n := min(max(col-1, 0), len(line))
	return Pos{Line: row, Col: utf8.RuneCount(line[:n]) + 1}
}

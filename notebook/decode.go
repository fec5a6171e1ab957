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
	return normalize(raw, &pos.root).(map[string]any), pos, nil
}

// normalize gives decoded values the types validation and hashing expect.
// Local dates and times become time.Time in UTC, so a notebook means the
// same on every machine. An array written as [[name]] tables becomes
// []map[string]any; an inline array of tables stays []any, so "cells" must be
// written as tables, where every key has a line of its own for errors to
// point at.
func normalize(v any, n *node) any {
	switch x := v.(type) {
	case toml.LocalDate:
		return time.Date(x.Year, time.Month(x.Month), x.Day, 0, 0, 0, 0, time.UTC)
	case toml.LocalDateTime:
		return time.Date(x.Year, time.Month(x.Month), x.Day, x.Hour, x.Minute, x.Second, x.Nanosecond, time.UTC)
	case toml.LocalTime:
		return time.Date(0, time.January, 1, x.Hour, x.Minute, x.Second, x.Nanosecond, time.UTC)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e, n.lookup(k))
		}
		return x
	case []any:
		if n != nil && n.entries > 0 {
			tables := make([]map[string]any, 0, len(x))
			for i, e := range x {
				m, ok := e.(map[string]any)
				if !ok {
					return x // cannot happen for [[name]]; leave it for validation
				}
				tables = append(tables, normalize(m, n.lookup(strconv.Itoa(i))).(map[string]any))
			}
			return tables
		}
		for i, e := range x {
			var en *node
			switch e.(type) {
			case map[string]any, []any:
				en = n.lookup(strconv.Itoa(i))
			}
			x[i] = normalize(e, en)
		}
		return x
	}
	return v
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

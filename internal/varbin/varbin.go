// Package varbin reads and writes the varint-framed binary files benchbook
// keeps as caches beside its JSON (the site manifest, a history's
// summaries). A Reader checks every read against the end of its data, the
// first failure sticks (every later read returns zero values), and a count
// can be bounded by the bytes left, so a damaged file cannot make a decoder
// allocate more than the file could hold.
package varbin

import "encoding/binary"

// Reader reads from data, from an offset on.
type Reader struct {
	data []byte
	pos  int
	bad  error // what Err reports once a read failed
	err  error
}

// NewReader reads data from pos on; Err reports bad after the first read
// that ran off the end or found a malformed number.
func NewReader(data []byte, pos int, bad error) *Reader {
	return &Reader{data: data, pos: min(pos, len(data)), bad: bad}
}

// Fail marks the data as bad (a decoder found a value out of range) and
// stops every later read.
func (r *Reader) Fail() {
	if r.err == nil {
		r.err = r.bad
	}
	r.pos = len(r.data)
}

// Err is nil while every read succeeded.
func (r *Reader) Err() error { return r.err }

// Pos is the offset of the next read.
func (r *Reader) Pos() int { return r.pos }

// Left is how many bytes are left to read.
func (r *Reader) Left() int { return len(r.data) - r.pos }

// Done reports whether every read succeeded and all the data was read.
func (r *Reader) Done() bool { return r.err == nil && r.pos == len(r.data) }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.data[r.pos:])
	if n <= 0 {
		r.Fail()
		return 0
	}
	r.pos += n
	return v
}

// Varint reads a signed varint: the zig-zag coding of an unsigned one,
// decoded as binary.Varint does.
func (r *Reader) Varint() int64 {
	ux := r.Uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// Count reads a count of things that take at least least bytes each in
// the data: never more than the bytes left could hold.
func (r *Reader) Count(least int) int {
	v := r.Uvarint()
	if v > uint64(r.Left()/least) {
		r.Fail()
		return 0
	}
	return int(v)
}

// Bytes reads the next n bytes; they are a slice of the data.
func (r *Reader) Bytes(n int) []byte {
	if n < 0 || n > r.Left() {
		r.Fail()
	}
	if r.err != nil {
		return nil
	}
	b := r.data[r.pos : r.pos+n]
	r.pos += n
	return b
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.pos >= len(r.data) {
		r.Fail()
		return 0
	}
	r.pos++
	return r.data[r.pos-1]
}

// Writer appends to Buf what a Reader reads back.
type Writer struct{ Buf []byte }

func (w *Writer) Uvarint(n uint64) { w.Buf = binary.AppendUvarint(w.Buf, n) }
func (w *Writer) Varint(n int64)   { w.Buf = binary.AppendVarint(w.Buf, n) }

// String writes s with its length first.
func (w *Writer) String(s string) {
	w.Uvarint(uint64(len(s)))
	w.Buf = append(w.Buf, s...)
}

// Strings writes the list's length, then each string.
func (w *Writer) Strings(ss []string) {
	w.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// Bool writes 1 or 0.
func (w *Writer) Bool(b bool) {
	if b {
		w.Buf = append(w.Buf, 1)
	} else {
		w.Buf = append(w.Buf, 0)
	}
}

package varbin

import (
	"errors"
	"testing"
)

var errBad = errors.New("bad")

func TestRoundTrip(t *testing.T) {
	var w Writer
	w.Uvarint(300)
	w.Varint(-7)
	w.String("héllo")
	w.Strings([]string{"a", ""})
	w.Bool(true)
	r := NewReader(w.Buf, 0, errBad)
	if got := r.Uvarint(); got != 300 {
		t.Errorf("Uvarint = %d", got)
	}
	if got := r.Varint(); got != -7 {
		t.Errorf("Varint = %d", got)
	}
	if got := string(r.Bytes(r.Count(1))); got != "héllo" {
		t.Errorf("string = %q", got)
	}
	if n := r.Count(1); n != 2 || string(r.Bytes(r.Count(1))) != "a" || r.Count(1) != 0 {
		t.Errorf("strings read back wrong")
	}
	if r.Byte() != 1 || !r.Done() || r.Err() != nil {
		t.Errorf("not done cleanly: done %v, err %v", r.Done(), r.Err())
	}
}

// TestFailureSticks: a read past the end, a malformed varint or a count
// larger than the bytes left fails the reader, and every read after it
// returns zero.
func TestFailureSticks(t *testing.T) {
	for name, c := range map[string]struct {
		data []byte
		read func(*Reader)
	}{
		"byte past the end":  {nil, func(r *Reader) { r.Byte() }},
		"bytes past the end": {[]byte{1, 2}, func(r *Reader) { r.Bytes(3) }},
		"negative length":    {[]byte{1}, func(r *Reader) { r.Bytes(-1) }},
		"cut varint":         {[]byte{0x80}, func(r *Reader) { r.Uvarint() }},
		"overlong varint":    {[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Varint() }},
		"count too large":    {[]byte{5, 0, 0, 0, 0}, func(r *Reader) { r.Count(1) }},
		"count of big items": {[]byte{2, 0, 0, 0}, func(r *Reader) { r.Count(2) }},
	} {
		r := NewReader(c.data, 0, errBad)
		c.read(r)
		if !errors.Is(r.Err(), errBad) || r.Done() {
			t.Errorf("%s: err %v, done %v; want errBad", name, r.Err(), r.Done())
		}
		if r.Uvarint() != 0 || r.Byte() != 0 || r.Bytes(0) != nil || r.Left() != 0 {
			t.Errorf("%s: a read after the failure returned something", name)
		}
	}
	if r := NewReader([]byte{1, 0}, 0, errBad); r.Count(1) != 1 || r.Err() != nil {
		t.Errorf("a count the bytes left can hold failed")
	}
}

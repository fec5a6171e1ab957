package site

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/benchbook/benchbook/render"
)

// The manifest's own encoding. A no-change rebuild of a thousand pages
// reads the manifest before anything else can start, and decoding it with
// gob was a tenth of that rebuild: gob copies the file into a buffer of its
// own, then allocates every string again. Here the file is read once, its
// strings are slices of one string made of it, and the entries are
// allocated together.
//
// The file is the magic, then the fields in the order encodeManifest
// writes them (numbers as varints, strings and lists with their lengths
// first), then the SHA-256 of all that came before, so a cut or damaged
// file is known as such and means a full build, as an unreadable gob did.
// The magic starts with a zero byte, which no gob stream does (a gob
// message is never empty): manifests of earlier versions, written with
// gob, are still read, for the outputs they claim.
const manifestMagic = "\x00benchbook-site\n"

// Bounds on what a decoded count may ask for: no more items than the
// bytes left could hold, at the least size each takes.
const (
	minEntryBytes = 16 // an entry of empty fields: its counts and lengths
	minInputBytes = 3
)

var errManifest = errors.New("manifest: damaged or cut")

// encodeManifest encodes f.
func encodeManifest(f *manifestFile) []byte {
	w := &codecWriter{buf: append(make([]byte, 0, 1024*(len(f.Entries)+1)), manifestMagic...)}
	w.int(int64(f.Version))
	w.str(string(f.Format))
	w.str(f.Site.Hash)
	w.strs(f.Site.Files)
	w.strs(f.Claimed)
	w.str(f.Render.Exe)
	w.str(f.Render.Fingerprint)
	w.uint(uint64(len(f.Entries)))
	for _, e := range f.Entries {
		w.entry(e)
	}
	sum := sha256.Sum256(w.buf)
	return append(w.buf, sum[:]...)
}

type codecWriter struct{ buf []byte }

func (w *codecWriter) uint(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }
func (w *codecWriter) int(n int64)   { w.buf = binary.AppendVarint(w.buf, n) }

func (w *codecWriter) str(s string) {
	w.uint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *codecWriter) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}

func (w *codecWriter) flag(b bool) {
	if b {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

func (w *codecWriter) time(t time.Time) {
	// As gob stored it: the instant and the zone's offset; nothing for no
	// time. An offset MarshalBinary cannot hold (not whole minutes) never
	// comes from a parsed date; such a time is stored as none.
	var b []byte
	if !t.IsZero() {
		b, _ = t.MarshalBinary()
	}
	w.str(string(b))
}

func (w *codecWriter) entry(e *entry) {
	w.str(e.Hash)
	p := &e.Page
	w.str(p.Source)
	w.str(p.Slug)
	w.str(p.Title)
	w.time(p.Date)
	w.strs(p.Authors)
	w.strs(p.Tags)
	w.str(p.Summary)
	w.flag(p.Draft)
	w.flag(p.History)
	w.uint(uint64(len(p.Regressions)))
	for i := range p.Regressions {
		r := &p.Regressions[i]
		w.str(r.Cell)
		w.str(r.Metric)
		w.str(r.Trend)
		w.str(r.Anchor)
		w.str(r.Run)
		w.time(r.Started)
		w.uint(math.Float64bits(r.Before))
		w.uint(math.Float64bits(r.After))
		w.uint(math.Float64bits(r.Rel))
		w.str(r.Unit)
	}
	w.uint(uint64(len(e.Inputs)))
	for _, in := range e.Inputs {
		w.str(in.Name)
		w.str(in.Sum)
		w.str(in.Stat)
	}
	w.str(e.ResultsDir)
	w.strs(e.Outputs)
	w.strs(e.Files)
	w.flag(e.Checks)
	w.strs(e.Stale)
}

// decodeManifest decodes what encodeManifest wrote, or fails with
// errManifest. data must start with manifestMagic.
func decodeManifest(data []byte) (*manifestFile, error) {
	if len(data) < len(manifestMagic)+sha256.Size || !bytes.HasPrefix(data, []byte(manifestMagic)) {
		return nil, errManifest
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil, errManifest
	}
	r := &codecReader{data: body, text: string(body), off: len(manifestMagic)}
	f := &manifestFile{Version: int(r.int())}
	f.Format = Format(r.str())
	f.Site.Hash = r.str()
	f.Site.Files = r.strs()
	f.Claimed = r.strs()
	f.Render.Exe = r.str()
	f.Render.Fingerprint = r.str()
	n := r.count(minEntryBytes)
	f.Entries = make([]*entry, n)
	var pool []entry // allocated a few at a time, as they are read
	for i := range f.Entries {
		if len(pool) == 0 {
			pool = make([]entry, min(n-i, 128))
		}
		f.Entries[i], pool = &pool[0], pool[1:]
		r.entry(f.Entries[i])
	}
	if r.err != nil || r.off != len(body) {
		return nil, errManifest
	}
	return f, nil
}

// codecReader reads fields from data; text is the same bytes as one
// string, which the strings read are slices of. The first error stops
// every later read, which then return zero values.
type codecReader struct {
	data []byte
	text string
	off  int
	err  error
}

func (r *codecReader) fail() {
	if r.err == nil {
		r.err = errManifest
	}
	r.off = len(r.data)
}

func (r *codecReader) uint() uint64 {
	n, k := binary.Uvarint(r.data[r.off:])
	if k <= 0 {
		r.fail()
		return 0
	}
	r.off += k
	return n
}

func (r *codecReader) int() int64 {
	n, k := binary.Varint(r.data[r.off:])
	if k <= 0 {
		r.fail()
		return 0
	}
	r.off += k
	return n
}

// count reads a count of items of at least least bytes each, no more than
// the bytes left could hold.
func (r *codecReader) count(least int) int {
	n := r.uint()
	if n > uint64((len(r.data)-r.off)/least) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *codecReader) bytes() []byte {
	n := r.count(1)
	b := r.data[r.off : r.off+n]
	r.off += n
	return b
}

func (r *codecReader) str() string {
	n := r.count(1)
	s := r.text[r.off : r.off+n]
	r.off += n
	return s
}

func (r *codecReader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *codecReader) flag() bool {
	if r.off >= len(r.data) || r.data[r.off] > 1 {
		r.fail()
		return false
	}
	r.off++
	return r.data[r.off-1] == 1
}

func (r *codecReader) time() time.Time {
	var t time.Time
	if b := r.bytes(); len(b) > 0 && t.UnmarshalBinary(b) != nil {
		r.fail()
	}
	return t
}

func (r *codecReader) entry(e *entry) {
	e.Hash = r.str()
	p := &e.Page
	p.Source = r.str()
	p.Slug = r.str()
	p.Title = r.str()
	p.Date = r.time()
	p.Authors = r.strs()
	p.Tags = r.strs()
	p.Summary = r.str()
	p.Draft = r.flag()
	p.History = r.flag()
	if n := r.count(minInputBytes); n > 0 {
		p.Regressions = make([]render.Regression, n)
		for i := range p.Regressions {
			g := &p.Regressions[i]
			g.Cell, g.Metric, g.Trend, g.Anchor, g.Run = r.str(), r.str(), r.str(), r.str(), r.str()
			g.Started = r.time()
			g.Before = math.Float64frombits(r.uint())
			g.After = math.Float64frombits(r.uint())
			g.Rel = math.Float64frombits(r.uint())
			g.Unit = r.str()
		}
	}
	if n := r.count(minInputBytes); n > 0 {
		e.Inputs = make([]input, n)
		for i := range e.Inputs {
			e.Inputs[i] = input{Name: r.str(), Sum: r.str(), Stat: r.str()}
		}
	}
	e.ResultsDir = r.str()
	e.Outputs = r.strs()
	e.Files = r.strs()
	e.Checks = r.flag()
	e.Stale = r.strs()
}

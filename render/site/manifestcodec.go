package site

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/benchbook/benchbook/internal/varbin"
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
	minEntryBytes      = 16 // an entry of empty fields: its counts and lengths
	minInputBytes      = 3  // name, sum, stat
	minRegressionBytes = 10 // six strings or times and three numbers
)

var errManifest = errors.New("manifest: damaged or cut")

// encodeManifest encodes f.
func encodeManifest(f *manifestFile) []byte {
	w := &varbin.Writer{Buf: append(make([]byte, 0, 1024*(len(f.Entries)+1)), manifestMagic...)}
	w.Varint(int64(f.Version))
	w.String(string(f.Format))
	w.String(f.Site.Hash)
	w.Strings(f.Site.Files)
	w.Strings(f.Claimed)
	w.String(f.Render.Exe)
	w.String(f.Render.Fingerprint)
	w.Uvarint(uint64(len(f.Entries)))
	for _, e := range f.Entries {
		w.String(e.Hash)
		writePage(w, &e.Page)
		w.Uvarint(uint64(len(e.Inputs)))
		for _, in := range e.Inputs {
			w.String(in.Name)
			w.String(in.Sum)
			w.String(in.Stat)
		}
		w.String(e.ResultsDir)
		w.Strings(e.Outputs)
		w.Strings(e.Files)
		w.Bool(e.Checks)
		w.Strings(e.Stale)
	}
	sum := sha256.Sum256(w.Buf)
	return append(w.Buf, sum[:]...)
}

// writePage writes every field of a page: for the manifest, and for the
// site hash (siteHash), which must see every field the site files show.
// TestSiteHashSeesEveryField fails when Page or render.Regression gains a
// field this leaves out.
func writePage(w *varbin.Writer, p *Page) {
	w.String(p.Source)
	w.String(p.Slug)
	w.String(p.Title)
	writeTime(w, p.Date)
	w.Strings(p.Authors)
	w.Strings(p.Tags)
	w.String(p.Summary)
	w.Bool(p.Draft)
	w.Bool(p.History)
	w.Uvarint(uint64(len(p.Regressions)))
	for i := range p.Regressions {
		r := &p.Regressions[i]
		w.String(r.Cell)
		w.String(r.Metric)
		w.String(r.Trend)
		w.String(r.Anchor)
		w.String(r.Run)
		writeTime(w, r.Started)
		w.Uvarint(math.Float64bits(r.Before))
		w.Uvarint(math.Float64bits(r.After))
		w.Uvarint(math.Float64bits(r.Rel))
		w.String(r.Unit)
	}
}

// writeTime writes t as gob stored it: the instant and the zone's offset;
// nothing for no time. An offset MarshalBinary cannot hold (not whole
// minutes) never comes from a parsed date; such a time is written as none.
func writeTime(w *varbin.Writer, t time.Time) {
	var b []byte
	if !t.IsZero() {
		b, _ = t.MarshalBinary()
	}
	w.String(string(b))
}

// decodeManifest decodes what encodeManifest wrote, or fails with
// errManifest. data must start with manifestMagic. The strings decoded
// share data's memory (a copy of it was a twentieth of a no-change
// rebuild: fresh memory is dear on a virtual machine), so data must never
// change afterwards: readManifest hands over the buffer it read.
func decodeManifest(data []byte) (*manifestFile, error) {
	if len(data) < len(manifestMagic)+sha256.Size || !bytes.HasPrefix(data, []byte(manifestMagic)) {
		return nil, errManifest
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil, errManifest
	}
	r := &codecReader{Reader: varbin.NewReader(body, len(manifestMagic), errManifest), text: unsafe.String(unsafe.SliceData(body), len(body))}
	f := &manifestFile{Version: int(r.Varint())}
	f.Format = Format(r.str())
	f.Site.Hash = r.str()
	f.Site.Files = r.strs()
	f.Claimed = r.strs()
	f.Render.Exe = r.str()
	f.Render.Fingerprint = r.str()
	n := r.Count(minEntryBytes)
	f.Entries = make([]*entry, n)
	var pool []entry // allocated a few at a time, as they are read
	for i := range f.Entries {
		if len(pool) == 0 {
			pool = make([]entry, min(n-i, 128))
		}
		f.Entries[i], pool = &pool[0], pool[1:]
		r.entry(f.Entries[i])
	}
	if !r.Done() {
		return nil, errManifest
	}
	return f, nil
}

// codecReader reads a manifest; text is its bytes as one string, which
// the strings read are slices of.
type codecReader struct {
	*varbin.Reader
	text string
}

func (r *codecReader) str() string {
	n := r.Count(1)
	at := r.Pos()
	r.Bytes(n)
	return r.text[at : at+n]
}

func (r *codecReader) strs() []string {
	n := r.Count(1)
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
	b := r.Byte()
	if b > 1 {
		r.Fail()
	}
	return b == 1
}

func (r *codecReader) time() time.Time {
	var t time.Time
	if b := r.Bytes(r.Count(1)); len(b) > 0 && t.UnmarshalBinary(b) != nil {
		r.Fail()
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
	if n := r.Count(minRegressionBytes); n > 0 {
		p.Regressions = make([]render.Regression, n)
		for i := range p.Regressions {
			g := &p.Regressions[i]
			g.Cell, g.Metric, g.Trend, g.Anchor, g.Run = r.str(), r.str(), r.str(), r.str(), r.str()
			g.Started = r.time()
			g.Before = math.Float64frombits(r.Uvarint())
			g.After = math.Float64frombits(r.Uvarint())
			g.Rel = math.Float64frombits(r.Uvarint())
			g.Unit = r.str()
		}
	}
	if n := r.Count(minInputBytes); n > 0 {
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

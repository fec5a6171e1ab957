package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/internal/inputfile"
	"github.com/benchbook/benchbook/internal/varbin"
)

// The summaries of a history, CELL.history.summaries beside
// CELL.history.jsonl, are what Summaries would decode from it, in a
// binary form that reads about ten times faster: a site build of a
// thousand pages with long histories spent most of its history time
// decoding their JSON. The file is a cache and never a source: it
// records the size and SHA-256 of the history it was made from, and is
// used only while the history has exactly those bytes (hashing is far
// cheaper than decoding), so a history merged by hand, copied from an
// older benchbook or changed in any way is decoded as before. It is
// written by every writer of the history (writeHistory), after the
// history and atomically; a crash in between leaves a summaries file of
// the old history, which no longer matches and is ignored. A summaries
// file that is corrupt, of another format version, or of other Go types
// (summariesTypes) is ignored too.

const summariesSuffix = ".history.summaries"

// summariesMagic starts a summaries file. summariesFormat is its layout's
// version: change it with the encoding below, or with what Summaries
// gives for a history (DecodeSummaries, summariesOnly, decoded).
const (
	summariesMagic  = "benchbook history summaries\n"
	summariesFormat = 1
)

// summariesPath is the summaries file of cell's history.
func (s Store) summariesPath(cell string) string {
	return filepath.Join(s.Dir, cell+summariesSuffix)
}

// writeSummaries replaces the summaries file of cell with one of history,
// the bytes just written to its history file. The entries are decoded
// from those bytes, as a reader decodes them, and the file is written
// only when it decodes to the same entries again; otherwise, and when it
// cannot be written, the old one is removed. Neither is an error: readers
// then decode the history.
func (s Store) writeSummaries(cell string, history []byte) {
	path := s.summariesPath(cell)
	data, err := summariesFile(s.HistoryPath(cell), history)
	if err == nil {
		err = atomicfile.Write(path, data)
	}
	if err != nil {
		_ = os.Remove(path)
	}
}

// summariesFile is the summaries file of a history's bytes.
func summariesFile(name string, history []byte) ([]byte, error) {
	entries, err := DecodeSummaries(name, history)
	if err != nil {
		return nil, err
	}
	out, err := encodeSummaries(entries, history)
	if err != nil {
		return nil, err
	}
	// The file must say what the history says: a value the encoding
	// does not carry exactly (a new field, a kind of param it misses)
	// keeps the file from being written at all.
	back, ok := decodeSummariesFile(out, history)
	if !ok || !reflect.DeepEqual(back, entries) {
		return nil, errors.New("summaries do not decode to the history's entries")
	}
	return out, nil
}

// encodeSummaries is the summaries file of entries, for the history whose
// bytes are history.
func encodeSummaries(entries []Entry, history []byte) ([]byte, error) {
	var e summariesEncoder
	e.strings = map[string]uint64{}
	e.uvarint(uint64(len(entries)))
	for _, en := range entries {
		e.entry(en)
	}
	if e.err != nil {
		return nil, e.err
	}
	sum := sha256.Sum256(history)
	var b bytes.Buffer
	b.WriteString(summariesMagic)
	b.Write(binary.AppendUvarint(nil, summariesFormat))
	types := summariesTypes()
	b.Write(types[:])
	b.Write(binary.AppendUvarint(nil, uint64(len(history))))
	b.Write(sum[:])
	b.Write(binary.AppendUvarint(nil, uint64(len(e.table))))
	for _, s := range e.table {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
	}
	for _, s := range e.table {
		b.WriteString(s)
	}
	b.Write(e.buf)
	check := sha256.Sum256(b.Bytes())
	b.Write(check[:])
	return b.Bytes(), nil
}

// readSummaries gives the entries of cell's summaries file when it is
// one of history, the bytes of cell's history file.
func (s Store) readSummaries(cell string, history []byte) ([]Entry, bool) {
	return s.readSummariesOf(cell, ofHistory(history))
}

// readSummariesOf gives the entries of cell's summaries file when of
// says the history it was made from, by its size and SHA-256, is the one
// the caller means.
func (s Store) readSummariesOf(cell string, of func(size uint64, sum []byte) bool) ([]Entry, bool) {
	buf := historyBuffers.Get().(*[]byte)
	defer historyBuffers.Put(buf)
	data, err := inputfile.ReadInto(*buf, s.summariesPath(cell), MaxFileSize, FileKind)
	if err != nil {
		return nil, false
	}
	*buf = data
	return decodeSummariesOf(data, of)
}

// ofHistory matches the summaries of history's bytes.
func ofHistory(history []byte) func(uint64, []byte) bool {
	return func(size uint64, sum []byte) bool {
		want := sha256.Sum256(history)
		return size == uint64(len(history)) && bytes.Equal(sum, want[:])
	}
}

// ofHashed matches the summaries of a history whose hex SHA-256 is sum.
func ofHashed(sum string) func(uint64, []byte) bool {
	return func(_ uint64, got []byte) bool {
		return len(sum) == 2*sha256.Size && hex.EncodeToString(got) == sum
	}
}

// decodeSummariesFile decodes a summaries file when it is intact, of this
// format and these types, and made from history; it copies what it keeps.
func decodeSummariesFile(data, history []byte) ([]Entry, bool) {
	return decodeSummariesOf(data, ofHistory(history))
}

func decodeSummariesOf(data []byte, of func(size uint64, sum []byte) bool) ([]Entry, bool) {
	const sumLen = sha256.Size
	if len(data) < len(summariesMagic)+sumLen || string(data[:len(summariesMagic)]) != summariesMagic {
		return nil, false
	}
	body, check := data[:len(data)-sumLen], data[len(data)-sumLen:]
	if sha256.Sum256(body) != [sumLen]byte(check) {
		return nil, false
	}
	d := summariesDecoder{Reader: varbin.NewReader(body, len(summariesMagic), errSummaries)}
	types := summariesTypes()
	if d.Uvarint() != summariesFormat || !bytes.Equal(d.Bytes(len(types)), types[:]) {
		return nil, false
	}
	size := d.Uvarint()
	if sum := d.Bytes(sumLen); d.Err() != nil || !of(size, sum) {
		return nil, false
	}
	n := d.Count(1)
	lens := make([]int, n)
	total := 0
	for i := range lens {
		lens[i] = d.Count(1)
		total += lens[i]
	}
	// One string holds the table; each entry is a part of it.
	all := string(d.Bytes(total))
	if d.Err() != nil {
		return nil, false
	}
	d.strings = make([]string, n)
	for i, l := range lens {
		d.strings[i], all = all[:l], all[l:]
	}
	entries := make([]Entry, d.Count(minEntryBytes))
	// The runs, their guests and points are allocated together: a
	// history page's runs are read and dropped together.
	for i := range entries {
		entries[i] = d.entry(len(entries) - i)
	}
	if !d.Done() {
		return nil, false
	}
	return entries, true
}

// summariesTypes is a hash of the Go types a summaries file holds, their
// fields, types and JSON names: a file written by a benchbook whose types
// differ is ignored even when the format number was not changed with
// them. It is worked out when first needed: most runs of benchbook read
// no summaries file, and this was a tenth of the package's start.
var summariesTypes = sync.OnceValue(func() [8]byte {
	h := sha256.New()
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(h, "%s;", t)
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			for f := range t.Fields() {
				fmt.Fprintf(h, "%s %q{", f.Name, f.Tag.Get("json"))
				walk(f.Type)
				fmt.Fprintf(h, "}")
			}
		}
	}
	walk(reflect.TypeFor[Entry]())
	return [8]byte(h.Sum(nil))
})

// The encoding: unsigned and signed varints, float64 as 8 bytes little
// endian, time.Time as its MarshalBinary (length first), strings as an
// index into the file's table of strings, slices and maps as their length
// plus one (0 is nil, which the JSON decoder tells from empty), map keys
// sorted, a pointer as 0 (nil) or 1 and its value.

type summariesEncoder struct {
	buf     []byte
	strings map[string]uint64
	table   []string
	err     error
}

func (e *summariesEncoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *summariesEncoder) int(v int)        { e.buf = binary.AppendVarint(e.buf, int64(v)) }
func (e *summariesEncoder) int64(v int64)    { e.buf = binary.AppendVarint(e.buf, v) }
func (e *summariesEncoder) float(v float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v))
}

func (e *summariesEncoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

func (e *summariesEncoder) string(s string) {
	i, ok := e.strings[s]
	if !ok {
		i = uint64(len(e.table))
		e.strings[s] = i
		e.table = append(e.table, s)
	}
	e.uvarint(i)
}

func (e *summariesEncoder) time(t time.Time) {
	b, err := t.MarshalBinary()
	if err != nil && e.err == nil {
		e.err = err
	}
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// length writes n+1, or 0 for nil.
func (e *summariesEncoder) length(isNil bool, n int) {
	if isNil {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(n) + 1)
}

func (e *summariesEncoder) strs(v []string) {
	e.length(v == nil, len(v))
	for _, s := range v {
		e.string(s)
	}
}

func (e *summariesEncoder) stringMap(m map[string]string) {
	encodeMap(e, m, (*summariesEncoder).string)
}

// encodeMap writes a map of string keys, as decodeMap reads it: its
// length, then each key, sorted, and its value as value writes it.
func encodeMap[V any](e *summariesEncoder, m map[string]V, value func(*summariesEncoder, V)) {
	e.length(m == nil, len(m))
	for _, k := range sortedKeys(m) {
		e.string(k)
		value(e, m[k])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (e *summariesEncoder) entry(en Entry) {
	e.string(en.ID)
	e.bool(en.Compacted)
	e.bool(en.Run != nil)
	if en.Run != nil {
		e.file(en.Run)
	}
}

func (e *summariesEncoder) file(f *File) {
	e.int(f.Schema)
	e.string(f.Notebook)
	e.string(f.Cell)
	e.string(f.InputHash)
	e.string(f.Commit)
	e.time(f.Started)
	e.time(f.Finished)
	e.env(&f.Env)
	e.bool(f.NoiseFloor != nil)
	if f.NoiseFloor != nil {
		e.noise(f.NoiseFloor)
	}
	e.params(f.Params)
	e.length(f.Metrics == nil, len(f.Metrics))
	for _, m := range f.Metrics {
		e.string(m.Name)
		e.string(m.Unit)
		e.string(m.Label)
		e.string(m.Better)
		e.string(m.Doc)
		e.bool(m.PerCommand)
	}
	e.length(f.Guests == nil, len(f.Guests))
	for i := range f.Guests {
		e.guest(&f.Guests[i])
	}
	e.string(f.Failure)
	e.string(f.Incomplete)
}

func (e *summariesEncoder) env(v *Env) {
	for _, s := range [...]string{v.Machine, v.CPUModel} {
		e.string(s)
	}
	e.int(v.Cores)
	e.int64(v.MemoryBytes)
	for _, s := range [...]string{v.Kernel, v.OS, v.Arch, v.GoVersion, v.Benchbook, v.Virtualization, v.Container} {
		e.string(s)
	}
	e.stringMap(v.Tools)
	for _, s := range [...]string{v.CPUGovernor, v.CPUBoost, v.SMT, v.Mitigations} {
		e.string(s)
	}
	e.bool(v.Placement != nil)
	if p := v.Placement; p != nil {
		for _, s := range [...]string{p.Mode, p.Allowed, p.SUT, p.Load, p.Note} {
			e.string(s)
		}
	}
}

func (e *summariesEncoder) noise(n *Noise) {
	e.int(n.Schema)
	e.string(n.Machine)
	encodeMap(e, n.Tools, (*summariesEncoder).toolNoise)
}

func (e *summariesEncoder) toolNoise(t ToolNoise) {
	e.time(t.Calibrated)
	for _, s := range [...]string{t.Benchbook, t.Notebook, t.Cell, t.Guest, t.Kind} {
		e.string(s)
	}
	e.int(t.Repeats)
	encodeMap(e, t.Metrics, func(e *summariesEncoder, m MetricNoise) {
		for _, f := range [...]float64{m.Spread, m.Median, m.CV, m.Change, m.P} {
			e.float(f)
		}
	})
}

func (e *summariesEncoder) guest(g *Guest) {
	for _, s := range [...]string{g.Name, g.Kind, g.Status, g.Reason} {
		e.string(s)
	}
	e.stringMap(g.Facts)
	e.strs(g.Commands)
	e.length(g.Points == nil, len(g.Points))
	for i := range g.Points {
		e.point(&g.Points[i])
	}
	e.length(g.Failures == nil, len(g.Failures))
	for _, f := range g.Failures {
		e.int(f.Point)
		e.int(f.Repeat)
		e.int(f.Attempt)
		e.bool(f.Retried)
		e.time(f.Started)
		e.string(f.Reason)
		e.string(f.Log)
	}
	if g.Kept != nil && e.err == nil {
		e.err = errors.New("summaries keep no kept figures")
	}
}

func (e *summariesEncoder) point(p *Point) {
	e.params(p.Params)
	if p.Repeats != nil && e.err == nil {
		e.err = errors.New("summaries keep no repeats")
	}
	encodeMap(e, p.Summary, func(e *summariesEncoder, s Summary) {
		e.int(s.N)
		for _, f := range [...]float64{s.Median, s.Mean, s.Min, s.Max, s.Stddev, s.CV, s.CILow, s.CIHigh, s.CILevel} {
			e.float(f)
		}
		e.bool(s.CIExact)
		e.int(s.Outliers)
		e.string(s.Warning)
	})
	e.bool(p.Stop != nil)
	if s := p.Stop; s != nil {
		e.string(s.Reason)
		e.int(s.Rounds)
		e.string(s.Metric)
		e.float(s.Target)
		e.float(s.Interval)
		e.float(s.Seconds)
	}
	e.stringMap(p.Facts)
}

// Kinds of param values: what decoding JSON into an any gives, with
// integral numbers made int64 (intParams).
const (
	anyNil = iota
	anyFalse
	anyTrue
	anyInt
	anyFloat
	anyString
	anyList
	anyMap
)

func (e *summariesEncoder) params(m map[string]any) {
	encodeMap(e, m, (*summariesEncoder).value)
}

func (e *summariesEncoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, anyNil)
	case bool:
		if v {
			e.buf = append(e.buf, anyTrue)
		} else {
			e.buf = append(e.buf, anyFalse)
		}
	case int64:
		e.buf = append(e.buf, anyInt)
		e.int64(v)
	case float64:
		e.buf = append(e.buf, anyFloat)
		e.float(v)
	case string:
		e.buf = append(e.buf, anyString)
		e.string(v)
	case []any:
		e.buf = append(e.buf, anyList)
		e.length(v == nil, len(v))
		for _, x := range v {
			e.value(x)
		}
	case map[string]any:
		e.buf = append(e.buf, anyMap)
		e.params(v)
	default:
		if e.err == nil {
			e.err = fmt.Errorf("summaries: a param of type %T", v)
		}
	}
}

// summariesDecoder reads what summariesEncoder wrote. Its first error
// sticks; every read after it gives zero values.
type summariesDecoder struct {
	*varbin.Reader
	strings []string
	depth   int // of params within params

	files  []File  // stock of runs, handed out by newFile
	guests []Guest // stock of guests, handed out by cut
	points []Point // stock of points, handed out by cut
}

// arenaChunk is how many guests or points a decoder allocates at once.
const arenaChunk = 64

// cut is n guests or points cut from the decoder's stock of them, with no
// room to append into the next list's.
func cut[T any](stock *[]T, n int) []T {
	if n > cap(*stock)-len(*stock) {
		*stock = make([]T, 0, max(n, arenaChunk))
	}
	l := len(*stock)
	*stock = (*stock)[:l+n]
	return (*stock)[l : l+n : l+n]
}

// maxParamDepth bounds how deep params nest, as JSON decoders bound
// nesting: a file made to nest millions deep must not exhaust the stack.
const maxParamDepth = 1000

var errSummaries = errors.New("corrupt summaries")

func (d *summariesDecoder) int() int { return int(d.Varint()) }

// length reads n+1 (0: nil).
func (d *summariesDecoder) length() (n int, isNil bool) {
	v := d.Count(1)
	if v == 0 {
		return 0, true
	}
	return v - 1, false
}

func (d *summariesDecoder) bool() bool { return d.Byte() != 0 }

func (d *summariesDecoder) float() float64 {
	b := d.Bytes(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *summariesDecoder) string() string {
	i := d.Uvarint()
	if i >= uint64(len(d.strings)) {
		d.Fail()
		return ""
	}
	return d.strings[i]
}

func (d *summariesDecoder) time() time.Time {
	var t time.Time
	if err := t.UnmarshalBinary(d.Bytes(d.Count(1))); err != nil {
		d.Fail()
	}
	return t
}

func (d *summariesDecoder) strs() []string {
	n, isNil := d.length()
	if isNil {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.string()
	}
	return v
}

func (d *summariesDecoder) stringMap() map[string]string {
	return decodeMap(d, (*summariesDecoder).string)
}

// decodeMap reads a map of string keys; value reads one value (a method
// expression, which unlike a method value allocates nothing).
func decodeMap[V any](d *summariesDecoder, value func(*summariesDecoder) V) map[string]V {
	n, isNil := d.length()
	if isNil {
		return nil
	}
	m := make(map[string]V, n)
	for range n {
		k := d.string()
		m[k] = value(d)
	}
	return m
}

// entry decodes one entry; left counts it and those after it.
func (d *summariesDecoder) entry(left int) Entry {
	en := Entry{ID: d.string(), Compacted: d.bool()}
	if d.bool() {
		en.Run = d.newFile(left)
		d.file(en.Run)
	}
	return en
}

// Lower bounds of what an entry takes in the file, with and without its
// run (TestSummariesMinimumSizes): they bound what a count the file
// gives can make the decoder allocate to what the file could hold.
const (
	minEntryBytes = 3  // id, compacted, whether a run follows
	minRunBytes   = 48 // a run of zero values takes 60
)

// newFile is the next run from the decoder's stock, which it refills
// for the runs left, as many as the bytes left could hold at most: a
// File is some 450 bytes in memory and tens in the file.
func (d *summariesDecoder) newFile(left int) *File {
	if len(d.files) == cap(d.files) {
		d.files = make([]File, 0, max(1, min(left, d.Left()/minRunBytes)))
	}
	d.files = d.files[:len(d.files)+1]
	return &d.files[len(d.files)-1]
}

func (d *summariesDecoder) file(f *File) {
	f.Schema, f.Notebook, f.Cell, f.InputHash, f.Commit = d.int(), d.string(), d.string(), d.string(), d.string()
	f.Started = d.time()
	f.Finished = d.time()
	d.env(&f.Env)
	if d.bool() {
		f.NoiseFloor = d.noise()
	}
	f.Params = d.params()
	if n, isNil := d.length(); !isNil {
		f.Metrics = make([]Metric, n)
		for i := range f.Metrics {
			f.Metrics[i] = Metric{Name: d.string(), Unit: d.string(), Label: d.string(), Better: d.string(), Doc: d.string(), PerCommand: d.bool()}
		}
	}
	if n, isNil := d.length(); !isNil {
		f.Guests = cut(&d.guests, n)
		for i := range f.Guests {
			d.guest(&f.Guests[i])
		}
	}
	f.Failure = d.string()
	f.Incomplete = d.string()
}

func (d *summariesDecoder) env(v *Env) {
	v.Machine, v.CPUModel = d.string(), d.string()
	v.Cores = d.int()
	v.MemoryBytes = d.Varint()
	v.Kernel, v.OS, v.Arch, v.GoVersion = d.string(), d.string(), d.string(), d.string()
	v.Benchbook, v.Virtualization, v.Container = d.string(), d.string(), d.string()
	v.Tools = d.stringMap()
	v.CPUGovernor, v.CPUBoost, v.SMT, v.Mitigations = d.string(), d.string(), d.string(), d.string()
	if d.bool() {
		v.Placement = &Placement{Mode: d.string(), Allowed: d.string(), SUT: d.string(), Load: d.string(), Note: d.string()}
	}
}

func (d *summariesDecoder) noise() *Noise {
	n := &Noise{Schema: d.int(), Machine: d.string()}
	count, isNil := d.length()
	if isNil {
		return n
	}
	n.Tools = make(map[string]ToolNoise, count)
	for range count {
		k := d.string()
		t := ToolNoise{Calibrated: d.time()}
		t.Benchbook, t.Notebook, t.Cell, t.Guest, t.Kind = d.string(), d.string(), d.string(), d.string(), d.string()
		t.Repeats = d.int()
		if mc, isNil := d.length(); !isNil {
			t.Metrics = make(map[string]MetricNoise, mc)
			for range mc {
				mk := d.string()
				t.Metrics[mk] = MetricNoise{Spread: d.float(), Median: d.float(), CV: d.float(), Change: d.float(), P: d.float()}
			}
		}
		n.Tools[k] = t
	}
	return n
}

func (d *summariesDecoder) guest(g *Guest) {
	g.Name, g.Kind, g.Status, g.Reason = d.string(), d.string(), d.string(), d.string()
	g.Facts = d.stringMap()
	g.Commands = d.strs()
	if n, isNil := d.length(); !isNil {
		g.Points = cut(&d.points, n)
		for i := range g.Points {
			d.point(&g.Points[i])
		}
	}
	if n, isNil := d.length(); !isNil {
		g.Failures = make([]Failure, n)
		for i := range g.Failures {
			g.Failures[i] = Failure{Point: d.int(), Repeat: d.int(), Attempt: d.int(), Retried: d.bool(), Started: d.time(), Reason: d.string(), Log: d.string()}
		}
	}
}

func (d *summariesDecoder) point(p *Point) {
	p.Params = d.params()
	if n, isNil := d.length(); !isNil {
		p.Summary = make(map[string]Summary, n)
		for range n {
			k := d.string()
			s := Summary{N: d.int()}
			s.Median, s.Mean, s.Min, s.Max, s.Stddev = d.float(), d.float(), d.float(), d.float(), d.float()
			s.CV, s.CILow, s.CIHigh, s.CILevel = d.float(), d.float(), d.float(), d.float()
			s.CIExact, s.Outliers, s.Warning = d.bool(), d.int(), d.string()
			p.Summary[k] = s
		}
	}
	if d.bool() {
		p.Stop = &Stop{Reason: d.string(), Rounds: d.int(), Metric: d.string(), Target: d.float(), Interval: d.float(), Seconds: d.float()}
	}
	p.Facts = d.stringMap()
}

func (d *summariesDecoder) params() map[string]any {
	return decodeMap(d, (*summariesDecoder).value)
}

func (d *summariesDecoder) value() any {
	if d.depth++; d.depth > maxParamDepth {
		d.Fail()
		return nil
	}
	defer func() { d.depth-- }()
	switch d.Byte() {
	case anyNil:
		return nil
	case anyFalse:
		return false
	case anyTrue:
		return true
	case anyInt:
		return d.Varint()
	case anyFloat:
		return d.float()
	case anyString:
		return d.string()
	case anyList:
		n, isNil := d.length()
		if isNil {
			return []any(nil)
		}
		v := make([]any, n)
		for i := range v {
			v[i] = d.value()
		}
		return v
	case anyMap:
		return d.params()
	}
	d.Fail()
	return nil
}

package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/internal/inputfile"
	"github.com/benchbook/benchbook/notebook"
)

const (
	goodSuffix   = ".json"
	failedSuffix = ".failed.json"
	logsDir      = "logs"
)

// Store is the results directory of one notebook.
type Store struct {
	Dir string // e.g. notebooks/x.results
	// KeepRaw is how many of a cell's newest runs keep their raw repeats
	// in its history (see Compact): 0 means DefaultKeepRaw, below 0 all.
	KeepRaw int
}

// ForNotebook returns the store of a notebook: notebooks/x.toml keeps its
// results in notebooks/x.results.
func ForNotebook(notebookPath string) Store {
	dir, base := filepath.Split(notebookPath)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	return Store{Dir: filepath.Join(dir, name+".results")}
}

// Path is the file of the last good result of cell.
func (s Store) Path(cell string) string { return filepath.Join(s.Dir, cell+goodSuffix) }

// FailurePath is the file of the last failed run of cell.
func (s Store) FailurePath(cell string) string { return filepath.Join(s.Dir, cell+failedSuffix) }

// LogsDir is where guest logs go.
func (s Store) LogsDir() string { return filepath.Join(s.Dir, logsDir) }

// LogRel is the log name of one repeat of one guest, relative to the store
// and slash-separated: the form Repeat.Log stores. point and repeat count
// from 0, like Repeat.Index.
func (s Store) LogRel(cell, guest string, point, repeat int) string {
	return fmt.Sprintf("%s/%s.%s.p%d.r%d.log", logsDir, safeName(cell), safeName(guest), point, repeat)
}

// LogPath is the file a guest's console log of one repeat goes to. The
// caller creates the directory (os.MkdirAll(s.LogsDir(), 0o755)).
func (s Store) LogPath(cell, guest string, point, repeat int) string {
	return s.Resolve(s.LogRel(cell, guest, point, repeat))
}

// Resolve turns a path stored relative to the store, like Repeat.Log, into
// a file path.
func (s Store) Resolve(rel string) string { return filepath.Join(s.Dir, filepath.FromSlash(rel)) }

// Load reads the last good result of cell. When there is none the error
// wraps os.ErrNotExist.
func (s Store) Load(cell string) (*File, error) {
	return s.load(cell, s.Path(cell))
}

// LoadFailure reads the last failed run of cell. When there is none the
// error wraps os.ErrNotExist.
func (s Store) LoadFailure(cell string) (*File, error) {
	return s.load(cell, s.FailurePath(cell))
}

func (s Store) load(cell, path string) (*File, error) {
	if err := checkID("cell", cell); err != nil {
		return nil, err
	}
	data, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load results of cell %q: %w", cell, err)
	}
	f, err := Decode(path, data)
	if err != nil {
		return nil, err
	}
	if f.Cell != cell {
		return nil, fmt.Errorf("%s: holds cell %q, not %q (renamed by hand?)", path, f.Cell, cell)
	}
	return f, nil
}

// MaxFileSize is the largest results file benchbook reads: 64 MiB, some
// hundred times one of a long sweep with many repeats and percentiles.
const MaxFileSize = 64 << 20

// ReadFile returns the content of a stored results file: a regular file
// (after following symlinks) of at most MaxFileSize bytes. A named pipe, a
// device or a huge file is an error that names it, never a hang.
func ReadFile(path string) ([]byte, error) {
	return inputfile.Read(path, MaxFileSize, FileKind)
}

// FileKind names a results file in the error for one over MaxFileSize.
const FileKind = "a results file"

// Save writes f as the last good result of its cell, atomically: a crash
// leaves either the old file or the new one, never a mix. Once the new
// result is safe, a failure file of the same cell is removed, as it is no
// longer the latest news. f must not have Failure set. A file there that a
// newer benchbook wrote (a higher schema) is neither replaced nor removed:
// the error wraps ErrNewerSchema.
func (s Store) Save(f *File) error {
	if f.Failure != "" {
		return fmt.Errorf("save results of cell %q: failure is set; use SaveFailure", f.Cell)
	}
	data, err := Encode(f)
	if err != nil {
		return fmt.Errorf("save results: %w", err)
	}
	for _, path := range []string{s.Path(f.Cell), s.FailurePath(f.Cell)} {
		if err := keepNewer(path); err != nil {
			return fmt.Errorf("save results of cell %q: %w", f.Cell, err)
		}
	}
	if err := atomicfile.Write(s.Path(f.Cell), data, atomicfile.Durable()); err != nil {
		return fmt.Errorf("save results of cell %q: %w", f.Cell, err)
	}
	if err := os.Remove(s.FailurePath(f.Cell)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("results of cell %q saved, but the old failure stays: %w", f.Cell, err)
	}
	return nil
}

// SaveFailure writes f, whose Failure says what went wrong, beside the last
// good result of its cell, which it never touches. Like Save, it does not
// replace a failure file a newer benchbook wrote.
func (s Store) SaveFailure(f *File) error {
	if f.Failure == "" {
		return fmt.Errorf("save failure of cell %q: failure is empty", f.Cell)
	}
	data, err := Encode(f)
	if err != nil {
		return fmt.Errorf("save failure: %w", err)
	}
	if err := keepNewer(s.FailurePath(f.Cell)); err != nil {
		return fmt.Errorf("save failure of cell %q: %w", f.Cell, err)
	}
	if err := atomicfile.Write(s.FailurePath(f.Cell), data, atomicfile.Durable()); err != nil {
		return fmt.Errorf("save failure of cell %q: %w", f.Cell, err)
	}
	return nil
}

// Cells lists the cells that have a good result, sorted. A missing
// directory means no results yet, not an error.
func (s Store) Cells() ([]string, error) { return s.list(goodSuffix) }

// Failures lists the cells that have a failure file, sorted.
func (s Store) Failures() ([]string, error) { return s.list(failedSuffix) }

func (s Store) list(suffix string) ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list results: %w", err)
	}
	var cells []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, suffix) {
			continue
		}
		if suffix == goodSuffix && strings.HasSuffix(name, failedSuffix) {
			continue
		}
		// Temp files start with a dot and so are no valid id.
		if id := strings.TrimSuffix(name, suffix); checkID("cell", id) == nil {
			cells = append(cells, id)
		}
	}
	slices.Sort(cells)
	return cells, nil
}

// Encode returns the stored form of f: indented, keys in a fixed order,
// times in UTC, nil lists and maps written as empty ones, and a trailing
// newline. It refuses values JSON cannot hold (NaN, ±Inf) naming where they
// are, and ids that cannot be file names. f is not modified.
func Encode(f *File) ([]byte, error) {
	if err := check(f); err != nil {
		return nil, err
	}
	n := normalize(f)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Command lines are full of & < >; \u0026 would make them unreadable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode cell %q: %w", f.Cell, err)
	}
	return buf.Bytes(), nil
}

// normalize returns a copy of f in its canonical stored form, sharing maps
// with f but not slices it has to change.
func normalize(f *File) File {
	c := *f
	if c.Schema == 0 {
		c.Schema = SchemaVersion
	}
	c.Started, c.Finished = c.Started.UTC(), c.Finished.UTC()
	c.Guests = make([]Guest, len(f.Guests))
	for i, g := range f.Guests {
		pts := make([]Point, len(g.Points))
		for j, p := range g.Points {
			reps := make([]Repeat, len(p.Repeats))
			for k, r := range p.Repeats {
				r.Started = r.Started.UTC()
				if r.Metrics == nil {
					r.Metrics = map[string]float64{}
				}
				reps[k] = r
			}
			p.Repeats = reps
			if p.Summary == nil {
				p.Summary = map[string]Summary{}
			}
			pts[j] = p
		}
		g.Points = pts
		c.Guests[i] = g
	}
	return c
}

// check refuses what must not reach the disk.
func check(f *File) error {
	if f.Schema != 0 && f.Schema != SchemaVersion {
		return fmt.Errorf("cell %q: schema %d, want %d", f.Cell, f.Schema, SchemaVersion)
	}
	if err := checkID("cell", f.Cell); err != nil {
		return err
	}
	where := fmt.Sprintf("cell %q", f.Cell)
	if err := checkParams(where, f.Params); err != nil {
		return err
	}
	if err := f.NoiseFloor.check(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	for _, g := range f.Guests {
		gw := fmt.Sprintf("%s: guest %q", where, g.Name)
		if g.Name == "" {
			return fmt.Errorf("%s: guest without a name", where)
		}
		switch g.Status {
		case StatusOK, StatusFailed, StatusSkipped:
		default:
			return fmt.Errorf("%s: status %q, want %q, %q or %q", gw, g.Status, StatusOK, StatusFailed, StatusSkipped)
		}
		for i, p := range g.Points {
			pw := fmt.Sprintf("%s: point %d", gw, i)
			if err := checkParams(pw, p.Params); err != nil {
				return err
			}
			for _, r := range p.Repeats {
				rw := fmt.Sprintf("%s: repeat %d", pw, r.Index)
				if err := finite(rw, "seconds", r.Seconds); err != nil {
					return err
				}
				for _, name := range slices.Sorted(maps.Keys(r.Metrics)) {
					if err := finite(rw, fmt.Sprintf("metric %q", name), r.Metrics[name]); err != nil {
						return err
					}
				}
				for _, pc := range r.Percentiles {
					if err := finite(rw, "percentile", pc.P); err != nil {
						return err
					}
					if err := finite(rw, fmt.Sprintf("latency of percentile %g", pc.P), pc.LatencyUs); err != nil {
						return err
					}
				}
			}
			for _, name := range slices.Sorted(maps.Keys(p.Summary)) {
				sm := p.Summary[name]
				for _, v := range []struct {
					field string
					x     float64
				}{
					{"median", sm.Median}, {"mean", sm.Mean}, {"min", sm.Min}, {"max", sm.Max},
					{"stddev", sm.Stddev}, {"cv", sm.CV}, {"ci_low", sm.CILow}, {"ci_high", sm.CIHigh},
					{"ci_level", sm.CILevel},
				} {
					if err := finite(pw, fmt.Sprintf("%s of metric %q", v.field, name), v.x); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func finite(where, what string, x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%s: %s is %v, which JSON cannot store", where, what, x)
	}
	return nil
}

func checkParams(where string, params map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if err := finiteAny(where, fmt.Sprintf("param %q", k), params[k]); err != nil {
			return err
		}
	}
	return nil
}

func finiteAny(where, what string, v any) error {
	switch v := v.(type) {
	case float64:
		return finite(where, what, v)
	case float32:
		return finite(where, what, float64(v))
	case []any:
		for i, e := range v {
			if err := finiteAny(where, fmt.Sprintf("%s[%d]", what, i), e); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if err := finiteAny(where, fmt.Sprintf("%s.%s", what, k), v[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkID accepts what the notebook format allows for cell ids and guest
// names (letters, digits, '-' and '_'), which also keeps them safe as file
// names: no separators, no dots, so "x.failed" cannot pose as a cell.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("empty %s id", what)
	}
	for _, r := range id {
		if !isIDRune(r) {
			return fmt.Errorf("%s id %q: only letters, digits, '-' and '_' are allowed", what, id)
		}
	}
	return nil
}

func isIDRune(r rune) bool {
	return r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

// safeName maps a name into a file name component for log paths, which
// take no error: the ids were validated by the notebook already.
func safeName(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if isIDRune(r) {
			return r
		}
		return '_'
	}, s)
}

// DecodeError is a stored file that is not valid results JSON, at the
// line and column of the problem. It is the file-position error notebooks
// use too, so a tool reads both the same way.
type DecodeError = notebook.Error

// Decode parses a stored results file; name is used in errors only.
// Malformed JSON gives a *DecodeError with line and column.
func Decode(name string, data []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		// A newer schema may well not fit this one's types: say so first.
		if schema := storedSchema(data); schema > SchemaVersion {
			return nil, newerSchema(name, schema)
		}
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			// Offset counts the bytes read, the bad one included; at the end of
			// input there is no bad byte, so point past the last.
			off := syn.Offset - 1
			if syn.Offset >= int64(len(data)) && strings.Contains(syn.Error(), "unexpected end") {
				off = int64(len(data))
				err = fmt.Errorf("%w (file truncated?)", err)
			}
			return nil, decodeError(name, data, off, err)
		case errors.As(err, &typ):
			return nil, decodeError(name, data, typ.Offset-1, err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return decoded(name, &f)
}

// decoded checks the schema of a file json.Unmarshal filled and puts its
// parameters in their canonical types.
func decoded(name string, f *File) (*File, error) {
	if f.Schema > SchemaVersion {
		return nil, newerSchema(name, f.Schema)
	}
	if f.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, this benchbook reads schema %d", name, f.Schema, SchemaVersion)
	}
	f.Params = intParams(f.Params)
	for i := range f.Guests {
		for j := range f.Guests[i].Points {
			f.Guests[i].Points[j].Params = intParams(f.Guests[i].Points[j].Params)
		}
	}
	return f, nil
}

// ErrNewerSchema is wrapped by the error for a results file written by a
// newer benchbook: this one can neither read it nor overwrite it.
var ErrNewerSchema = errors.New("results of a newer schema")

func newerSchema(name string, schema int) error {
	return &notebook.Error{
		File: name,
		Msg:  fmt.Sprintf("written by a newer benchbook (schema %d; this one reads up to %d): upgrade benchbook", schema, SchemaVersion),
		Err:  ErrNewerSchema,
	}
}

// storedSchema is the schema a stored file says it has, or 0 when it does
// not say (or is no JSON object).
func storedSchema(data []byte) int {
	var probe struct {
		Schema int `json:"schema"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return 0
	}
	return probe.Schema
}

// keepNewer refuses to replace or remove the file at path when a newer
// benchbook wrote it: an older one would silently lose what it cannot read.
// A file that is missing, unreadable or corrupt may be replaced.
func keepNewer(path string) error {
	data, err := ReadFile(path)
	if err != nil {
		return nil
	}
	if schema := storedSchema(data); schema > SchemaVersion {
		return fmt.Errorf("not replaced: %w", newerSchema(path, schema))
	}
	return nil
}

func decodeError(name string, data []byte, off int64, err error) *DecodeError {
	off = max(0, min(off, int64(len(data))))
	return notebook.ErrorAt(name, data, int(off), err)
}

// intParams turns integral JSON numbers back into int64, the type TOML
// integers have, so params compare equal to the notebook's after a round trip.
func intParams(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = intValue(v)
	}
	return m
}

func intValue(v any) any {
	switch v := v.(type) {
	case float64:
		// Beyond 2^53 a float64 no longer says which integer it was.
		if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
			return int64(v)
		}
	case []any:
		for i := range v {
			v[i] = intValue(v[i])
		}
	case map[string]any:
		intParams(v)
	}
	return v
}

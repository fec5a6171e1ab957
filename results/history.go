package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/internal/inputfile"
)

// The history of a cell is every good run of it, oldest first, one JSON
// object a line in CELL.history.jsonl beside CELL.json. CELL.json stays what
// the report shows (the newest run); the history is what trends, change
// points and merged machines are drawn from. A line is an Entry: the run's
// stable id, whether its raw repeats were compacted away, and the run as
// CELL.json stores it (on one line).
//
// The history only grows by good runs (Store.Record); a failed run, which
// goes to CELL.failed.json, never touches it. Results folders from before
// the history have none: History then gives CELL.json as the one run.

// HistorySuffix ends the name of a cell's history file in its results
// folder (HistoryPath).
const HistorySuffix = ".history.jsonl"

// DefaultKeepRaw is how many of a cell's newest runs keep their raw
// repeats in the history when the store does not say (Store.KeepRaw).
const DefaultKeepRaw = 20

// Entry is one run in a cell's history.
type Entry struct {
	// ID names the run wherever its results travel: a hash of the
	// machine's id, the cell and when the run started (RunID).
	ID string `json:"id"`
	// Compacted says the run's raw repeats were dropped to bound the
	// history's growth: its points keep their summaries only.
	Compacted bool  `json:"compacted,omitempty"`
	Run       *File `json:"run"`
}

// RunID is the stable id of a run: the same run has the same id on every
// machine it is merged into, and two runs differ in machine or start.
func RunID(f *File) string {
	sum := sha256.Sum256([]byte("benchbook run\n" + f.Env.Machine + "\n" + f.Cell + "\n" + f.Started.UTC().Format(time.RFC3339Nano) + "\n"))
	return hex.EncodeToString(sum[:8])
}

// HistoryPath is the file of cell's history.
func (s Store) HistoryPath(cell string) string { return filepath.Join(s.Dir, cell+HistorySuffix) }

// Record stores f, a good run of its cell, as Save does, and appends it to
// the cell's history. A cell whose CELL.json predates the history has that
// run added first, so no run it showed is lost. Nothing is written when f
// cannot be saved; when f is saved but the history cannot be written, the
// error says so.
func (s Store) Record(f *File) error {
	unlock, err := s.lockHistory()
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := s.readHistory(f.Cell)
	if err != nil {
		return fmt.Errorf("save results of cell %q: %w (move the file aside to start a new history)", f.Cell, err)
	}
	if entries == nil {
		if prev, err := s.Load(f.Cell); err == nil {
			entries = append(entries, Entry{ID: RunID(prev), Run: prev})
		}
	}
	if err := s.Save(f); err != nil {
		return err
	}
	entries = addEntries(entries, Entry{ID: RunID(f), Run: f})
	if err := s.writeHistory(f.Cell, entries); err != nil {
		return fmt.Errorf("results of cell %q saved, but not its history: %w", f.Cell, err)
	}
	return nil
}

// Merge adds runs to cell's history, skipping those it has (by id), and
// reports how many were new. It is how results of other machines join
// this store's.
func (s Store) Merge(cell string, runs []Entry) (added int, err error) {
	unlock, err := s.lockHistory()
	if err != nil {
		return 0, err
	}
	defer unlock()
	entries, err := s.History(cell)
	if err != nil {
		return 0, err
	}
	before := len(entries)
	merged := addEntries(entries, runs...)
	if len(merged) == before {
		return 0, nil
	}
	if err := s.writeHistory(cell, merged); err != nil {
		return 0, fmt.Errorf("merge the history of cell %q: %w", cell, err)
	}
	return len(merged) - before, nil
}

// History is cell's runs, oldest first. A folder without a history file
// gives its CELL.json as the one run; a CELL.json the history lacks (one
// an older benchbook wrote over) is added in its place. No results at all
// is no error: the list is empty.
func (s Store) History(cell string) ([]Entry, error) {
	return s.history(cell, false, s.Load)
}

// Summaries is History with every run as Compact leaves it (no repeats
// in its points, no Kept figures of failed guests; Compacted says what
// the file stores): the ids, environments and summaries that trends,
// change points and the history page are drawn from. It skips what it
// leaves out instead of decoding it, which makes it about twice as fast
// as History on the histories sitebench makes, and more on real ones,
// whose repeats carry percentiles and timelines. While the history's
// summaries file matches it (summaries.go), it reads that instead,
// another ten times faster, with the same result.
func (s Store) Summaries(cell string) ([]Entry, error) {
	return s.history(cell, true, s.Load)
}

// SummariesOf is Summaries for a caller that reads CELL.json itself and
// may have hashed cell's history file already (a site build, for the
// page's hash). load is called for CELL.json instead of Store.Load (the
// run it returns is not changed; the list holds a copy without its
// repeats and kept figures). historySum, when not empty, is the hex
// SHA-256 of the history's bytes: while the history's summaries file
// (summaries.go) is of a history with that hash, the history itself is
// not read.
func (s Store) SummariesOf(cell, historySum string, load func(cell string) (*File, error)) ([]Entry, error) {
	return s.historyOf(cell, true, historySum, load)
}

func (s Store) history(cell string, summaries bool, load func(string) (*File, error)) ([]Entry, error) {
	return s.historyOf(cell, summaries, "", load)
}

func (s Store) historyOf(cell string, summaries bool, historySum string, load func(string) (*File, error)) ([]Entry, error) {
	if err := checkID("cell", cell); err != nil {
		return nil, err
	}
	var entries []Entry
	var err error
	ok := false
	if summaries && historySum != "" {
		entries, ok = s.readSummariesOf(cell, ofHashed(historySum))
	}
	if !ok {
		// A summaries file the hash did not match is of no other
		// history either: readHistoryOf need not try it again.
		entries, err = s.readHistoryOf(cell, summaries, historySum == "")
	}
	if err != nil {
		return nil, err
	}
	if cur, err := load(cell); err == nil {
		if summaries {
			cur = summariesOnly(cur)
		}
		entries = addEntries(entries, Entry{ID: RunID(cur), Run: cur})
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return entries, nil
}

// HistoryCells lists the cells with a history file or a good result,
// sorted.
func (s Store) HistoryCells() ([]string, error) {
	good, err := s.Cells()
	if err != nil {
		return nil, err
	}
	hist, err := s.list(HistorySuffix)
	if err != nil {
		return nil, err
	}
	cells := append(good, hist...)
	slices.Sort(cells)
	return slices.Compact(cells), nil
}

// addEntries adds runs to entries that it does not hold yet, keeping the
// list in the order the runs started (ties by id, so any order of merging
// gives the same file).
func addEntries(entries []Entry, runs ...Entry) []Entry {
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.ID] = true
	}
	for _, r := range runs {
		if !seen[r.ID] {
			seen[r.ID] = true
			entries = append(entries, r)
		}
	}
	slices.SortStableFunc(entries, func(a, b Entry) int {
		if c := a.Run.Started.Compare(b.Run.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return entries
}

// keepRaw is how many newest runs keep their repeats.
func (s Store) keepRaw() int {
	if s.KeepRaw == 0 {
		return DefaultKeepRaw
	}
	return s.KeepRaw
}

// Compact drops the raw repeats of all but the newest keep runs, which
// bounds the history's growth to a summary a run past them. A keep below 0
// keeps every run's repeats.
func Compact(entries []Entry, keep int) []Entry {
	if keep < 0 {
		return entries
	}
	out := slices.Clone(entries)
	for i := 0; i < len(out)-keep; i++ {
		if out[i].Compacted {
			continue
		}
		out[i] = Entry{ID: out[i].ID, Compacted: true, Run: summariesOnly(out[i].Run)}
	}
	return out
}

// summariesOnly is a copy of f whose points have no repeats.
func summariesOnly(f *File) *File {
	c := *f
	c.Guests = make([]Guest, len(f.Guests))
	for i, g := range f.Guests {
		g.Points = slices.Clone(g.Points)
		for j := range g.Points {
			g.Points[j].Repeats = nil
		}
		g.Kept = nil
		c.Guests[i] = g
	}
	return &c
}

// readHistory decodes cell's history file; nil when there is none.
func (s Store) readHistory(cell string) ([]Entry, error) {
	return s.readHistoryOf(cell, false, false)
}

// readHistoryOf decodes cell's history, or only its summaries; with
// useFile, from the summaries file where it matches the history.
func (s Store) readHistoryOf(cell string, summaries, useFile bool) ([]Entry, error) {
	path := s.HistoryPath(cell)
	// The decoders copy what they keep, so the file's bytes can go back
	// to the pool: a site build reads a history a page.
	buf := historyBuffers.Get().(*[]byte)
	defer historyBuffers.Put(buf)
	data, err := inputfile.ReadInto(*buf, path, MaxFileSize, FileKind)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of cell %q: %w", cell, err)
	}
	*buf = data
	if summaries {
		if useFile {
			if entries, ok := s.readSummaries(cell, data); ok {
				return entries, nil
			}
		}
		return DecodeSummaries(path, data)
	}
	return DecodeHistory(path, data)
}

var historyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// DecodeHistory parses a history file; name is used in errors, which say
// the line.
func DecodeHistory(name string, data []byte) ([]Entry, error) {
	return decodeHistory(name, data, false)
}

// DecodeSummaries is DecodeHistory without the runs' raw repeats and kept
// figures, which it skips over unread (see Store.Summaries). A line it cannot decode so
// gives the error DecodeHistory gives.
func DecodeSummaries(name string, data []byte) ([]Entry, error) {
	return decodeHistory(name, data, true)
}

// strictLine decodes a well-formed history line in one pass with the
// faster JSON decoder of github.com/go-json-experiment/json (encoding/json
// v2), strictly: a member it does not know, a name in another case, a
// duplicate name or invalid UTF-8 is an error, on which the line takes
// the encoding/json path, whose leniency and errors stay the reference.
// Where strictLine succeeds both decode the same (TestStrictLineAsV1).
// With summaries, every []Repeat and *Kept is skipped over unread.
func strictLine(text []byte, summaries bool, one *historyLine) error {
	if summaries {
		return jsonv2.Unmarshal(text, one, jsonv2.RejectUnknownMembers(true), skipRepeats)
	}
	return jsonv2.Unmarshal(text, one, jsonv2.RejectUnknownMembers(true))
}

var skipRepeats = jsonv2.WithUnmarshalers(jsonv2.JoinUnmarshalers(
	jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ *[]Repeat) error { return dec.SkipValue() }),
	jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ **Kept) error { return dec.SkipValue() }),
))

// historyLine is one line of a history file.
type historyLine struct {
	ID        string `json:"id"`
	Compacted bool   `json:"compacted"`
	Run       *File  `json:"run"`
}

func decodeHistory(name string, data []byte, summaries bool) ([]Entry, error) {
	var entries []Entry
	// Lines are cut from data in place: a scanner would copy each first.
	rest := data
	for line := 1; len(rest) > 0; line++ {
		var text []byte
		text, rest, _ = bytes.Cut(rest, []byte("\n"))
		text = bytes.TrimSpace(text)
		if len(text) == 0 {
			continue
		}
		// Most lines are well formed: decode them in one pass. Any
		// problem takes the path below, whose errors say where.
		var one historyLine
		if strictLine(text, summaries, &one) == nil && one.Run != nil && one.Run.Schema == SchemaVersion {
			f, err := decoded(name, one.Run)
			if err != nil {
				return nil, err
			}
			if one.ID == "" {
				one.ID = RunID(f)
			}
			entries = append(entries, Entry{ID: one.ID, Compacted: one.Compacted, Run: f})
			continue
		}
		var raw struct {
			ID        string          `json:"id"`
			Compacted bool            `json:"compacted"`
			Run       json.RawMessage `json:"run"`
		}
		where := fmt.Sprintf("%s:%d", name, line)
		if err := json.Unmarshal(text, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		f, err := Decode(where, raw.Run)
		if err != nil {
			return nil, err
		}
		if summaries {
			f = summariesOnly(f)
		}
		if raw.ID == "" {
			raw.ID = RunID(f)
		}
		entries = append(entries, Entry{ID: raw.ID, Compacted: raw.Compacted, Run: f})
	}
	return entries, nil
}

// EncodeHistory is the stored form of entries: one compact line each.
func EncodeHistory(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	for _, e := range entries {
		run, err := Encode(e.Run)
		if err != nil {
			return nil, err
		}
		var line bytes.Buffer
		if err := json.Compact(&line, run); err != nil {
			return nil, fmt.Errorf("encode run %s: %w", e.ID, err)
		}
		fmt.Fprintf(&buf, `{"id":%q`, e.ID)
		if e.Compacted {
			buf.WriteString(`,"compacted":true`)
		}
		buf.WriteString(`,"run":`)
		buf.Write(line.Bytes())
		buf.WriteString("}\n")
	}
	return buf.Bytes(), nil
}

// writeHistory compacts entries and replaces the history file with them,
// atomically: a crash leaves the old history or the new one. Then it
// writes the history's summaries file (writeSummaries), a cache whose
// failure is no error.
func (s Store) writeHistory(cell string, entries []Entry) error {
	data, err := EncodeHistory(Compact(entries, s.keepRaw()))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(s.HistoryPath(cell), data, atomicfile.Durable()); err != nil {
		return err
	}
	s.writeSummaries(cell, data)
	return nil
}

// lockHistory serialises writers of the store's histories (a run, a
// merge): each reads a history, adds to it and writes it back. The kernel
// drops the lock when its holder dies.
func (s Store) lockHistory() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	path := filepath.Join(s.Dir, ".history.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the history: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock the history: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

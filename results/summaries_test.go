package results

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// filled sets every field of v, recursively, to a value that differs
// from its zero and from the other fields' (maps and lists get two
// elements), except what summaries never hold: repeats and kept figures.
type filler struct{ n int }

func (fl *filler) next() int { fl.n++; return fl.n }

func (fl *filler) fill(v reflect.Value) {
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2026, 1, 1, 0, 0, fl.next(), 7, time.UTC)))
		return
	case []Repeat, *Kept:
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + strconv.Itoa(fl.next()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(fl.next()))
	case reflect.Float64:
		v.SetFloat(float64(fl.next()) + 0.25)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fl.fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fl.fill(v.Index(i))
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fl.fill(k)
			fl.fill(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Interface:
		// Every kind of value a param decodes to.
		v.Set(reflect.ValueOf(map[string]any{
			"int": int64(fl.next()), "float": 0.5, "text": "x", "yes": true, "no": false, "null": nil,
			"list": []any{int64(-3), "y", []any{}, map[string]any{"deep": 1.5}},
		}))
	case reflect.Struct:
		for i := range v.NumField() {
			fl.fill(v.Field(i))
		}
	default:
		panic("filler: add kind " + v.Kind().String())
	}
}

// Every field of a run that summaries keep comes back from the summaries
// file as it went in: a field added to File, Env, Guest or what they hold
// fails here until the summaries encoding carries it.
func TestSummariesCarryEveryField(t *testing.T) {
	var entries []Entry
	fl := &filler{}
	for range 3 {
		var e Entry
		fl.fill(reflect.ValueOf(&e).Elem())
		entries = append(entries, e)
	}
	entries = append(entries, Entry{ID: "bare", Run: &File{}}, Entry{ID: "no run"})
	history := []byte("the history these summaries are of\n")
	data, err := encodeSummaries(entries, history)
	if err != nil {
		t.Fatal(err)
	}
	back, ok := decodeSummariesFile(data, history)
	if !ok {
		t.Fatal("summaries file not read back")
	}
	if !reflect.DeepEqual(back, entries) {
		t.Errorf("summaries changed in a round trip:\n got %+v\nwant %+v", back, entries)
	}
}

// recordThree stores three runs of sampleFile and returns the store, its
// history's bytes and what Summaries decodes of them without the
// summaries file.
func recordThree(t *testing.T) (Store, []byte, []Entry) {
	t.Helper()
	s := Store{Dir: t.TempDir(), KeepRaw: 1}
	for i := range 3 {
		if err := s.Record(runAt(time.Duration(i)*time.Hour, "m1")); err != nil {
			t.Fatal(err)
		}
	}
	history := readFile(t, s.HistoryPath("throughput"))
	want, err := DecodeSummaries(s.HistoryPath("throughput"), history)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.summariesPath("throughput")); err != nil {
		t.Fatalf("Record wrote no summaries file: %v", err)
	}
	return s, history, want
}

func summaries(t *testing.T, s Store) []Entry {
	t.Helper()
	got, err := s.Summaries("throughput")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A summaries file that matches its history is read instead of it: one
// made to say something else, with the history's size and hash, is
// believed (which is what makes it worth having); every other one is
// ignored, and Summaries decodes the history.
func TestSummariesFileMatchesItsHistoryOrIsIgnored(t *testing.T) {
	t.Run("matching", func(t *testing.T) {
		s, history, want := recordThree(t)
		if got := summaries(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("summaries from the file differ from the history's:\n got %+v\nwant %+v", got, want)
		}
		other := append([]Entry(nil), want[1:]...)
		data, err := encodeSummaries(other, history)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, s.summariesPath("throughput"), data)
		if got := summaries(t, s); len(got) != 2 {
			t.Fatalf("a matching summaries file was not read: %d runs, want its 2", len(got))
		}
	})
	// Each case starts from a summaries file that lies (it leaves out
	// two of the three runs) and matches the history, and breaks the
	// match.
	resum := func(data []byte) []byte {
		body := data[:len(data)-sha256.Size]
		sum := sha256.Sum256(body)
		return append(body, sum[:]...)
	}
	for name, change := range map[string]func(t *testing.T, s Store, history, lie []byte){
		// A run appended by hand (or by an older benchbook, which
		// writes no summaries): the file is of the old history.
		"history grew": func(t *testing.T, s Store, history, _ []byte) {
			f := runAt(-time.Hour, "m2")
			line, err := EncodeHistory([]Entry{{ID: RunID(f), Run: f}})
			if err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, s.HistoryPath("throughput"), append(history, line...))
		},
		"history changed, same size": func(t *testing.T, s Store, history, _ []byte) {
			edited := bytes.Replace(history, []byte(`"cores":2`), []byte(`"cores":4`), 1)
			if bytes.Equal(edited, history) {
				t.Fatal("nothing to edit")
			}
			writeTestFile(t, s.HistoryPath("throughput"), edited)
		},
		"summaries corrupt": func(t *testing.T, s Store, _, lie []byte) {
			c := bytes.Clone(lie)
			c[len(c)/2] ^= 1
			writeTestFile(t, s.summariesPath("throughput"), c)
		},
		"summaries truncated": func(t *testing.T, s Store, _, lie []byte) {
			writeTestFile(t, s.summariesPath("throughput"), lie[:len(lie)-1])
		},
		"summaries of another format": func(t *testing.T, s Store, _, lie []byte) {
			c := bytes.Clone(lie)
			c[len(summariesMagic)]++ // the format number
			writeTestFile(t, s.summariesPath("throughput"), resum(c))
		},
		"summaries of other types": func(t *testing.T, s Store, _, lie []byte) {
			c := bytes.Clone(lie)
			c[len(summariesMagic)+1] ^= 1 // the first byte of summariesTypes
			writeTestFile(t, s.summariesPath("throughput"), resum(c))
		},
		"summaries empty": func(t *testing.T, s Store, _, _ []byte) {
			writeTestFile(t, s.summariesPath("throughput"), nil)
		},
		"summaries a folder": func(t *testing.T, s Store, _, _ []byte) {
			path := s.summariesPath("throughput")
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, history, _ := recordThree(t)
			lie, err := encodeSummaries(summaries(t, s)[:1], history)
			if err != nil {
				t.Fatal(err)
			}
			writeTestFile(t, s.summariesPath("throughput"), lie)
			// Its one run and CELL.json, which Summaries adds.
			if got := summaries(t, s); len(got) != 2 {
				t.Fatalf("the lying summaries file was not read: %d runs", len(got))
			}
			change(t, s, history, lie)
			got := summaries(t, s)
			if err := os.RemoveAll(s.summariesPath("throughput")); err != nil {
				t.Fatal(err)
			}
			want := summaries(t, s)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("summaries file trusted: %d runs, want the history's %d", len(got), len(want))
			}
		})
	}
}

// Every writer of the history writes its summaries: a merge too, and the
// file then matches the merged history.
func TestMergeWritesSummaries(t *testing.T) {
	_, _, want := recordThree(t)
	other := Store{Dir: t.TempDir()}
	if _, err := other.Merge("throughput", want); err != nil {
		t.Fatal(err)
	}
	history := readFile(t, other.HistoryPath("throughput"))
	got, ok := other.readSummaries("throughput", history)
	if !ok {
		t.Fatal("Merge wrote no summaries file of its history")
	}
	decoded, err := DecodeSummaries("x", history)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, decoded) {
		t.Errorf("merged summaries differ from the merged history's")
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// SummariesOf takes the history's hash from its caller: a summaries file
// of a history with that hash is read without the history; given the
// hash of another, the history is read (and decoded, as the file is not
// of it either).
func TestSummariesOfHashedHistory(t *testing.T) {
	s, history, _ := recordThree(t)
	claimed := []byte("the history the caller hashed")
	lie, err := encodeSummaries(summaries(t, s)[:1], claimed)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, s.summariesPath("throughput"), lie)
	hash := func(b []byte) string { sum := sha256.Sum256(b); return hex.EncodeToString(sum[:]) }
	got, err := s.SummariesOf("throughput", hash(claimed), s.Load)
	if err != nil || len(got) != 2 { // its one run and CELL.json
		t.Fatalf("summaries of the hashed history: %d runs, %v; want the file's", len(got), err)
	}
	for _, sum := range []string{hash(history), "", "not hex"} {
		got, err := s.SummariesOf("throughput", sum, s.Load)
		if err != nil || len(got) != 3 {
			t.Errorf("summaries of hash %q: %d runs, %v; want the history's 3", sum, len(got), err)
		}
	}
}

// Whatever the body of an intact summaries file holds, decoding it
// returns or refuses, never panics or runs away.
func FuzzSummariesFile(f *testing.F) {
	history := []byte("history\n")
	run := runAt(0, "m1")
	jsonl, err := EncodeHistory(Compact([]Entry{{ID: RunID(run), Run: run}}, 0))
	if err != nil {
		f.Fatal(err)
	}
	entries, err := DecodeSummaries("x", jsonl)
	if err != nil {
		f.Fatal(err)
	}
	data, err := encodeSummaries(entries, history)
	if err != nil {
		f.Fatal(err)
	}
	header := len(summariesMagic) + 1 + len(summariesTypes()) + 1 + sha256.Size
	f.Add(data[header : len(data)-sha256.Size])
	f.Fuzz(func(t *testing.T, body []byte) {
		file := slices.Clone(data[:header])
		file = append(file, body...)
		sum := sha256.Sum256(file)
		file = append(file, sum[:]...)
		decodeSummariesFile(file, history)
	})
}

// Params nested past maxParamDepth are refused, not followed down.
func TestSummariesDeepParams(t *testing.T) {
	deep := map[string]any{}
	m := deep
	for range maxParamDepth + 1 {
		next := map[string]any{}
		m["x"] = next
		m = next
	}
	entries := []Entry{{ID: "deep", Run: &File{Params: deep}}}
	data, err := encodeSummaries(entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeSummariesFile(data, nil); ok {
		t.Error("params nested too deep were decoded")
	}
}

// BenchmarkSummaries compares decoding a history of 50 runs (20 with
// their repeats, as benchbook run keeps them) with reading its summaries
// file, hash of the history included.
func BenchmarkSummaries(b *testing.B) {
	var entries []Entry
	for i := range 50 {
		f := runAt(time.Duration(i)*time.Hour, "m1")
		entries = append(entries, Entry{ID: RunID(f), Run: f})
	}
	history, err := EncodeHistory(Compact(entries, DefaultKeepRaw))
	if err != nil {
		b.Fatal(err)
	}
	sums, err := summariesFile("x", history)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("history", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeSummaries("x", history); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Logf("history %d bytes, summaries file %d bytes", len(history), len(sums))
	b.Run("summaries-file", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeSummariesFile(sums, history); !ok {
				b.Fatal("not read")
			}
		}
	})
	// As a site build reads it: with the history's hash known.
	sum := sha256.Sum256(history)
	hash := hex.EncodeToString(sum[:])
	b.Run("summaries-file-hashed", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeSummariesOf(sums, ofHashed(hash)); !ok {
				b.Fatal("not read")
			}
		}
	})
}

// The decoder bounds the counts it allocates for by the least an entry
// and a run take in the file; a smaller encoding would have it refuse
// good files, so the bounds must stay below what the encoder writes for
// zero values.
func TestSummariesMinimumSizes(t *testing.T) {
	size := func(en Entry) int {
		e := summariesEncoder{strings: map[string]uint64{}}
		e.entry(en)
		if e.err != nil {
			t.Fatal(e.err)
		}
		return len(e.buf)
	}
	bare, withRun := size(Entry{}), size(Entry{Run: &File{}})
	if bare < minEntryBytes || withRun-bare < minRunBytes {
		t.Errorf("an entry takes %d bytes, its run %d more; the decoder assumes at least %d and %d", bare, withRun-bare, minEntryBytes, minRunBytes)
	}
	t.Logf("entry %d bytes, run %d more", bare, withRun-bare)
}

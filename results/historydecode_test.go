package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// v1Line decodes a history line the way encoding/json alone does: the
// reference strictLine must agree with.
func v1Line(text []byte) (historyLine, error) {
	var one historyLine
	err := json.Unmarshal(text, &one)
	return one, err
}

// checkStrictLine fails when strictLine decodes text to something other
// than encoding/json does (or, with summaries, to something other than
// that run without its repeats and kept figures, which it does not read).
func checkStrictLine(t *testing.T, text []byte) {
	t.Helper()
	want, errV1 := v1Line(text)
	for _, summaries := range []bool{false, true} {
		var got historyLine
		if err := strictLine(text, summaries, &got); err != nil {
			continue // the line takes the encoding/json path
		}
		if errV1 != nil {
			if summaries {
				// What it skips unread may hold what encoding/json
				// refuses (a repeat's time out of range): the
				// summaries are still good, History gives the error.
				continue
			}
			t.Fatalf("strict decoding accepts a line encoding/json refuses (%v):\n%.2000s", errV1, text)
		}
		w := want
		if summaries && w.Run != nil {
			// summariesOnly makes a null list of guests an empty one.
			w.Run, got.Run = summariesOnly(w.Run), summariesOnly(got.Run)
		}
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("summaries %v: strict decoding differs from encoding/json:\n%#v\n%#v\nline: %.2000s", summaries, got.Run, w.Run, text)
		}
	}
}

// historyLines are the lines of the repository's stored histories.
func historyLines(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../notebooks/*.results/*.history.jsonl")
	var lines [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, MaxFileSize)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	return lines
}

// What the faster decoder accepts it decodes as encoding/json does: every
// line of the stored histories, and lines each made to trip one of their
// differences (case, duplicates, unknown members, nulls, bad UTF-8).
func TestStrictLineAsV1(t *testing.T) {
	lines := historyLines(t)
	if len(lines) == 0 {
		t.Fatal("no stored history found under ../notebooks")
	}
	odd := []string{
		`{"id":"a","run":{"schema":1,"cell":"tp","Started":"2026-01-01T00:00:00Z","guests":[]}}`,
		`{"id":"a","run":{"schema":1,"cell":"tp","cell":"other","guests":[]}}`,
		`{"id":"a","run":{"schema":1,"cell":"tp","newer_field":3,"guests":[]}}`,
		`{"id":"a","compacted":null,"run":{"schema":1,"cell":"tp","env":null,"params":null,"guests":null}}`,
		"{\"id\":\"a\xff\",\"run\":{\"schema\":1,\"cell\":\"tp\",\"guests\":[]}}",
		`{"id":"a","run":{"schema":1,"cell":"tp","params":{"n":1e2,"s":[1,"x",{"k":2.5}]},"guests":[{"name":"h","status":"ok","points":[{"params":{"c":4},"repeats":[{"metrics":{"x":1}}],"summary":{"x":{"n":1,"median":1}}}],"kept":{"points":[{"repeats":[]}]}}]}}`,
		`{"id":"a","run":{"schema":1,"cell":"tp","started":"2026-01-01T00:00:00.123456789+02:00","guests":[]}}`,
		`{"id":"a","run":{"schema":1,"cell":"tp","guests":[{"name":"h","points":[{"repeats":[{"metrics":{"x":1e400}}]}]}]}}`,
		`{"id":"a","run":null}`,
		`[]`,
	}
	for _, l := range odd {
		lines = append(lines, []byte(l))
	}
	for _, l := range lines {
		checkStrictLine(t, l)
	}
}

// FuzzStrictLine: whatever line the faster decoder accepts, it decodes as
// encoding/json does.
func FuzzStrictLine(f *testing.F) {
	for _, l := range historyLines(f) {
		f.Add(l)
	}
	f.Add([]byte(`{"id":"a","run":{"schema":1,"cell":"tp","guests":[{"name":"h","points":[{"repeats":[{"metrics":{"x":1}}]}]}]}}`))
	f.Fuzz(func(t *testing.T, line []byte) { checkStrictLine(t, line) })
}

// Summaries gives History's runs as Compact leaves them.
func TestSummariesAreHistoryCompacted(t *testing.T) {
	s := Store{Dir: t.TempDir(), KeepRaw: 2}
	for i := range 4 {
		if err := s.Record(runAt(0, string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	full, err := s.History("throughput")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.Summaries("throughput")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 4 || len(full) != 4 {
		t.Fatalf("%d summaries, %d runs; want 4 each", len(sums), len(full))
	}
	for i := range full {
		want := Entry{ID: full[i].ID, Compacted: full[i].Compacted, Run: summariesOnly(full[i].Run)}
		if !reflect.DeepEqual(sums[i], want) {
			t.Errorf("entry %d:\n%#v\nwant\n%#v", i, sums[i].Run, want.Run)
		}
	}
}

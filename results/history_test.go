package results

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// runAt is sampleFile started d later, on machine.
func runAt(d time.Duration, machine string) *File {
	f := sampleFile()
	f.Started, f.Finished = f.Started.Add(d), f.Finished.Add(d)
	f.Env.Machine = machine
	f.Summarize()
	return f
}

// Every good run is appended; CELL.json stays the newest; the oldest runs
// past KeepRaw lose their repeats but keep their summaries.
func TestRecordKeepsEveryRun(t *testing.T) {
	s := Store{Dir: t.TempDir(), KeepRaw: 2}
	for i := range 4 {
		if err := s.Record(runAt(time.Duration(i)*time.Hour, "m1")); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := s.History("throughput")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	for i, e := range entries {
		wantStart := t0.Add(time.Duration(i) * time.Hour)
		if !e.Run.Started.Equal(wantStart) {
			t.Errorf("entry %d started %v, want %v", i, e.Run.Started, wantStart)
		}
		if e.ID != RunID(e.Run) {
			t.Errorf("entry %d: id %s, want %s", i, e.ID, RunID(e.Run))
		}
		compacted := i < 2
		reps := len(e.Run.Guests[0].Points[0].Repeats)
		if e.Compacted != compacted || (reps == 0) != compacted {
			t.Errorf("entry %d: compacted %v with %d repeats, want compacted %v", i, e.Compacted, reps, compacted)
		}
		if e.Run.Guests[0].Points[0].Summary[OpsPerSec].N != 3 {
			t.Errorf("entry %d lost its summary: %+v", i, e.Run.Guests[0].Points[0].Summary)
		}
	}
	cur, err := s.Load("throughput")
	if err != nil || !cur.Started.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("CELL.json is not the newest run: %v, %v", cur, err)
	}
	data := readFile(t, s.HistoryPath("throughput"))
	if n := bytes.Count(data, []byte("\n")); n != 4 {
		t.Errorf("%d lines, want one per run:\n%s", n, data)
	}
}

// A results folder from before the history: its CELL.json is the one
// run, and the first recorded run keeps it.
func TestHistoryOfAnOldFolder(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Save(runAt(0, "")); err != nil {
		t.Fatal(err)
	}
	entries, err := s.History("throughput")
	if err != nil || len(entries) != 1 {
		t.Fatalf("history of an old folder: %d entries, %v; want 1", len(entries), err)
	}
	if _, err := os.Stat(s.HistoryPath("throughput")); err == nil {
		t.Error("reading the history wrote a file")
	}
	if err := s.Record(runAt(time.Hour, "m1")); err != nil {
		t.Fatal(err)
	}
	entries, err = s.History("throughput")
	if err != nil || len(entries) != 2 {
		t.Fatalf("after a run: %d entries, %v; want the old run and the new", len(entries), err)
	}
	if entries[0].Run.Env.Machine != "" || entries[1].Run.Env.Machine != "m1" {
		t.Errorf("order: %q then %q", entries[0].Run.Env.Machine, entries[1].Run.Env.Machine)
	}
}

// A failed run goes to CELL.failed.json and leaves the history as it was;
// a corrupt history is never overwritten, and the good result is not
// replaced either.
func TestHistoryUntouched(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Record(runAt(0, "m1")); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, s.HistoryPath("throughput"))
	failed := runAt(time.Hour, "m1")
	failed.Failure = "it broke"
	if err := s.SaveFailure(failed); err != nil {
		t.Fatal(err)
	}
	if after := readFile(t, s.HistoryPath("throughput")); !bytes.Equal(before, after) {
		t.Errorf("a failure changed the history:\n%s", after)
	}

	corrupt := append(before, []byte("{not json\n")...)
	os.WriteFile(s.HistoryPath("throughput"), corrupt, 0o644)
	good := readFile(t, s.Path("throughput"))
	err := s.Record(runAt(2*time.Hour, "m1"))
	if err == nil || !strings.Contains(err.Error(), "throughput.history.jsonl:2:") {
		t.Errorf("error %v, want one naming line 2 of the history", err)
	}
	if got := readFile(t, s.HistoryPath("throughput")); !bytes.Equal(got, corrupt) {
		t.Error("the corrupt history was rewritten")
	}
	if got := readFile(t, s.Path("throughput")); !bytes.Equal(got, good) {
		t.Error("CELL.json was replaced although its history could not be kept")
	}
}

// Merging adds what is new, by id, in the order runs started, and the
// same runs merged in any order give the same bytes.
func TestMergeHistory(t *testing.T) {
	a := []Entry{{Run: runAt(0, "m1")}, {Run: runAt(2*time.Hour, "m1")}}
	b := []Entry{{Run: runAt(time.Hour, "m2")}, {Run: runAt(0, "m1")}}
	for _, list := range [][]Entry{a, b} {
		for i := range list {
			list[i].ID = RunID(list[i].Run)
		}
	}
	write := func(first, second []Entry) ([]byte, int) {
		s := Store{Dir: t.TempDir()}
		n1, err := s.Merge("throughput", first)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := s.Merge("throughput", second)
		if err != nil {
			t.Fatal(err)
		}
		return readFile(t, s.HistoryPath("throughput")), n1 + n2
	}
	ab, nab := write(a, b)
	ba, nba := write(b, a)
	if nab != 3 || nba != 3 {
		t.Errorf("added %d and %d runs, want 3 each time", nab, nba)
	}
	if !bytes.Equal(ab, ba) {
		t.Errorf("merge order changed the file:\n%s\n---\n%s", ab, ba)
	}
	entries, err := DecodeHistory("h", ab)
	if err != nil {
		t.Fatal(err)
	}
	var machines []string
	for _, e := range entries {
		machines = append(machines, e.Run.Env.Machine)
	}
	if got := strings.Join(machines, " "); got != "m1 m2 m1" {
		t.Errorf("machines in order %q, want m1 m2 m1", got)
	}
}

// Histories are read into pooled buffers: what one read decoded must not
// change when the next read reuses its buffer.
func TestHistoriesShareNoBytes(t *testing.T) {
	a, b := Store{Dir: t.TempDir()}, Store{Dir: t.TempDir()}
	for i := range 3 {
		if err := a.Record(runAt(time.Duration(i)*time.Hour, "machine-a")); err != nil {
			t.Fatal(err)
		}
		if err := b.Record(runAt(time.Duration(i)*time.Hour, "machine-b")); err != nil {
			t.Fatal(err)
		}
	}
	for _, read := range []func(Store) ([]Entry, error){
		func(s Store) ([]Entry, error) { return s.History("throughput") },
		func(s Store) ([]Entry, error) { return s.Summaries("throughput") },
	} {
		first, err := read(a)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(first))
		for i, e := range first {
			ids[i] = e.ID + " " + e.Run.Env.Machine + " " + e.Run.Guests[0].Name
		}
		for range 3 {
			if _, err := read(b); err != nil {
				t.Fatal(err)
			}
		}
		for i, e := range first {
			if got := e.ID + " " + e.Run.Env.Machine + " " + e.Run.Guests[0].Name; got != ids[i] {
				t.Errorf("entry %d changed to %q after other histories were read, was %q", i, got, ids[i])
			}
		}
	}
}

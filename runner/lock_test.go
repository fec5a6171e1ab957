package runner

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// CleanStaging removes the staging folders of a results folder only when
// no run holds its lock, keeps everything else, and does not even take the
// lock of a folder that has none.
func TestCleanStaging(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{".run-tp-1", ".run-lat-2/logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"tp.json", ".run-file", "logs/tp.host.log"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	unlock, err := lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := CleanStaging(dir)
	if !IsLocked(err) || len(removed) > 0 {
		t.Fatalf("with the lock held: removed %v, err %v; want nothing and a LockedError", removed, err)
	}
	unlock()

	removed, err = CleanStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, ".run-lat-2"), filepath.Join(dir, ".run-tp-1")}
	if slices.Sort(removed); !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, f := range []string{"tp.json", ".run-file", "logs/tp.host.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	clean := t.TempDir()
	if removed, err := CleanStaging(clean); err != nil || len(removed) > 0 {
		t.Fatalf("a clean folder: %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(clean, ".lock")); !os.IsNotExist(err) {
		t.Errorf("a folder with nothing to clean was locked: %v", err)
	}
}

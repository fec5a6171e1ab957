// Package testutil holds what the tests of several packages share: a
// buffer that goroutines may write to while a test reads it, a copy of a
// folder and a reading of its files, the error check of table tests, a
// call bounded in time, and a server process in a process group of its
// own with a free port to serve on. Its sub-packages check golden files
// (golden, with the one -update flag), start real services (redistest,
// servertest, libvirttest), play a hostile RESP server (resptest), find
// leftover processes (proctest), check generated HTML (htmlcheck) and
// write notebooks into temporary folders (nbtest). Nothing here is part of
// the shipped program.
package testutil

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers,
// for the output of a process or server a test watches while it runs. It
// stops growing at Limit bytes (4 MiB when zero), so a runaway guest
// cannot fill a test's memory.
type SyncBuffer struct {
	Limit int

	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.Limit
	if limit == 0 {
		limit = 4 << 20
	}
	if s.b.Len() > limit {
		return len(p), nil
	}
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what was written so far.
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// CopyDir copies the folder src to dst, regular files and folders (links
// and other special files are left out), so that a test may change the
// copy freely.
func CopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ReadFiles reads every file below dir, keyed by its path relative to dir,
// but those named one of skip (a results folder's .lock, say).
func ReadFiles(t testing.TB, dir string, skip ...string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || slices.Contains(skip, d.Name()) {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ExpectErr checks err against want, a fragment of the error a test case
// expects, or "" for none; it reports whether the case expected an error,
// so that the caller checks nothing more.
func ExpectErr(t testing.TB, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

// Within calls f and returns its error; the test fails at once when f
// has not returned after d (a read blocked on a FIFO, say), naming what
// f does.
func Within(t testing.TB, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s still blocked after %s", what, d)
		return nil
	}
}

package testutil

import (
	"os"
	"syscall"
	"testing"
)

// The files below are what a hostile or careless user can name like a
// notebook or a results file, and what every reader of such a file must
// refuse at once instead of blocking or reading without end.

// Fifo makes a named pipe at path that nobody writes to.
func Fifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// DevZero makes path a link to /dev/zero.
func DevZero(t testing.TB, path string) {
	t.Helper()
	if err := os.Symlink("/dev/zero", path); err != nil {
		t.Fatal(err)
	}
}

// Sparse makes path a sparse file of size bytes, which takes no disk.
func Sparse(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

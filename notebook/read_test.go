package notebook

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

// specialFiles makes, in a fresh folder, what a hostile or careless user can
// name like a notebook: a named pipe nobody writes to, a link to /dev/zero
// and a sparse file of size bytes.
func specialFiles(t *testing.T, size int64) (fifo, zero, big string) {
	t.Helper()
	dir := t.TempDir()
	fifo, zero, big = filepath.Join(dir, "pipe.toml"), filepath.Join(dir, "z.toml"), filepath.Join(dir, "big.toml")
	testutil.Fifo(t, fifo)
	testutil.DevZero(t, zero)
	testutil.Sparse(t, big, size)
	return fifo, zero, big
}

// ParseFile reads only regular files of at most MaxFileSize bytes and never
// blocks: each special file is one problem naming the file and what it is.
func TestParseFileSpecialFiles(t *testing.T) {
	fifo, zero, big := specialFiles(t, MaxFileSize+1)
	tests := []struct{ path, want string }{
		{fifo, fifo + ": a named pipe, not a regular file: benchbook reads only regular files"},
		{zero, zero + ": a link to /dev/zero, a character device, not a regular file"},
		{big, big + ": 16777217 bytes, too large: a notebook may be at most 16 MiB (16777216 bytes)"},
		{filepath.Join(filepath.Dir(big), "missing.toml"), "missing.toml: cannot read: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			err := testutil.Within(t, 10*time.Second, "ParseFile("+tt.path+")", func() error {
				_, err := ParseFile(tt.path)
				return err
			})
			list := Errors(err)
			if len(list) != 1 || list[0].File != tt.path || !strings.Contains(list[0].Error(), tt.want) {
				t.Errorf("ParseFile error %v\nwant one problem containing %q", err, tt.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(filepath.Dir(big), "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want one wrapping fs.ErrNotExist", err)
	}
}

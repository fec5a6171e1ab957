package results

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

// Load reads only a regular results file of at most MaxFileSize bytes and
// never blocks: a named pipe, a link to /dev/zero and a 300 MiB file are
// errors naming the file, at once.
func TestLoadSpecialFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(t testing.TB, path string)
		want string
	}{
		{"named pipe", testutil.Fifo, "a named pipe, not a regular file: benchbook reads only regular files"},
		{"link to /dev/zero", testutil.DevZero, "a link to /dev/zero, a character device, not a regular file"},
		{"300 MiB", func(t testing.TB, p string) { testutil.Sparse(t, p, 300<<20) }, "300 MiB, too large: a results file may be at most 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			tt.make(t, s.Path("tp"))
			err := testutil.Within(t, 10*time.Second, "Load", func() error {
				_, err := s.Load("tp")
				return err
			})
			want := filepath.Join(s.Dir, "tp.json") + ": " + tt.want
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Load error %v\nwant one containing %q", err, want)
			}
		})
	}
}

package results

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		make func(path string) error
		want string
	}{
		{"named pipe", func(p string) error { return syscall.Mkfifo(p, 0o644) },
			"a named pipe, not a regular file: benchbook reads only regular files"},
		{"link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) },
			"a link to /dev/zero, a character device, not a regular file"},
		{"300 MiB", func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(p, 300<<20) // sparse: no disk used
		}, "300 MiB, too large: a results file may be at most 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			if err := tt.make(s.Path("tp")); err != nil {
				t.Fatal(err)
			}
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

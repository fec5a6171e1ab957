package inputfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "pipe.toml")
	testutil.Fifo(t, fifo)
	zero := filepath.Join(dir, "z.toml")
	testutil.DevZero(t, zero)
	sparse := filepath.Join(dir, "big.json")
	testutil.Sparse(t, sparse, 300<<20)
	good := write("good.toml", "title = \"t\"\n")
	link := filepath.Join(dir, "link.toml")
	if err := os.Symlink("good.toml", link); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path string
		max        int64
		want       string // "" for success
		is         error
	}{
		{"regular file", good, 1 << 10, "", nil},
		{"symlink to a regular file", link, 1 << 10, "", nil},
		{"at the limit", good, 12, "", nil},
		{"one byte over", good, 11, "read " + good + ": 12 B, too large: a notebook may be at most 11 B", ErrTooLarge},
		{"named pipe", fifo, 1 << 10, "read " + fifo + ": a named pipe, not a regular file: benchbook reads only regular files", ErrNotRegular},
		{"link to /dev/zero", zero, 1 << 10, "read " + zero + ": a link to /dev/zero, a character device, not a regular file", ErrNotRegular},
		{"folder", dir, 1 << 10, "a folder, not a regular file", ErrNotRegular},
		{"300 MiB", sparse, 64 << 20, "300 MiB, too large: a notebook may be at most 64 MiB", ErrTooLarge},
		{"missing", filepath.Join(dir, "nope"), 1 << 10, "no such file", os.ErrNotExist},
	}
	// CopyLimited refuses what Read refuses, with the same errors, and
	// gives the same bytes.
	readers := map[string]func(path string, max int64) ([]byte, error){
		"Read": func(path string, max int64) ([]byte, error) { return Read(path, max, "a notebook") },
		"CopyLimited": func(path string, max int64) ([]byte, error) {
			var b bytes.Buffer
			err := CopyLimited(&b, path, max, "a notebook")
			return b.Bytes(), err
		},
	}
	for _, tt := range tests {
		for name, read := range readers {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				var got []byte
				err := testutil.Within(t, 10*time.Second, name+"("+tt.path+")", func() error {
					var err error
					got, err = read(tt.path, tt.max)
					return err
				})
				if tt.want == "" {
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if want, _ := os.ReadFile(tt.path); !bytes.Equal(got, want) {
						t.Fatalf("%s gave %q, want %q", name, got, want)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
					t.Errorf("%s error %v\nwant one containing %q and wrapping %v", name, err, tt.want, tt.is)
				}
			})
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		900: "900 B", 16 << 20: "16 MiB", 312<<20 + 512<<10: "312.5 MiB", 1536: "1.5 KiB", 3 << 30: "3 GiB",
	} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

package results

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// A results file a newer benchbook wrote is refused on reading, naming both
// schemas, and never overwritten or removed by this one, good or failed.
func TestNewerSchema(t *testing.T) {
	newer := func(failure string) []byte {
		return []byte(`{"schema": 3, "cell": "tp", "failure": "` + failure + `", "guests": {"new": "shape"}}` + "\n")
	}
	tests := []struct {
		name  string
		file  func(Store, string) string // which file is the newer one
		data  []byte
		write func(Store) error
	}{
		{"save over a newer result", Store.Path, newer(""), func(s Store) error { return s.Save(sampleFile()) }},
		{"save removing a newer failure", Store.FailurePath, newer("boom"), func(s Store) error { return s.Save(sampleFile()) }},
		{"failure over a newer failure", Store.FailurePath, newer("boom"), func(s Store) error {
			f := sampleFile()
			f.Failure = "it broke"
			return s.SaveFailure(f)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			path := tt.file(s, sampleFile().Cell)
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			err := tt.write(s)
			want := path + ": written by a newer benchbook (schema 3; this one reads up to 1): upgrade benchbook"
			if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v\nwant one wrapping ErrNewerSchema and containing %q", err, want)
			}
			if got := readFile(t, path); !bytes.Equal(got, tt.data) {
				t.Errorf("the newer file was changed:\n%s", got)
			}
		})
	}

	t.Run("load", func(t *testing.T) {
		s := Store{Dir: t.TempDir()}
		for _, path := range []string{s.Path("tp"), s.FailurePath("tp")} {
			if err := os.WriteFile(path, newer("boom"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, load := range []func(string) (*File, error){s.Load, s.LoadFailure} {
			_, err := load("tp")
			if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "tp.") ||
				!strings.Contains(err.Error(), "written by a newer benchbook (schema 3; this one reads up to 1): upgrade benchbook") {
				t.Errorf("load: %v, want the newer schema named", err)
			}
		}
	})
}

package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestResultsFolders(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{
		"a.results/.run-tp-1",
		"notebooks/b.results/logs",
		"notebooks/deep/c.results",
		"notebooks/deep/c.results/inner.results", // inside a results folder: not searched
		".git/x.results",                         // hidden: not searched
		"plain",
	} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a.toml", "notebooks/b.toml", "notebooks/none.toml"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := func(ps ...string) []string {
		for i, p := range ps {
			ps[i] = filepath.Join(root, p)
		}
		return ps
	}
	tests := []struct {
		name  string
		paths []string
		want  []string
	}{
		{"a folder, recursively", in("."), in("a.results", "notebooks/b.results", "notebooks/deep/c.results")},
		{"notebooks", in("a.toml", "notebooks/none.toml", "notebooks/b.toml"), in("a.results", "notebooks/b.results")},
		{"a results folder", in("notebooks/b.results"), in("notebooks/b.results")},
		{"each once", in("a.toml", "a.results", "."), in("a.results", "notebooks/b.results", "notebooks/deep/c.results")},
		{"nothing there", in("plain"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResultsFolders(tt.paths)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i] = filepath.Clean(got[i])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ResultsFolders(%v)\n got %v\nwant %v", tt.paths, got, tt.want)
			}
		})
	}
	if _, err := ResultsFolders(in("missing")); err == nil {
		t.Error("a missing path gave no error")
	}
	if _, err := ResultsFolders(in("notebooks/b.results/../../a.toml/x")); err == nil {
		t.Error("a bad path gave no error")
	}
}

func TestResultsFoldersDefaultsToHere(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "n", "x.results"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	got, err := ResultsFolders(nil)
	if err != nil || !slices.Equal(got, []string{filepath.Join("n", "x.results")}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

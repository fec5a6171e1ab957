// Package nbtest writes notebooks for tests: a TOML source into a folder,
// with any files it refers to, parsed and required to be valid. It is the
// one copy of what the runner, verify and render tests each wrote for
// themselves.
package nbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// Write writes src as dir/nb.toml and parses it; the notebook must be
// valid.
func Write(t testing.TB, dir, src string) *notebook.Notebook {
	t.Helper()
	path := filepath.Join(dir, "nb.toml")
	File(t, path, src)
	return ParseFile(t, path)
}

// Parse writes src as nb.toml in a fresh folder, with the given extra
// files (slash-separated names relative to that folder), and parses it;
// the notebook must be valid.
func Parse(t testing.TB, src string, files map[string]string) *notebook.Notebook {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		File(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	return Write(t, dir, src)
}

// ParseFile parses the notebook at path, which must be valid.
func ParseFile(t testing.TB, path string) *notebook.Notebook {
	t.Helper()
	nb, err := notebook.ParseFile(path)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return nb
}

// File writes content at path, making its folder first.
func File(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// OneBench returns the smallest notebook that measures something: titled
// title, one process guest host started by command (a TOML array), the
// builtin load l and one bench cell tp that runs it. Tests append the
// cells they need.
func OneBench(title, command string) string {
	return fmt.Sprintf(`title = %q
[guests.host]
kind = "process"
command = %s
[loads.l]
tool = "builtin"
[[cells]]
kind = "bench"
id = "tp"
guests = ["host"]
load = "l"
`, title, command)
}

// Redis is the command of a redis-server guest on the port benchbook
// gives it, for OneBench.
const Redis = `["redis-server", "--port", "{port}"]`

package notebook

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/golden"
)

// The committed schema is what the declarations give today:
// go test ./notebook -run TestJSONSchema -update rewrites it.
func TestJSONSchema(t *testing.T) {
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	golden.Check(t, filepath.Join("..", "docs", "notebook.schema.json"), data)
}

// taplo, the TOML language server editors use, accepts every notebook of
// the project against the schema and flags a misspelt key in a load, a
// guest, a cell and at the top level, naming it. make setup installs it
// (npm @taplo/cli).
func TestTaploValidatesNotebooks(t *testing.T) {
	taplo, err := exec.LookPath("taplo")
	if err != nil {
		t.Skip("taplo is not installed (make setup installs it: npm install -g @taplo/cli)")
	}
	schema, err := filepath.Abs(filepath.Join("..", "docs", "notebook.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	// taplo (a WebAssembly build under Node) takes seconds to start:
	// one run for the good notebooks, one for the misspelt ones.
	lint := func(paths ...string) (string, error) {
		args := append([]string{"lint", "--no-auto-config", "--schema", "file://" + schema}, paths...)
		cmd := exec.Command(taplo, args...)
		cmd.Env = append(os.Environ(), "RUST_LOG=error", "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	examples, _ := filepath.Glob(filepath.Join("..", "notebooks", "*.toml"))
	more, _ := filepath.Glob(filepath.Join("..", "cmd", "benchbook", "testdata", "examples", "*.toml"))
	examples = append(examples, more...)
	if len(examples) == 0 {
		t.Fatal("no example notebooks found")
	}
	if out, err := lint(examples...); err != nil {
		t.Errorf("taplo refuses the example notebooks %v: %v\n%s", examples, err, out)
	}
	src, err := os.ReadFile(filepath.Join("..", "notebooks", "unikernels-redis.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ from, to string }{
		{"\nsummary", "\nsummry"},
		{"\ntool        = \"builtin\"", "\ntoool = \"builtin\""},
		{"\ncommand", "\ncomand"},
		{"\nrepeat = 5", "\nrepaet = 5"},
	}
	dir := t.TempDir()
	var bad []string
	for i, tc := range cases {
		if !strings.Contains(string(src), tc.from) {
			t.Fatalf("the notebook has no %q to misspell", tc.from)
		}
		path := filepath.Join(dir, fmt.Sprintf("bad%d.toml", i))
		os.WriteFile(path, []byte(strings.Replace(string(src), tc.from, tc.to, 1)), 0o644)
		bad = append(bad, path)
	}
	out, err := lint(bad...)
	if err == nil {
		t.Fatalf("taplo accepted misspelt notebooks:\n%.600s", out)
	}
	for i, tc := range cases {
		name := strings.Fields(tc.to)[0]
		if !strings.Contains(out, "'"+name+"' was unexpected") {
			t.Errorf("taplo did not flag %q in %s:\n%.600s", name, bad[i], out)
		}
	}
}

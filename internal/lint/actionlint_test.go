package lint

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// actionlint is the GitHub Actions linter the example workflows must pass,
// run from its module at a fixed version through the Go module proxy.
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// runActionlint lints one workflow file and returns its output and error.
func runActionlint(t *testing.T, file string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", actionlint, "-no-color", file)
	cmd.Dir = t.TempDir() // outside the module: go run pkg@version needs no go.mod
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "dial tcp") {
		t.Skipf("the Go module proxy is unreachable, so %s cannot be fetched: %s", actionlint, out)
	}
	return string(out), err
}

// The example CI matrix workflow passes actionlint; a broken copy of it
// (a job without runs-on, an unknown matrix property) does not.
func TestExampleWorkflowsPassActionlint(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches and builds actionlint (-short)")
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example workflows under docs/examples: %v", err)
	}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		if out, err := runActionlint(t, abs); err != nil {
			t.Errorf("actionlint %s: %v\n%s", f, err, out)
		}
	}

	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "runs-on: ${{ matrix.runner }}", "runs-on: ${{ matrix.runnr }}", 1)
	if broken == string(data) {
		t.Fatal("the example has no runs-on: ${{ matrix.runner }} to break")
	}
	bad := filepath.Join(t.TempDir(), "broken.yml")
	os.WriteFile(bad, []byte(broken), 0o644)
	out, err := runActionlint(t, bad)
	if err == nil || !strings.Contains(out, "runnr") {
		t.Errorf("actionlint passed a workflow naming an unknown matrix property (err %v):\n%s", err, out)
	}
}

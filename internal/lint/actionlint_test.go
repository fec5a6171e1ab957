package lint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// lintWorkflow lints one workflow file with actionlint (the module's
// version in go.mod, v1.7.12) as its command does by default: its own
// checks, and shellcheck over the run: scripts when it is installed. It
// returns the errors, printed as the command prints them.
func lintWorkflow(t *testing.T, name string, content []byte) (string, int) {
	t.Helper()
	var out bytes.Buffer
	opts := &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever, WorkingDir: t.TempDir()}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
	} else {
		t.Logf("shellcheck is not installed (Debian package shellcheck; make setup installs it): the run: scripts of %s are not checked by it", name)
	}
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(name, content, nil)
	if err != nil {
		t.Fatalf("actionlint %s: %v", name, err)
	}
	return out.String(), len(errs)
}

// The example workflows pass actionlint; a broken copy of the CI matrix
// (a runs-on naming an unknown matrix property) does not.
func TestExampleWorkflowsPassActionlint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example workflows under docs/examples: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if out, n := lintWorkflow(t, f, data); n > 0 {
			t.Errorf("actionlint %s: %d errors:\n%s", f, n, out)
		}
	}

	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "github-actions-matrix.yml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "runs-on: ${{ matrix.runner }}", "runs-on: ${{ matrix.runnr }}", 1)
	if broken == string(data) {
		t.Fatal("the example has no runs-on: ${{ matrix.runner }} to break")
	}
	if out, n := lintWorkflow(t, "broken.yml", []byte(broken)); n == 0 || !strings.Contains(out, "runnr") {
		t.Errorf("actionlint passed a workflow naming an unknown matrix property (%d errors):\n%s", n, out)
	}
}

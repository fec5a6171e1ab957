package main

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	// Tests that need a real process with real signals re-run this binary
	// as benchbook itself.
	if os.Getenv("BENCHBOOK_AS_MAIN") == "1" {
		main()
	}
	testscript.Main(m, map[string]func(){
		"benchbook": func() {
			err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
			os.Exit(exitCode(err, os.Stderr))
		},
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script: each is a
// txtar archive holding its notebooks inline and the commands to run.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Scripts may read the repository's own notebooks.
			env.Setenv("REPO", repoRoot(t))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			return false, nil
		},
	})
}

func repoRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepathDir(string(out))
}

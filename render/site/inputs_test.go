package site

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
)

// A folder of notebooks may hold what is not a regular file: a named pipe
// or a link to /dev/zero named like a notebook or like a results file. The
// build never blocks: it reports each notebook it cannot read, naming it,
// and the page of a cell whose results file is not a regular file says so.
func TestBuildSpecialFiles(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	nbtest.File(t, filepath.Join(dir, "good.toml"), nb("Good", "2020-01-01"))
	nbtest.File(t, filepath.Join(dir, "results.toml"), benchNotebook)
	testutil.Fifo(t, filepath.Join(dir, "pipe.toml"))
	testutil.DevZero(t, filepath.Join(dir, "z.toml"))
	if err := os.MkdirAll(filepath.Join(dir, "results.results"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.DevZero(t, filepath.Join(dir, "results.results", "tp.json"))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	var rep *Report
	var err error
	go func() {
		rep, err = Build(ctx, dir, Options{Out: out, Version: "test"})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("build still blocked after 30s")
	}
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	var msgs []string
	for _, f := range rep.Failed {
		msgs = append(msgs, f.Err.Error())
	}
	for _, want := range []string{
		filepath.Join(dir, "pipe.toml") + ": a named pipe, not a regular file",
		filepath.Join(dir, "z.toml") + ": a link to /dev/zero, a character device, not a regular file",
	} {
		if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("no failure containing %q in:\n%s", want, strings.Join(msgs, "\n"))
		}
	}
	for _, f := range rep.Failed {
		if strings.HasSuffix(f.Notebook, "pipe.toml") && len(notebook.Errors(f.Err)) != 1 {
			t.Errorf("the named pipe's failure is not a notebook error naming it: %v", f.Err)
		}
	}
	if rep.Built != 2 || len(rep.Failed) != 2 {
		t.Errorf("built %d, failed %d; want 2 and 2", rep.Built, len(rep.Failed))
	}
	page := read(t, filepath.Join(out, "results", "index.md"))
	if want := "tp.json: a link to /dev/zero, a character device, not a regular file"; !strings.Contains(page, want) {
		t.Errorf("the bench cell's page does not say %q", want)
	}
}

var benchNotebook = nbtest.OneBench("Results", nbtest.Redis)

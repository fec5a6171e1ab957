package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe named like a notebook made check and build wait forever for
// a writer, deaf to SIGTERM; a link to /dev/zero made them read until memory
// ran out. With the real binary: both end by themselves at once, exit 1 and
// name each file and what it is; the good notebook is still checked and
// built.
func TestSpecialFilesEndAtOnce(t *testing.T) {
	dir := t.TempDir()
	nbDir := filepath.Join(dir, "nb")
	if err := os.MkdirAll(nbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	good := "title = \"Good\"\n[[cells]]\nkind = \"markdown\"\ntext = \"Fine.\"\n"
	if err := os.WriteFile(filepath.Join(nbDir, "good.toml"), []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(nbDir, "pipe.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(nbDir, "z.toml")); err != nil {
		t.Fatal(err)
	}
	wantErr := []string{
		"nb/pipe.toml: a named pipe, not a regular file: benchbook reads only regular files",
		"nb/z.toml: a link to /dev/zero, a character device, not a regular file",
	}
	for _, args := range [][]string{{"check", "nb"}, {"build", "nb", "-o", "public"}} {
		t.Run(args[0], func(t *testing.T) {
			cmd := benchbookCmd(t, dir, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := runBounded(t, cmd, 15*time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			for _, want := range wantErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "public", "good", "index.html")); err != nil {
		t.Errorf("the good notebook was not built: %v", err)
	}
}

// runBounded runs cmd and fails the test if it has not ended within d, or
// if it then ignores SIGTERM for five seconds.
func runBounded(t *testing.T, cmd *exec.Cmd, d time.Duration) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		t.Fatalf("%v did not end within %v (it did on SIGTERM)", cmd.Args[1:], d)
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not end within %v and ignored SIGTERM", cmd.Args[1:], d)
	}
	return nil
}

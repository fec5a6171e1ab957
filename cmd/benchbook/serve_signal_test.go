package main

import (
	"bufio"
	"errors"
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startServe starts the real benchbook serving dir's notebooks, with its
// temporary folders in tmp, and returns once it serves; lines gets the
// rest of its output.
func startServe(t *testing.T, dir, tmp string) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	cmd := benchbookCmd(t, dir, "serve", ".", "--port", "0")
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var before []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended before serving:\n%s", strings.Join(before, "\n"))
			}
			before = append(before, l)
			if strings.HasPrefix(l, "built ") {
				return cmd, strings.Join(before, "\n"), lines
			}
		case <-deadline:
			t.Fatalf("serve did not build within 20s:\n%s", strings.Join(before, "\n"))
		}
	}
}

func serveTemps(tmp string) []string {
	m, _ := filepath.Glob(filepath.Join(tmp, "benchbook-serve-*"))
	return m
}

func waitServe(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not exit within 20s of the signal")
		return nil
	}
}

func serveFixture(t *testing.T) (dir, tmp string) {
	dir, tmp = t.TempDir(), t.TempDir()
	nb := "title = \"Preview\"\n[[cells]]\nkind = \"markdown\"\ntext = \"Prose.\"\n"
	if err := os.WriteFile(filepath.Join(dir, "nb.toml"), []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, tmp
}

// SIGINT, SIGTERM and SIGHUP (the terminal closed) end a preview with its
// temporary folder removed.
func TestServeSignalsRemoveTemp(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			dir, tmp := serveFixture(t)
			cmd, _, _ := startServe(t, dir, tmp)
			temps := serveTemps(tmp)
			if len(temps) != 1 || !strings.HasPrefix(filepath.Base(temps[0]), fmt.Sprintf("benchbook-serve-%d-", cmd.Process.Pid)) {
				t.Fatalf("temporary folders while serving: %v, want one named with pid %d", temps, cmd.Process.Pid)
			}
			cmd.Process.Signal(sig)
			if err := waitServe(t, cmd); err != nil {
				t.Errorf("exit after %v: %v, want status 0", sig, err)
			}
			if left := serveTemps(tmp); len(left) > 0 {
				t.Errorf("temporary folders left after %v: %v", sig, left)
			}
		})
	}
}

// A preview killed outright (SIGKILL) cannot clean up: the next one removes
// its folder, whose pid is dead, and says so; it leaves alone the folder of
// a preview still running.
func TestServeRemovesTempOfKilled(t *testing.T) {
	dir, tmp := serveFixture(t)
	killed, _, _ := startServe(t, dir, tmp)
	killed.Process.Kill()
	var ee *exec.ExitError
	if err := waitServe(t, killed); !errors.As(err, &ee) {
		t.Fatalf("killed serve: %v", err)
	}
	leftover := serveTemps(tmp)
	if len(leftover) != 1 {
		t.Fatalf("after SIGKILL: temporary folders %v, want the killed one's", leftover)
	}

	live, out, _ := startServe(t, dir, tmp)
	if want := "removed " + leftover[0] + ": left by a preview that was killed"; !strings.Contains(out, want) {
		t.Errorf("the next preview did not say %q:\n%s", want, out)
	}
	next, out, _ := startServe(t, dir, tmp)
	if strings.Contains(out, "left by a preview") {
		t.Errorf("a preview removed the folder of one still running:\n%s", out)
	}
	if got := serveTemps(tmp); len(got) != 2 {
		t.Errorf("temporary folders with two previews running: %v", got)
	}
	for _, c := range []*exec.Cmd{live, next} {
		c.Process.Signal(syscall.SIGINT)
		waitServe(t, c)
	}
	if left := serveTemps(tmp); len(left) > 0 {
		t.Errorf("temporary folders left: %v", left)
	}
}

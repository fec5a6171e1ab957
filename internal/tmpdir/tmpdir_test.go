package tmpdir

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOwner(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"benchbook-verify-1234-5678", 1234, true},
		{"benchbook-verify-4078363630", 0, false}, // an older benchbook's: no pid
		{"benchbook-verify-1234-", 0, false},
		{"benchbook-verify-x-5678", 0, false},
		{"benchbook-verify-0-5678", 0, false},
		{"benchbook-serve-1234-5678", 0, false},
		{"benchbook-verifyx-1234-5678", 0, false},
	}
	for _, tt := range tests {
		pid, ok := Owner(tt.name, "benchbook-verify")
		if pid != tt.pid || ok != tt.ok {
			t.Errorf("Owner(%q) = %d, %v; want %d, %v", tt.name, pid, ok, tt.pid, tt.ok)
		}
	}
}

// deadPid is the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// zombiePid is the pid of a process that has exited but is not reaped yet.
func zombiePid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	for i := 0; i < 200 && Alive(cmd.Process.Pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return cmd.Process.Pid
}

// Sweep removes the folders of dead owners (reaped or zombie) and keeps
// those of live ones, names it did not make, and plain files.
func TestSweep(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mine, err := New("benchbook-verify")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("benchbook-verify-%d-", os.Getpid()); filepath.Dir(mine) != tmp || !strings.HasPrefix(filepath.Base(mine), want) {
		t.Fatalf("New made %s, want %s/%s*", mine, tmp, want)
	}
	dead := filepath.Join(tmp, fmt.Sprintf("benchbook-verify-%d-1", deadPid(t)))
	zombie := filepath.Join(tmp, fmt.Sprintf("benchbook-verify-%d-2", zombiePid(t)))
	keep := []string{
		mine,
		filepath.Join(tmp, "benchbook-verify-4078363630"),                      // no pid in the name
		filepath.Join(tmp, fmt.Sprintf("benchbook-serve-%d-3", deadPid(t))),    // another prefix
		filepath.Join(tmp, fmt.Sprintf("benchbook-verify-%d-4", os.Getppid())), // a live process
	}
	for _, d := range append([]string{dead, zombie}, keep[1:]...) {
		if err := os.MkdirAll(filepath.Join(d, "results"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(tmp, fmt.Sprintf("benchbook-verify-%d-5", deadPid(t)))
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, file)

	removed, err := Sweep("benchbook-verify")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{dead, zombie}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range []string{dead, zombie} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there", p)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}

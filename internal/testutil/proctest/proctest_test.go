package proctest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// An orphan -- a process whose parent exited without stopping it -- is
// adopted by the test and found; so is a process carrying the marker.
func TestFindsOrphans(t *testing.T) {
	Adopt(t)
	before := Children()
	marker := t.TempDir()
	cmd := exec.Command("sh", "-c", "sleep 30 & exit 0")
	cmd.Env = []string{"MARK=" + marker, "PATH=/usr/bin:/bin"}
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	left := Left(before, marker)
	defer Kill(left)
	if len(left) != 1 || !strings.HasPrefix(left[0].Command, "sleep 30") {
		t.Fatalf("left = %v, want the orphaned sleep", left)
	}
	if !Alive(left[0].Pid) {
		t.Fatalf("pid %d not alive", left[0].Pid)
	}
	Kill(left)
	if again := Left(before, marker); len(again) != 0 {
		t.Fatalf("after kill: %v", again)
	}
}

func TestRedisPids(t *testing.T) {
	dir := t.TempDir()
	line := "4242:C 27 Nov 2026 06:24:08.483 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=4242, just started\n"
	if err := writeFile(dir+"/a.log", line); err != nil {
		t.Fatal(err)
	}
	if got := RedisPids(dir); len(got) != 1 || got[0] != 4242 {
		t.Fatalf("RedisPids = %v", got)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// ListChildren finds a child by the kernel's name for it, even once it is a
// zombie, and the later of two children started later.
func TestListChildren(t *testing.T) {
	first := exec.Command("sleep", "30")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Wait()
	defer first.Process.Kill()
	time.Sleep(20 * time.Millisecond) // a clock tick apart
	second := exec.Command("sh", "-c", "exit 0")
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // second exits, unwaited for: a zombie
	children, err := ListChildren()
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Child{}
	for _, c := range children {
		got[c.Pid] = c
	}
	a, b := got[first.Process.Pid], got[second.Process.Pid]
	if a.Comm != "sleep" || b.Comm != "sh" || a.Start == 0 || b.Start < a.Start {
		t.Errorf("children %+v, want sleep and then sh among them", children)
	}
	second.Wait()
}

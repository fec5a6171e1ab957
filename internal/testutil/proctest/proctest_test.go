package proctest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
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

package machine

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/results"
)

func TestID(t *testing.T) {
	e := results.Env{CPUModel: "Xeon", Cores: 2, MemoryBytes: 8 << 30, Arch: "x86_64"}
	a, b := idFrom("abc", e), idFrom("abc", e)
	if a != b || len(a) != 16 {
		t.Errorf("ids %q and %q: want the same 16 hex digits", a, b)
	}
	other := e
	other.Cores = 4
	if idFrom("abc", other) == a || idFrom("abd", e) == a {
		t.Error("another machine-id or other hardware gave the same id")
	}
	host, _ := os.Hostname()
	if host != "" && strings.Contains(ID(e), host) {
		t.Errorf("the id %q holds the host name", ID(e))
	}
	t.Setenv(IDEnv, "ubuntu-24.04")
	if got := ID(e); got != "ubuntu-24.04" {
		t.Errorf("with %s set: %q", IDEnv, got)
	}
	t.Setenv(IDEnv, "../x")
	if got := ID(e); got == "../x" {
		t.Error("an id that is no safe name was taken")
	}
}

// The notebook's commit, and "+dirty" once it differs from it; outside a
// repository, nothing.
func TestGitCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	nb := dir + "/x.toml"
	os.WriteFile(nb, []byte("title = 'x'\n"), 0o644)
	ctx := context.Background()
	if got := GitCommit(ctx, nb); got != "" {
		t.Errorf("outside a repository: %q", got)
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "x.toml"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"}} {
		if out, err := git(ctx, dir, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	clean := GitCommit(ctx, nb)
	if len(clean) != 40 {
		t.Fatalf("commit %q, want 40 hex digits", clean)
	}
	os.WriteFile(nb, []byte("title = 'y'\n"), 0o644)
	if got := GitCommit(ctx, nb); got != clean+"+dirty" {
		t.Errorf("after an edit: %q, want %q", got, clean+"+dirty")
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/results"
)

// Stored figures a thousand times what this machine measures have moved,
// whatever its noise (ten times was not enough: with the machine busy, the
// stored run measured a fifth of what verify's rerun did): verify says so per guest and metric, with p below
// alpha, exits 1, and leaves the stored files byte-identical.
func TestVerifyMoved(t *testing.T) {
	needRedisServer(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "nb.toml")
	src := strings.Replace(phase(redisCmd, "requests = 300", dir), "repeat = 1", "repeat = 4", 1)
	writeFile(t, path, src)
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"run", "-q", path}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	store := results.ForNotebook(path)
	f, err := store.Load("tp")
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Guests[0].Points[0].Repeats {
		m := f.Guests[0].Points[0].Repeats[i].Metrics
		m["ops_per_sec"] *= 1000
		m["latency_avg"] /= 1000
	}
	f.Summarize()
	if err := store.Save(f); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, store.Dir)

	stdout.Reset()
	stderr.Reset()
	err = run(ctx, []string{"verify", "-q", path}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 {
		t.Fatalf("exit status %d, want 1\n%s\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, re := range []string{
		`(?m)^tp +host +ops_per_sec +[0-9,]+ ops/s +[0-9,]+ ops/s +-[0-9]+\.[0-9]% +p=0\.029 +moved$`,
		`(?m)^tp +host +latency_avg +[0-9.,]+ µs +[0-9.,]+ µs +\+[0-9.]+% +p=0\.029 +moved$`,
		`(?m)^tp +host +latency_p99 +.* p=[01]\.[0-9]{3} +(holds|moved)`,
		`(?m)^verify: [23] of 3 figures moved`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
	if after := snapshotDir(t, store.Dir); !equalFiles(before, after) {
		t.Error("verify changed the stored results")
	}
}

func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	return files
}

func equalFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(b[k], v) {
			return false
		}
	}
	return true
}

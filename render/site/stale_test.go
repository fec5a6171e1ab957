package site

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// A build names the pages that show results which are not current, from
// the notebooks and their stored files (it never probes the machine), and
// still does when it leaves those pages as they were.
func TestBuildReportsStalePages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notebooks")
	seedNotebooks(t, dir)
	fresh := nbtest.OneBench("New", nbtest.Redis)
	nbtest.File(t, filepath.Join(dir, "new.toml"), fresh)
	out := t.TempDir()
	want := []StalePage{
		{filepath.Join(dir, "new.toml"), []string{"tp: never run"}},
		{filepath.Join(dir, "unikernels-redis.toml"), []string{"scaling: environment differs from that of the notebook's newest run (cell throughput, 2026-11-27 08:27 UTC): builtin 1 → 2"}},
	}
	for i, wantBuilt := range []int{3, 0} {
		rep := build(t, dir, out)
		if len(rep.Failed) > 0 {
			t.Fatalf("build %d: failed pages %v", i+1, rep.Failed)
		}
		if rep.Built != wantBuilt || !reflect.DeepEqual(rep.Stale, want) {
			t.Errorf("build %d: built %d, stale %q; want %d, %q", i+1, rep.Built, rep.Stale, wantBuilt, want)
		}
		line := rep.StaleLine()
		if !strings.HasPrefix(line, "2 pages show results that are not current: "+want[0].Notebook+" (tp: never run), ") || !strings.HasSuffix(line, "; benchbook status NOTEBOOK says more") {
			t.Errorf("build %d: line %q", i+1, line)
		}
	}
	if line := (&Report{}).StaleLine(); line != "" {
		t.Errorf("nothing stale: %q", line)
	}
}

package site

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// repoNotebooks is the repository's own notebooks folder.
func repoNotebooks(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "notebooks")
}

// seedNotebooks copies the repository's two seed notebooks (the unikernel
// experiment with its results, the CLSF notes) into dir: the site tests
// count and name their pages, which must not change each time an example
// notebook is added (cmd/benchbook's site-build.txtar builds them all).
func seedNotebooks(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := repoNotebooks(t)
	for _, name := range []string{"unikernels-redis.toml", "unikernels-redis.results", "clsf-2014-day2.toml", "clsf-2014-day2.results"} {
		if _, err := os.Stat(filepath.Join(src, name)); err == nil {
			testutil.CopyDir(t, filepath.Join(src, name), filepath.Join(dir, name))
		}
	}
}

// examples copies the repository's seed notebooks into a fresh folder. When
// the bench notebook has no stored results yet, it gets fixture results
// (made up figures, marked as such in their environment) so its pages have
// plots.
func examples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "notebooks")
	seedNotebooks(t, dir)
	withFixtureResults(t, filepath.Join(dir, "unikernels-redis.toml"))
	return dir
}

// withFixtureResults stores made-up results for every bench cell of a
// notebook that has none.
func withFixtureResults(t *testing.T, path string) {
	t.Helper()
	nb := nbtest.ParseFile(t, path)
	store := results.ForNotebook(path)
	for _, c := range nb.BenchCells() {
		if _, err := store.Load(c.ID); err == nil {
			continue
		}
		if err := store.Save(fixtureFile(nb, c)); err != nil {
			t.Fatal(err)
		}
	}
}

func fixtureFile(nb *notebook.Notebook, c *notebook.Cell) *results.File {
	started := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var points []map[string]any
	if len(c.Sweep) == 0 {
		points = []map[string]any{nil}
	} else {
		for _, v := range c.Sweep[0].Values {
			points = append(points, map[string]any{c.Sweep[0].Param: v})
		}
	}
	f := &results.File{
		Notebook: filepath.Base(nb.Path), Cell: c.ID, InputHash: nb.InputHash(c, nil),
		Started: started, Finished: started.Add(time.Minute),
		Env: results.Env{CPUModel: "test fixture", Cores: 2, MemoryBytes: 4 << 30, Kernel: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)",
			Arch: "x86_64", GoVersion: runtime.Version(), Benchbook: "test-fixture", Virtualization: "none"},
	}
	for gi, name := range c.Guests {
		kind, _ := nb.Guests[name].Values["kind"].(string)
		g := results.Guest{Name: name, Kind: kind, Status: results.StatusOK}
		for pi, params := range points {
			p := results.Point{Params: params}
			for r := range max(c.Repeat, 1) {
				ops := 60000/float64(gi+1) + float64(1000*pi) + float64(300*r)
				p.Repeats = append(p.Repeats, results.Repeat{
					Index: r, Started: started.Add(time.Duration(r) * time.Second), Seconds: 1,
					Metrics: map[string]float64{"ops_per_sec": ops, "latency_avg": 1e9 / ops / 200, "latency_p50": 1e9 / ops / 250,
						"latency_p99": 1e9 / ops / 50, "latency_p999": 1e9 / ops / 20, "kb_per_sec": ops / 20},
					Percentiles: []results.Percentile{{P: 50, LatencyUs: 1e8 / ops}, {P: 90, LatencyUs: 2e8 / ops}, {P: 99, LatencyUs: 5e8 / ops}, {P: 99.9, LatencyUs: 9e8 / ops}, {P: 100, LatencyUs: 2e9 / ops}},
				})
			}
			g.Points = append(g.Points, p)
		}
		f.Guests = append(f.Guests, g)
	}
	f.Summarize()
	return f
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nb is a small prose notebook.
func nb(title, date string, tags ...string) string {
	var b strings.Builder
	b.WriteString("title = " + quote(title) + "\n")
	if date != "" {
		b.WriteString("date = " + date + "\n")
	}
	if len(tags) > 0 {
		b.WriteString("tags = [")
		for i, tg := range tags {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quote(tg))
		}
		b.WriteString("]\n")
	}
	b.WriteString("summary = " + quote("About "+title) + "\n")
	b.WriteString("\n[[cells]]\nkind = \"markdown\"\ntext = \"\"\"\n## A heading\n\nSome prose about " + title + ".\n\"\"\"\n")
	return b.String()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// build runs a build and fails the test on anything but notebook failures.
func build(t *testing.T, dir, out string, opts ...func(*Options)) *Report {
	t.Helper()
	opt := Options{Out: out, Version: "test", Jobs: 2}
	for _, f := range opts {
		f(&opt)
	}
	rep, err := Build(context.Background(), dir, opt)
	if rep == nil {
		t.Fatalf("build: %v", err)
	}
	return rep
}

func counts(r *Report) [3]int { return [3]int{r.Built, r.Unchanged, r.Removed} }

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// siteTool finds a site generator the test builds with, which make setup
// installs from the Debian package of the same name; the test is skipped
// where it is not installed. ctx bounds the test's runs of it.
func siteTool(t *testing.T, name string, timeout time.Duration) (path string, ctx context.Context) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s; make setup installs it)", name, name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return path, ctx
}

// command runs a program to completion in its own process group, killed
// with the group when ctx ends, so a test leaves nothing behind.
func command(ctx context.Context, t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := testutil.GroupCommand(ctx, 5*time.Second, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

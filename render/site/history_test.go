package site

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/render"
	"github.com/benchbook/benchbook/results"
)

var historyNotebook = `title = "Trends"
date = 2026-12-01
` + nbtest.ProcessGuest("host", nbtest.Redis) + `[loads.quick]
tool = "builtin"
requests = 100
` + nbtest.BenchCell("tp", "quick", 3, "host")

// recordRuns stores runs of the notebook's cell tp, one per ops figure,
// an hour apart, on machine m.
func recordRuns(t *testing.T, path, machine string, start time.Time, ops ...float64) {
	t.Helper()
	nb := nbtest.ParseFile(t, path)
	store := results.ForNotebook(path)
	for i, v := range ops {
		f := fixtureFile(nb, nb.BenchCells()[0])
		d := time.Duration(i) * time.Hour
		f.Started, f.Finished = start.Add(d), start.Add(d+time.Minute)
		f.Env.Machine = machine
		for ri := range f.Guests[0].Points[0].Repeats {
			r := &f.Guests[0].Points[0].Repeats[ri]
			r.Metrics["ops_per_sec"] = v
			r.Metrics["latency_avg"] = 1e6 / v
		}
		f.Summarize()
		if err := store.Record(f); err != nil {
			t.Fatal(err)
		}
	}
}

// Five runs, the fourth and fifth at half the throughput: the history page
// draws the change point and links it to runs 3 and 4, the regressions
// feed is Atom with the one regression, and a rebuild of the same inputs
// changes nothing, byte for byte.
func TestHistoryPageAndRegressionsFeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notebooks")
	nbPath := filepath.Join(dir, "trends.toml")
	nbtest.File(t, nbPath, historyNotebook)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	recordRuns(t, nbPath, "m1", t0, 60000, 61000, 59500, 30000, 30500)
	out := filepath.Join(t.TempDir(), "public")
	build(t, dir, out)

	page := readString(t, filepath.Join(out, "trends", render.HistoryFile))
	entries, err := results.ForNotebook(nbPath).History("tp")
	if err != nil || len(entries) != 5 {
		t.Fatalf("history: %d runs, %v", len(entries), err)
	}
	for _, want := range []string{
		`class="change"`,
		`regression: host, 60,000 → 30,250 (-49.6 %) between <a href="#run-tp-` + entries[2].ID + `">run 3</a> and <a href="#run-tp-` + entries[3].ID + `">run 4</a>`,
		`<tr id="run-tp-` + entries[3].ID + `"><td>4</td>`,
		`<title>run 5: 30,500</title>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("history page lacks %q", want)
		}
	}

	// The report links the cell's section of its history page, which
	// links back.
	report := readString(t, filepath.Join(out, "trends", render.HTMLFile))
	if want := `<a class="bb-history" href="history.html#cell-tp">All 5 runs of this cell`; !strings.Contains(report, want) {
		t.Errorf("the report lacks %q", want)
	}
	if !strings.Contains(page, `<section id="cell-tp">`) || !strings.Contains(page, `<a href="index.html">`) {
		t.Error("the history page has no section cell-tp or no link back to its report")
	}

	data, err := os.ReadFile(filepath.Join(out, RegressionsFile))
	if err != nil {
		t.Fatal(err)
	}
	var feed atomDoc // the regressions feed is Atom
	if err := xml.Unmarshal(data, &feed); err != nil {
		t.Fatalf("the regressions feed is no Atom: %v\n%s", err, data)
	}
	if len(feed.Entries) != 2 { // ops_per_sec down, latency_avg up
		t.Fatalf("%d entries, want 2:\n%s", len(feed.Entries), data)
	}
	e := feed.Entries[0]
	if !strings.HasPrefix(e.Link.Href, "trends/history.html#tp-") || e.Updated != "2026-12-01T11:00:00Z" || !strings.Contains(feed.Entries[0].Title+feed.Entries[1].Title, "tp ops_per_sec -49.6 %") {
		t.Errorf("entry %+v", feed.Entries)
	}

	before := snapshot(t, out)
	rep := build(t, dir, out)
	if rep.Built != 0 || rep.SiteFiles != 0 {
		t.Errorf("a rebuild of the same inputs built %d pages and %d site files", rep.Built, rep.SiteFiles)
	}
	other := filepath.Join(t.TempDir(), "public")
	build(t, dir, other)
	if after, again := snapshot(t, out), snapshot(t, other); after != before || again != before {
		t.Error("the same inputs gave different bytes")
	}

	// A sixth run: the page is rebuilt, the feed keeps its regressions.
	recordRuns(t, nbPath, "m1", t0.Add(5*time.Hour), 31000)
	if rep := build(t, dir, out); rep.Built != 1 {
		t.Errorf("after a new run: built %d pages, want 1", rep.Built)
	}
	if page := readString(t, filepath.Join(out, "trends", render.HistoryFile)); !strings.Contains(page, "<title>run 6: 31,000</title>") {
		t.Error("the history page does not show the sixth run")
	}
}

// A notebook with one run has no history page and the site no
// regressions feed: sites without history are as before.
func TestNoHistoryPageForOneRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notebooks")
	nbPath := filepath.Join(dir, "trends.toml")
	nbtest.File(t, nbPath, historyNotebook)
	recordRuns(t, nbPath, "m1", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), 60000)
	out := filepath.Join(t.TempDir(), "public")
	build(t, dir, out)
	for _, p := range []string{filepath.Join(out, "trends", render.HistoryFile), filepath.Join(out, RegressionsFile)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists", p)
		}
	}
	if strings.Contains(readString(t, filepath.Join(out, "trends", render.HTMLFile)), "bb-history") {
		t.Error("the report links a history page that is not there")
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// snapshot is every file under dir but the manifest, with its bytes.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasPrefix(fi.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		b.WriteString(rel + "\n")
		b.Write(data)
		return nil
	})
	return b.String()
}

// While a results folder's stat key is the one the manifest recorded, a
// rebuild takes the folder's file list from the manifest instead of reading
// the folder; a file added to it changes the folder and is seen.
func TestResultsFolderListCache(t *testing.T) {
	defer func(s time.Duration) { statSlack = s }(statSlack)
	statSlack = -time.Hour // every file and folder counts as old enough
	dir := filepath.Join(t.TempDir(), "notebooks")
	nbPath := filepath.Join(dir, "trends.toml")
	nbtest.File(t, nbPath, historyNotebook)
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	recordRuns(t, nbPath, "m1", t0, 60000, 61000)
	out := filepath.Join(t.TempDir(), "public")
	build(t, dir, out)
	m := loadManifest(out, HTML)
	e := m.Pages["trends.toml"]
	if e.ResultsDir == "" || !slices.ContainsFunc(e.Inputs, func(in input) bool { return in.Name == "results/tp.history.jsonl" }) {
		t.Fatalf("manifest entry %+v: no folder key or no history input", e)
	}

	// Trusted: drop the history from the recorded inputs, keeping the
	// folder's key. The rebuild believes the list, so the page's inputs
	// change (it is rendered again) and still lack the history.
	e.Inputs = slices.DeleteFunc(e.Inputs, func(in input) bool { return in.Name == "results/tp.history.jsonl" })
	if err := m.save(out); err != nil {
		t.Fatal(err)
	}
	if rep := build(t, dir, out); rep.Built != 1 {
		t.Fatalf("rebuild: %s", rep.Summary())
	}
	if slices.ContainsFunc(loadManifest(out, HTML).Pages["trends.toml"].Inputs, func(in input) bool { return in.Name == "results/tp.history.jsonl" }) {
		t.Fatal("the results folder was read although its key matched")
	}

	// A file added to the folder changes its key: listed again.
	if err := os.WriteFile(filepath.Join(results.ForNotebook(nbPath).Dir, "other.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	build(t, dir, out)
	var names []string
	for _, in := range loadManifest(out, HTML).Pages["trends.toml"].Inputs {
		names = append(names, in.Name)
	}
	if !slices.Contains(names, "results/tp.history.jsonl") || !slices.Contains(names, "results/other.json") {
		t.Fatalf("inputs after a file was added: %q", names)
	}
}

// The history's summaries file (CELL.history.summaries, which benchbook
// run writes) is a cache of the history: the site is the same byte for
// byte with it, with it corrupt and without it, it is no input of the
// page, and removing it rebuilds nothing.
func TestHistorySummariesChangeNoByte(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notebooks")
	nbPath := filepath.Join(dir, "trends.toml")
	nbtest.File(t, nbPath, historyNotebook)
	recordRuns(t, nbPath, "m1", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), 60000, 61000, 59500, 30000, 30500)
	sums := filepath.Join(results.ForNotebook(nbPath).Dir, "tp.history.summaries")
	data, err := os.ReadFile(sums)
	if err != nil {
		t.Fatalf("benchbook run wrote no summaries file: %v", err)
	}
	out := filepath.Join(t.TempDir(), "public")
	build(t, dir, out)
	want := snapshot(t, out)
	if !strings.Contains(want, "regression: host") {
		t.Fatal("no change point on the history page")
	}
	for _, in := range loadManifest(out, HTML).Pages["trends.toml"].Inputs {
		if strings.Contains(in.Name, "summaries") {
			t.Errorf("the summaries file is an input: %+v", in)
		}
	}

	corrupt := bytes.Clone(data)
	corrupt[len(corrupt)/2] ^= 0xff
	for _, c := range []struct {
		name   string
		change func() error
	}{
		{"corrupt", func() error { return os.WriteFile(sums, corrupt, 0o644) }},
		{"cut", func() error { return os.WriteFile(sums, data[:len(data)/2], 0o644) }},
		{"removed", func() error { return os.Remove(sums) }},
	} {
		if err := c.change(); err != nil {
			t.Fatal(err)
		}
		cold := filepath.Join(t.TempDir(), "public")
		build(t, dir, cold)
		if snapshot(t, cold) != want {
			t.Errorf("summaries file %s: the site differs", c.name)
		}
	}
	if rep := build(t, dir, out); rep.Built != 0 || rep.SiteFiles != 0 {
		t.Errorf("without the summaries file, a rebuild built %d pages and %d site files", rep.Built, rep.SiteFiles)
	}
}

// TestPrestat: the keys prestat takes while the manifest is decoded are
// the ones examine would take itself, and examine then hashes the same
// inputs; a notebook prestat did not reach is stat'ed by examine.
func TestPrestat(t *testing.T) {
	defer func(s time.Duration) { statSlack = s }(statSlack)
	statSlack = -time.Hour
	dir := filepath.Join(t.TempDir(), "notebooks")
	for _, name := range []string{"a.toml", "b.toml"} {
		nbtest.File(t, filepath.Join(dir, name), historyNotebook)
	}
	recordRuns(t, filepath.Join(dir, "a.toml"), "m1", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), 60000, 61000)
	out := filepath.Join(t.TempDir(), "public")
	build(t, dir, out)

	b := &builder{dir: dir, opt: Options{Out: out, Version: "test"}, started: time.Now()}
	jobs, err := b.jobsOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded := make(chan *manifest, 1)
	go func() {
		time.Sleep(100 * time.Millisecond) // two notebooks take far less
		loaded <- loadManifest(out, HTML)
	}()
	if b.old = b.prestat(jobs, loaded); !b.old.loaded {
		t.Fatal("prestat did not return the manifest")
	}
	for _, j := range jobs {
		if !j.pre.notebook.done || !j.pre.results.done {
			t.Fatalf("%s: prestat did not stat it", j.source)
		}
		old := b.old.Pages[j.source]
		with, _, dirWith, err1 := b.inputsOf(j.path, old, j.pre)
		without, _, dirWithout, err2 := b.inputsOf(j.path, old, prestats{})
		if err1 != nil || err2 != nil || !slices.Equal(with, without) || dirWith != dirWithout {
			t.Errorf("%s: inputs with prestat %v %q %v, without %v %q %v", j.source, with, dirWith, err1, without, dirWithout, err2)
		}
	}
	if k := jobs[0].pre.results.key; k == "" {
		t.Error("a.toml's results folder has no key")
	}
	if err := jobs[1].pre.results.err; !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("b.toml has no results folder, prestat says %v", err)
	}

	// The manifest already there: nothing is stat'ed ahead.
	ready := make(chan *manifest, 1)
	ready <- loadManifest(out, HTML)
	jobs, _ = b.jobsOf(dir)
	b.prestat(jobs, ready)
	if jobs[0].pre.notebook.done {
		t.Error("prestat went on after the manifest was ready")
	}
}

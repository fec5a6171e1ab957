package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rhysd/actionlint"
	"github.com/rogpeppe/go-internal/txtar"
)

// The example CI matrix (docs/examples/github-actions-matrix.yml), run for
// real on two simulated machines: its run: scripts, as the workflow file
// writes them, for two entries of the matrix and then for the merge job,
// with the actions it uses played by copying folders. Only the steps that
// set up a runner are replaced (installing redis, which the notebook here
// does not need, and building benchbook, which this test binary is). The
// site the merge job uploads shows both machines side by side.
func TestExampleWorkflow(t *testing.T) {
	wf := parseWorkflow(t, filepath.Join(repoRoot(t), "docs", "examples", "github-actions-matrix.yml"))
	world := newActions(t, wf)
	run, merge := world.job("run"), world.job("merge")
	runners := world.matrix(run, "runner")
	if len(runners) < 2 {
		t.Fatalf("the matrix has %d runners, want at least 2", len(runners))
	}
	for _, r := range runners[:2] {
		world.runJob(run, map[string]string{"matrix.runner": r})
	}
	world.runJob(merge, nil)

	a, b := "gha-"+runners[0], "gha-"+runners[1]
	// Each runner calibrated in its own cache, and its run kept the floor.
	for _, r := range runners[:2] {
		if res := readFile(t, filepath.Join(world.artifacts, "results-"+r, "two.results", "t.json")); !strings.Contains(res, `"noise_floor"`) {
			t.Errorf("runner %s's results have no noise floor", r)
		}
	}
	page := readFile(t, filepath.Join(world.artifacts, "site", "two", "index.html"))
	for _, row := range []string{"host @ " + a, "host @ " + b, "sh @ " + a, "sh @ " + b} {
		if n := strings.Count(page, `<th scope="row">`+row); n != 1 {
			t.Errorf("the site's page has %d table rows %q, want 1", n, row)
		}
	}
	for _, line := range strings.Split(page, "\n") {
		if strings.Contains(line, `<th scope="row">`) {
			t.Logf("site: %s", line)
		}
	}
	hist := readFile(t, filepath.Join(world.artifacts, "site", "two", "history.html"))
	if !strings.Contains(hist, a) || !strings.Contains(hist, b) {
		t.Errorf("the history page names neither machine or only one (%s, %s)", a, b)
	}
	merged := readFile(t, filepath.Join(world.artifacts, "merged-results", "two.results", "t.history.jsonl"))
	if strings.Count(merged, "\n") != 2 || !strings.Contains(merged, a) || !strings.Contains(merged, b) {
		t.Errorf("the merged history holds %d runs, want one of each machine:\n%s", strings.Count(merged, "\n"), merged)
	}
}

// twoMachines is the notebook the workflow runs: report-machines.txtar's
// (a command, milliseconds a run, on two guests).
func twoMachines(t *testing.T) []byte {
	ar, err := txtar.ParseFile(filepath.Join("testdata", "script", "report-machines.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "a/nb.toml" {
			return f.Data
		}
	}
	t.Fatal("report-machines.txtar has no a/nb.toml")
	return nil
}

func parseWorkflow(t *testing.T, file string) *actionlint.Workflow {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wf, errs := actionlint.Parse(src)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", file, errs[0])
	}
	return wf
}

func readFile(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// actions plays GitHub Actions for one workflow: the repository a
// checkout gives, the artifacts jobs upload, and a benchbook to put where
// the workflow builds it.
type actions struct {
	t         *testing.T
	wf        *actionlint.Workflow
	repo      string // what actions/checkout checks out
	artifacts string // one folder per uploaded artifact
	env       map[string]string
}

func newActions(t *testing.T, wf *actionlint.Workflow) *actions {
	dir := t.TempDir()
	a := &actions{t: t, wf: wf, repo: filepath.Join(dir, "repo"), artifacts: filepath.Join(dir, "artifacts")}
	if err := os.MkdirAll(filepath.Join(a.repo, "notebooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.repo, "notebooks", "two.toml"), twoMachines(t), 0o644); err != nil {
		t.Fatal(err)
	}
	a.env = a.vars(wf.Env, nil)
	// The workflow says to set NOTEBOOK to one's own notebook.
	if _, ok := a.env["NOTEBOOK"]; !ok {
		t.Fatal("the workflow sets no NOTEBOOK")
	}
	a.env["NOTEBOOK"] = "notebooks/two.toml"
	return a
}

func (a *actions) job(id string) *actionlint.Job {
	j := a.wf.Jobs[id]
	if j == nil {
		a.t.Fatalf("the workflow has no job %q", id)
	}
	return j
}

// matrix lists the values of one row of a job's matrix.
func (a *actions) matrix(j *actionlint.Job, row string) []string {
	if j.Strategy == nil || j.Strategy.Matrix == nil || j.Strategy.Matrix.Rows[row] == nil {
		a.t.Fatalf("job %s has no matrix row %q", j.ID.Value, row)
	}
	var out []string
	for _, v := range j.Strategy.Matrix.Rows[row].Values {
		s, ok := v.(*actionlint.RawYAMLString)
		if !ok {
			a.t.Fatalf("matrix row %s: %v is no string", row, v)
		}
		out = append(out, s.Value)
	}
	return out
}

var expression = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// expand replaces the ${{ }} expressions of s with ctx's values; one it
// does not know fails the test, so the simulation never guesses.
func (a *actions) expand(s string, ctx map[string]string) string {
	return expression.ReplaceAllStringFunc(s, func(e string) string {
		v, ok := ctx[expression.FindStringSubmatch(e)[1]]
		if !ok {
			a.t.Fatalf("the simulation knows no value for %s", e)
		}
		return v
	})
}

func (a *actions) vars(env *actionlint.Env, ctx map[string]string) map[string]string {
	out := map[string]string{}
	if env != nil {
		for _, v := range env.Vars {
			out[v.Name.Value] = a.expand(v.Value.Value, ctx)
		}
	}
	return out
}

// runJob runs a job's steps in order on a fresh runner: an empty
// workspace, temp and cache folder, the workflow's and the job's env.
func (a *actions) runJob(j *actionlint.Job, ctx map[string]string) {
	t := a.t
	runner := t.TempDir()
	ws := filepath.Join(runner, "work")
	env := map[string]string{
		"GITHUB_WORKSPACE": ws,
		"RUNNER_TEMP":      filepath.Join(runner, "temp"),
		"XDG_CACHE_HOME":   filepath.Join(runner, "cache"), // a fresh runner has calibrated nothing
	}
	for _, d := range []string{ws, env["RUNNER_TEMP"]} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range a.env {
		env[k] = v
	}
	for k, v := range a.vars(j.Env, ctx) {
		env[k] = v
	}
	for i, s := range j.Steps {
		name := j.ID.Value + ": " + stepName(s)
		switch e := s.Exec.(type) {
		case *actionlint.ExecAction:
			a.action(name, e, ctx, ws)
		case *actionlint.ExecRun:
			a.script(name, a.expand(e.Run.Value, ctx), s.ContinueOnError != nil && s.ContinueOnError.Value, ws, env)
		default:
			t.Fatalf("%s (%d): a step the simulation cannot run", name, i)
		}
	}
}

func stepName(s *actionlint.Step) string {
	if s.Name != nil {
		return s.Name.Value
	}
	if e, ok := s.Exec.(*actionlint.ExecAction); ok {
		return e.Uses.Value
	}
	return ""
}

// action plays one action by copying folders, as GitHub's would move them.
func (a *actions) action(name string, e *actionlint.ExecAction, ctx map[string]string, ws string) {
	input := func(k string) string {
		if in := e.Inputs[k]; in != nil {
			return a.expand(in.Value.Value, ctx)
		}
		return ""
	}
	uses, _, _ := strings.Cut(e.Uses.Value, "@")
	switch uses {
	case "actions/checkout":
		copyTree(a.t, a.repo, ws)
	case "actions/setup-go": // Go is here
	case "actions/upload-artifact":
		a.upload(name, ws, input("path"), filepath.Join(a.artifacts, input("name")))
	case "actions/download-artifact":
		entries, _ := os.ReadDir(a.artifacts)
		for _, d := range entries {
			if ok, _ := path.Match(input("pattern"), d.Name()); ok {
				copyTree(a.t, filepath.Join(a.artifacts, d.Name()), filepath.Join(ws, input("path"), d.Name()))
			}
		}
	default:
		a.t.Fatalf("%s: the simulation does not know the action %s", name, e.Uses.Value)
	}
}

// upload copies what path matches in ws into the artifact folder.
// actions/upload-artifact keeps the paths below the folder before the
// first wildcard: notebooks/*.results/ uploads x.results/...
func (a *actions) upload(name, ws, pattern, to string) {
	root := pattern
	if i := strings.IndexAny(pattern, "*?["); i >= 0 {
		root = path.Dir(pattern[:i+1])
	}
	matches, _ := filepath.Glob(filepath.Join(ws, strings.TrimSuffix(pattern, "/")))
	if len(matches) == 0 {
		a.t.Fatalf("%s: nothing matches %s", name, pattern)
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(filepath.Join(ws, root), m)
		copyTree(a.t, m, filepath.Join(to, rel))
	}
}

// script runs a run: script as GitHub runs it by default (bash -e, and
// pipefail), except for the steps that set a runner up: installing
// packages, and building benchbook, whose binary this test is.
func (a *actions) script(name, script string, mayFail bool, ws string, env map[string]string) {
	t := a.t
	switch {
	case strings.Contains(script, "apt-get install"):
		t.Logf("%s: skipped (installs packages the notebook here does not use)", name)
		return
	case strings.Contains(script, `go build -o "$RUNNER_TEMP/benchbook" ./cmd/benchbook`):
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		// Named benchbook ($0), so it reads the runner's XDG_CACHE_HOME
		// as benchbook does (calibrate_test.go's init).
		wrapper := "#!/bin/bash\nBENCHBOOK_AS_MAIN=1 exec -a \"$0\" '" + self + "' \"$@\"\n"
		if err := os.WriteFile(filepath.Join(env["RUNNER_TEMP"], "benchbook"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = ws
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "BENCHBOOK_") })
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	switch {
	case err != nil && mayFail:
		t.Logf("%s: failed, the workflow goes on (continue-on-error): %v\n%s", name, err, out)
	case err != nil:
		t.Fatalf("%s: %v\n%s", name, err, out)
	default:
		t.Logf("%s:\n%s", name, out)
	}
}

// copyTree copies the folder (or file) from into to, keeping modes.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

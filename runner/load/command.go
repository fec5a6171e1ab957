package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/benchbook/benchbook/runner/guestexec"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// ToolCommand times any command, as hyperfine does.
const ToolCommand = "command"

// CommandSpec declares the keys of a command load: a program run `runs`
// times per repeat (after `warmup` untimed runs), timed from its start to
// its exit, with its CPU time and peak memory from the kernel's account of
// it (rusage, its children included once it has waited for them).
type CommandSpec struct {
	Tool    string   `key:"tool" required:"" doc:"the load generator"`
	Command []string `key:"command" required:"" doc:"the program and its arguments, run without a shell (write [\"sh\", \"-c\", \"...\"] for one); {dir} is the repeat's scratch folder"`
	Runs    int      `key:"runs" default:"1" min:"1" max:"10000" doc:"timed runs per repeat; each figure of the repeat is their mean"`
	Warmup  int      `key:"warmup" default:"0" min:"0" max:"10000" doc:"untimed runs before the timed ones (to warm caches)"`
	Prepare []string `key:"prepare" doc:"a command run before every run, warmups included, untimed (hyperfine's --prepare)"`
	Cleanup []string `key:"cleanup" doc:"a command run once after the runs, also when one failed (hyperfine's --cleanup)"`
	Dir     string   `key:"dir" default:"{dir}" doc:"working directory of the commands: {dir} is the repeat's scratch folder, a relative path is in the notebook's folder"`
	// Metrics declares figures read from each run's standard output.
	Metrics map[string]notebook.MetricSource `key:"metrics" noparam:"" doc:"figures read from each run's standard output, NAME = { json = \"/pointer\" } or { regex = \"with (one) group\" }, with unit, better (higher or lower) and doc"`
	At      string                           `key:"at" oneof:"host|guest" doc:"where its programs run: guest (inside a builtin:linux VM guest, over its exec port: the default on one) or host (this machine: the default for every other guest)"`
	Timeout time.Duration                    `key:"timeout" default:"10m" min:"1ms" doc:"kill a run (or prepare, cleanup) after this long"`

	Description string `key:"description" noparam:"" doc:"shown in the report"`
}

// commandMetrics are what every command load measures. Times are in
// milliseconds, a command's natural scale (hyperfine prints them so).
var commandMetrics = []notebook.Metric{
	{Name: "wall_ms", Unit: "ms", Better: notebook.BetterLower, Doc: "wall-clock time from the command's start to its exit"},
	{Name: "user_ms", Unit: "ms", Better: notebook.BetterLower, Doc: "CPU time in user mode, its waited-for children included"},
	{Name: "sys_ms", Unit: "ms", Better: notebook.BetterLower, Doc: "CPU time in the kernel, its waited-for children included"},
	{Name: "max_rss_bytes", Unit: "bytes", Better: notebook.BetterLower, Doc: "peak resident memory of the command (or of its largest waited-for child)"},
}

// commandVersion: the command tool is benchbook's own; what it runs says
// its version in the notebook.
// CommandVersion is stored with every command measurement, and bumped as
// BuiltinVersion is: when the same command could now give other figures.
// It was BuiltinVersion's until that moved for the builtin load alone.
const CommandVersion = "2"

func commandVersion(context.Context) (string, error) { return CommandVersion, nil }

// commandPlan is a decoded command load, its paths resolved.
type commandPlan struct {
	CommandSpec
	dir     string
	sources map[string]commandSource
	out     *commandOutputs
}

// commandSource is a compiled metric source.
type commandSource struct {
	notebook.MetricSource
	re *regexp.Regexp
}

func commandRun(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	m := Measurement{Tool: ToolCommand, ToolVersion: CommandVersion}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("command: %w", err) }
	scratchDir, done, err := scratch(t, ToolCommand)
	if err != nil {
		return fail(err)
	}
	defer done()
	p, err := planCommand(v, scratchDir, t.NotebookDir)
	if err != nil {
		return fail(err)
	}
	if t.Guest != nil && !filepath.IsAbs(p.dir) {
		return fail(fmt.Errorf("dir %q: a load inside the guest cannot see the notebook's folder: give {dir} or an absolute path in the guest, or at = \"host\"", p.Dir))
	}
	m.Command = p.Command
	if len(p.Prepare) > 0 || len(p.Cleanup) > 0 {
		m.Commands = slices.DeleteFunc([][]string{p.Prepare, p.Command, p.Cleanup}, func(a []string) bool { return len(a) == 0 })
	}
	if err := p.openOutputs(); err != nil {
		return fail(err)
	}
	defer p.out.close()
	runs, err := p.runAll(ctx, t)
	if len(p.Cleanup) > 0 {
		// Cleanup runs on every path, a cancelled run's included.
		if _, cerr := p.step(context.WithoutCancel(ctx), t, p.Cleanup, false); cerr != nil && err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
	if err != nil {
		return fail(err)
	}
	p.fill(&m, runs)
	return m, nil
}

// planCommand decodes v and resolves {dir} and the working directory.
func planCommand(v notebook.Values, scratchDir, notebookDir string) (commandPlan, error) {
	var p commandPlan
	if err := notebook.Decode(v, &p.CommandSpec); err != nil {
		return p, err
	}
	var errs []error
	for _, argv := range []*[]string{&p.Command, &p.Prepare, &p.Cleanup} {
		*argv = slices.Clone(*argv)
		for i := range *argv {
			(*argv)[i] = strings.ReplaceAll((*argv)[i], scratchVar, scratchDir)
		}
	}
	if len(p.Command) == 0 || p.Command[0] == "" {
		errs = append(errs, errors.New(`command is empty: give the program and its arguments, like ["gzip", "-k", "file"]`))
	}
	p.dir = strings.ReplaceAll(p.Dir, scratchVar, scratchDir)
	if !filepath.IsAbs(p.dir) {
		if err := notebook.CheckFileRef(p.dir); err != nil {
			errs = append(errs, fmt.Errorf("dir %q: %w", p.Dir, err))
		}
		p.dir = filepath.Join(notebookDir, p.dir)
	}
	p.sources = map[string]commandSource{}
	for name, src := range p.Metrics {
		if slices.ContainsFunc(commandMetrics, func(m notebook.Metric) bool { return m.Name == name }) {
			errs = append(errs, fmt.Errorf("metrics.%s: the command tool measures %s itself; give yours another name", name, name))
			continue
		}
		cs := commandSource{MetricSource: src}
		if src.Regex != "" {
			re, err := regexp.Compile(src.Regex)
			if err != nil {
				errs = append(errs, fmt.Errorf("metrics.%s.regex: %w", name, err))
				continue
			}
			cs.re = re
		}
		p.sources[name] = cs
	}
	return p, errors.Join(errs...)
}

// commandResult is one timed run.
type commandResult struct {
	wall, user, sys time.Duration
	maxRSS          int64 // bytes
	metrics         map[string]float64
}

// runAll runs the warmups and the timed runs, each after prepare.
func (p commandPlan) runAll(ctx context.Context, t Target) ([]commandResult, error) {
	start := time.Now()
	progress := func(warmup bool, done int) {
		if t.Progress != nil {
			t.Progress(Progress{Warmup: warmup, Elapsed: time.Since(start), Ops: int64(done)})
		}
	}
	for i := range p.Warmup {
		if _, err := p.once(ctx, t); err != nil {
			return nil, fmt.Errorf("warmup run %d of %d: %w", i+1, p.Warmup, err)
		}
		progress(true, i+1)
	}
	start = time.Now()
	var runs []commandResult
	for i := range p.Runs {
		res, err := p.once(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("run %d of %d: %w", i+1, p.Runs, err)
		}
		r, err := p.result(res)
		if err != nil {
			return nil, fmt.Errorf("run %d of %d: %w", i+1, p.Runs, err)
		}
		runs = append(runs, r)
		progress(false, i+1)
	}
	return runs, nil
}

// once runs prepare, then the command.
func (p commandPlan) once(ctx context.Context, t Target) (commandProc, error) {
	if len(p.Prepare) > 0 {
		if _, err := p.step(ctx, t, p.Prepare, false); err != nil {
			return commandProc{}, fmt.Errorf("prepare: %w", err)
		}
	}
	return p.step(ctx, t, p.Command, len(p.sources) > 0)
}

// step runs one command within the timeout, keeping its stdout when its
// metrics are read from it; a non-zero exit is an error with the exit
// status and the end of its stderr.
func (p commandPlan) step(ctx context.Context, t Target, argv []string, keepStdout bool) (commandProc, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, p.Timeout, errTimeout)
	defer cancel()
	var res commandProc
	var err error
	if t.Guest != nil {
		res, err = guestTimed(ctx, t, argv, p.dir, keepStdout)
	} else {
		res, err = runTimed(ctx, t.wrap(argv), p.dir, p.out, keepStdout)
	}
	if err == nil {
		return res, nil
	}
	var notFound *exec.Error
	switch {
	case ctx.Err() != nil:
		return res, describeProcErr(ctx, err, p.Timeout, res.stderr)
	case errors.As(err, &notFound):
		return res, fmt.Errorf("%s: %w", argv[0], notFound.Err)
	}
	return res, fmt.Errorf("%s: %w%s", argv[0], err, stderrHint(res.stderr))
}

// commandProc is what one process of a command load left.
type commandProc struct {
	wall      time.Duration // from just before its start to its exit
	user, sys time.Duration
	maxRSS    int64  // bytes
	stdout    []byte // when its metrics are read
	stderr    []byte // its last stderrTail bytes
}

// guestTimed runs argv inside the guest, timed there by its init as
// runTimed times it here (from just before its start to its exit), with
// the guest kernel's account of its CPU time and memory.
func guestTimed(ctx context.Context, t Target, argv []string, dir string, keepStdout bool) (commandProc, error) {
	req := guestexec.Request{Argv: argv, Dir: dir, StderrTail: stderrTail}
	if keepStdout {
		req.StdoutLimit = stdoutLimit
	}
	rep, err := t.guestExec(ctx, req)
	return commandProc{wall: rep.Wall, user: rep.User, sys: rep.Sys, maxRSS: rep.MaxRSS, stdout: rep.Stdout, stderr: rep.Stderr}, err
}

// commandOutputs are the files a command's output goes to. Files, not
// pipes: the child writes to them directly, so that nothing of benchbook's
// has to run while the command does (no goroutine copying, no wakeups),
// and its wall time is its own, as hyperfine's figures are. Its stdout is
// discarded, as hyperfine discards it, unless metrics are read from it;
// its stdin is /dev/null.
type commandOutputs struct {
	devNull, stdout, stderr *os.File
	env                     []string // the commands' environment
}

func (p *commandPlan) openOutputs() (err error) {
	o := &commandOutputs{env: commandEnv()}
	defer func() {
		if err != nil {
			o.close()
			return
		}
		p.out = o
	}()
	if o.devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return err
	}
	// Not in the scratch folder: the command may list or clean its
	// working directory.
	if o.stderr, err = os.CreateTemp("", "benchbook-stderr-"); err != nil {
		return err
	}
	if len(p.sources) > 0 {
		if o.stdout, err = os.CreateTemp("", "benchbook-stdout-"); err != nil {
			return err
		}
	}
	return nil
}

func (o *commandOutputs) close() {
	for _, f := range []*os.File{o.devNull, o.stdout, o.stderr} {
		if f == nil {
			continue
		}
		f.Close()
		if f != o.devNull {
			os.Remove(f.Name())
		}
	}
}

// reset empties f for the next process.
func reset(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// readStart reads the first limit bytes of f; readTail the last limit.
func readStart(f *os.File, limit int) []byte {
	b := make([]byte, limit)
	n, _ := f.ReadAt(b, 0)
	return b[:n]
}

func readTail(f *os.File, limit int) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	from := max(fi.Size()-int64(limit), 0)
	b := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(b, from)
	return b[:n]
}

// runTimed runs argv in its own process group, its output going to files,
// and times it from just before its start to its exit, as hyperfine -N
// does. It starts the child with os.StartProcess and waits for it with
// Process.Wait, not through exec.Cmd: Cmd.Start opens /dev/null for stdin,
// rebuilds the environment and starts a goroutine watching the context,
// all within the timed span, and Cmd.Wait hands the exit over from that
// goroutine; together they were 0.1 ms a run here (0.80 against 0.70 ms
// for `true`, hyperfine's 0.72). The context kills the group through
// context.AfterFunc, which costs nothing until it fires. The group is
// killed and the process reaped on every path, as runProc does.
func runTimed(ctx context.Context, argv []string, dir string, o *commandOutputs, keepStdout bool) (commandProc, error) {
	var res commandProc
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	stdout := o.devNull
	if keepStdout {
		stdout = o.stdout
	}
	for _, f := range []*os.File{stdout, o.stderr} {
		if f != o.devNull {
			if err := reset(f); err != nil {
				return res, fmt.Errorf("output file: %w", err)
			}
		}
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		var err error
		if path, err = exec.LookPath(path); err != nil {
			return res, err // an *exec.Error, as Cmd.Start's
		}
	}
	attr := &os.ProcAttr{
		Dir:   dir,
		Env:   o.env,
		Files: []*os.File{o.devNull, stdout, o.stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	start := time.Now()
	proc, err := os.StartProcess(path, argv, attr)
	if err != nil {
		return res, err
	}
	kill := func() { syscall.Kill(-proc.Pid, syscall.SIGKILL) }
	stopKill := context.AfterFunc(ctx, kill)
	state, err := proc.Wait()
	res.wall = time.Since(start)
	stopKill()
	kill() // what it left running in the background
	if state != nil {
		res.user, res.sys = state.UserTime(), state.SystemTime()
		if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
			res.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	res.stderr = readTail(o.stderr, stderrTail)
	if keepStdout {
		res.stdout = readStart(stdout, stdoutLimit)
	}
	switch {
	case ctx.Err() != nil:
		return res, context.Cause(ctx)
	case err != nil:
		return res, err
	case !state.Success():
		return res, &exec.ExitError{ProcessState: state}
	}
	return res, nil
}

// commandEnv is the environment of a command: benchbook's, with LC_ALL=C
// (numbers with '.' decimals) replacing any LC_ALL of its own.
func commandEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "LC_ALL=") })
	return append(env, "LC_ALL=C")
}

// result is the figures of one run: its times and peak memory from the
// kernel, and the metrics its output declares.
func (p commandPlan) result(res commandProc) (commandResult, error) {
	r := commandResult{wall: res.wall, user: res.user, sys: res.sys, maxRSS: res.maxRSS, metrics: map[string]float64{}}
	var doc any
	var docErr error
	parsed := false
	for _, name := range slices.Sorted(maps.Keys(p.sources)) {
		src := p.sources[name]
		var v float64
		var err error
		if src.re != nil {
			v, err = regexMetric(src.re, res.stdout)
		} else {
			if !parsed {
				doc, docErr = stdoutJSON(res.stdout)
				parsed = true
			}
			if err = docErr; err == nil {
				v, err = pointerMetric(doc, src.JSON)
			}
		}
		if err != nil {
			return r, fmt.Errorf("metric %s: %w", name, err)
		}
		r.metrics[name] = v
	}
	return r, nil
}

// fill sets m's figures: the mean of each over the runs.
func (p commandPlan) fill(m *Measurement, runs []commandResult) {
	n := float64(len(runs))
	m.Metrics = map[string]float64{}
	for _, r := range runs {
		m.Duration += r.wall
		m.CPU += r.user + r.sys
		m.Metrics["wall_ms"] += ms(r.wall) / n
		m.Metrics["user_ms"] += ms(r.user) / n
		m.Metrics["sys_ms"] += ms(r.sys) / n
		m.Metrics["max_rss_bytes"] += float64(r.maxRSS) / n
		for name, v := range r.metrics {
			m.Metrics[name] += v / n
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// stdoutJSON reads a command's standard output as JSON: the whole of it,
// or else its last line that is a JSON document (a program that logs
// before printing its figures).
func stdoutJSON(stdout []byte) (any, error) {
	if doc, err := decodeJSON(stdout); err == nil {
		return doc, nil
	}
	lines := bytes.Split(bytes.TrimSpace(stdout), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if doc, err := decodeJSON(lines[i]); err == nil {
			return doc, nil
		}
	}
	return nil, fmt.Errorf("its standard output is not JSON, nor is any of its lines: %s", quoteStart(stdout))
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return doc, nil
}

// pointerMetric resolves an RFC 6901 pointer in doc to a number.
func pointerMetric(doc any, pointer string) (float64, error) {
	v := doc
	if pointer != "" {
		for _, tok := range strings.Split(pointer[1:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch x := v.(type) {
			case map[string]any:
				next, ok := x[tok]
				if !ok {
					return 0, fmt.Errorf("json %q: no %q in its output (keys: %s)", pointer, tok, strings.Join(slices.Sorted(maps.Keys(x)), ", "))
				}
				v = next
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(x) || (len(tok) > 1 && tok[0] == '0') {
					return 0, fmt.Errorf("json %q: %q is no index of an array of %d", pointer, tok, len(x))
				}
				v = x[i]
			default:
				return 0, fmt.Errorf("json %q: %q is inside %s, not an object or array", pointer, tok, jsonKind(v))
			}
		}
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, fmt.Errorf("json %q is %s, not a number", pointer, jsonKind(v))
	}
	return finiteNumber(s)
}

// regexMetric is the number in the first match's group.
func regexMetric(re *regexp.Regexp, stdout []byte) (float64, error) {
	m := re.FindSubmatch(stdout)
	if m == nil {
		return 0, fmt.Errorf("regex %q matches nothing in its output: %s", re, quoteStart(stdout))
	}
	v, err := finiteNumber(strings.TrimSpace(string(m[1])))
	if err != nil {
		return 0, fmt.Errorf("regex %q: %w", re, err)
	}
	return v, nil
}

func finiteNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return f, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	}
	return "a number"
}

// quoteStart quotes the start of a command's output for an error message.
func quoteStart(out []byte) string {
	const most = 200
	if len(bytes.TrimSpace(out)) == 0 {
		return "it printed nothing"
	}
	if len(out) > most {
		return strconv.Quote(string(out[:most])) + "..."
	}
	return strconv.Quote(string(out))
}

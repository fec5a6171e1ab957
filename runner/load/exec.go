package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/benchbook/benchbook/runner/guestexec"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
)

// procResult is what an external tool left behind.
type procResult struct {
	stdout    []byte
	stderr    []byte // its last stderrTail bytes
	user, sys time.Duration
	exitCode  int // -1 when it did not exit by itself
	// files are the files collected after it ended (toolFiles.collect),
	// collectErr why some are missing.
	files      map[string][]byte
	collectErr error
}

func (p procResult) cpu() time.Duration { return p.user + p.sys }

const (
	stdoutLimit = 4 << 20 // CSV and tables are small; this only guards memory
	stderrTail  = 16 << 10
)

// runProc runs argv in its own process group until it exits or ctx ends; the
// whole group is killed and reaped on every path, so no tool outlives Run.
// A non-zero exit is an *exec.ExitError; a ctx end returns context.Cause(ctx).
// onStderr, if set, sees each stderr line (split at \n or \r, which tools use
// for live progress) as it comes.
func runProc(ctx context.Context, argv []string, dir string, onStderr func(string)) (procResult, error) {
	var res procResult
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C") // numbers with '.' decimals
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	// A grandchild holding the pipes open must not hang Wait.
	cmd.WaitDelay = 2 * time.Second
	stdout := &limitedBuffer{limit: stdoutLimit}
	stderr := &lineWriter{fn: onStderr}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return res, err
	}
	err := cmd.Wait()
	killGroup(cmd) // stragglers of a tool that exited on its own
	stderr.flush()
	res.stdout, res.stderr, res.exitCode = stdout.Bytes(), stderr.tail.Bytes(), -1
	if st := cmd.ProcessState; st != nil {
		res.user, res.sys, res.exitCode = st.UserTime(), st.SystemTime(), st.ExitCode()
	}
	if ctx.Err() != nil {
		return res, context.Cause(ctx)
	}
	return res, err
}

// toolFiles are the files around a tool's process: folders it needs made
// first, files it needs written there first (a job file the guest cannot
// read from the notebook's folder), and glob patterns of files it writes
// that are read back after it ends (its logs).
type toolFiles struct {
	mkdir   []string
	write   map[string][]byte
	collect []string
}

// runTool runs a tool's process where the target says: inside the guest
// over its exec port, or here in the target's namespace, with its files
// (the collected ones in procResult.files, and why some are missing in
// procResult.collectErr).
func runTool(ctx context.Context, t Target, argv []string, dir string, tf toolFiles) (procResult, error) {
	if t.Guest == nil {
		for _, d := range tf.mkdir {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return procResult{}, err
			}
		}
		res, err := runProc(ctx, t.wrap(argv), dir, nil)
		if len(tf.collect) > 0 {
			res.files, res.collectErr = guestexec.Collect(tf.collect, 0)
		}
		return res, err
	}
	rep, err := t.guestExec(ctx, guestexec.Request{Argv: argv, Dir: dir, Mkdir: tf.mkdir, Files: tf.write, Collect: tf.collect, StdoutLimit: stdoutLimit, StderrTail: stderrTail})
	res := procResult{stdout: rep.Stdout, stderr: rep.Stderr, user: rep.User, sys: rep.Sys, exitCode: rep.Exit, files: rep.Collected}
	if rep.CollectError != "" {
		res.collectErr = errors.New(rep.CollectError)
	}
	return res, err
}

// guestExec runs req in the guest, bounded by ctx's deadline there too. A
// program that could not start or did not exit 0 is an error (worded as
// os/exec words them); a ctx end returns context.Cause(ctx).
func (t Target) guestExec(ctx context.Context, req guestexec.Request) (guestexec.Reply, error) {
	if d, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(d), time.Millisecond)
	}
	rep, err := t.Guest.Exec(ctx, req)
	switch {
	case err != nil:
		return rep, err
	case rep.NotFound:
		return rep, &exec.Error{Name: req.Argv[0], Err: errors.New(rep.Error)}
	case rep.Error != "":
		return rep, fmt.Errorf("in the guest: %s", rep.Error)
	case rep.TimedOut && ctx.Err() != nil:
		return rep, context.Cause(ctx)
	case !rep.Success():
		return rep, guestExitError(rep.ExitText())
	}
	return rep, nil
}

// guestExitError is a program in the guest that did not exit 0.
type guestExitError string

func (e guestExitError) Error() string { return string(e) }

// guestScratch makes a fresh scratch folder in the guest for a repeat;
// done removes it.
func guestScratch(t Target, tool string) (dir string, done func(), err error) {
	dir = fmt.Sprintf("/tmp/benchbook-%s-%d", tool, guestScratchN.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := t.Guest.Exec(ctx, guestexec.Request{Mkdir: []string{dir}}); err != nil {
		return "", nil, fmt.Errorf("making a scratch folder in the guest: %w", err)
	}
	return dir, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = t.Guest.Exec(ctx, guestexec.Request{Remove: []string{dir}})
	}, nil
}

var guestScratchN atomic.Int64

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// toolVersion runs `prog --version` and returns what parse makes of its
// first output line.
func toolVersion(ctx context.Context, prog string, parse func(line string) string) (string, error) {
	path, err := exec.LookPath(prog)
	if err != nil {
		return "", fmt.Errorf("%s not on PATH (see benchbook doctor): %w", prog, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := runProc(ctx, []string{path, "--version"}, "", nil)
	if err != nil {
		return "", fmt.Errorf("%s --version: %w%s", prog, err, stderrHint(res.stderr))
	}
	line, _, _ := strings.Cut(string(res.stdout), "\n")
	return parse(strings.TrimSpace(line)), nil
}

// secondField is the version in lines like "redis-benchmark 7.0.15": the
// second word when the first is want (any first word when want is ""), or
// else the whole line.
func secondField(want string) func(string) string {
	return func(line string) string {
		if f := strings.Fields(line); len(f) >= 2 && (want == "" || f[0] == want) {
			return f[1]
		}
		return line
	}
}

// trimPrefix is the version in lines like "fio-3.33": the line without prefix.
func trimPrefix(prefix string) func(string) string {
	return func(line string) string { return strings.TrimPrefix(line, prefix) }
}

// checkReachable dials addr once. The external tools handle a dead server
// badly (redis-benchmark spins forever, memtier reports zeros and exits 0),
// so they are only started once something listens.
func checkReachable(ctx context.Context, t Target) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := netns.Dial(ctx, t.Netns, t.Addr)
	if err != nil {
		return fmt.Errorf("cannot connect to redis at %s (is it listening?): %w", t.Addr, err)
	}
	return conn.Close()
}

// stderrHint formats the end of a tool's stderr for an error message.
func stderrHint(stderr []byte) string {
	s := strings.TrimSpace(strings.ReplaceAll(string(stderr), "\r", "\n"))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; stderr: " + strings.Join(lines, " | ")
}

// limitedBuffer keeps the first limit bytes written and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// lineWriter keeps the tail of a stream and hands complete lines to fn.
type lineWriter struct {
	fn      func(string)
	partial []byte
	tail    tailBuffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.tail.Write(p)
	if w.fn == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexAny(w.partial, "\r\n")
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.partial[:i])); line != "" {
			w.fn(line)
		}
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > stderrTail {
		w.partial = w.partial[:0] // a line this long is no progress line
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if w.fn != nil && len(bytes.TrimSpace(w.partial)) > 0 {
		w.fn(string(bytes.TrimSpace(w.partial)))
	}
	w.partial = nil
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) {
	t.b = append(t.b, p...)
	if over := len(t.b) - stderrTail; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
}

func (t *tailBuffer) Bytes() []byte { return t.b }

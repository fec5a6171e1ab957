package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
)

// procResult is what an external tool left behind.
type procResult struct {
	stdout []byte
	stderr []byte // its last stderrTail bytes
	state  *os.ProcessState
}

func (p procResult) cpu() time.Duration {
	if p.state == nil {
		return 0
	}
	return p.state.UserTime() + p.state.SystemTime()
}

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
	res.stdout, res.stderr, res.state = stdout.Bytes(), stderr.tail.Bytes(), cmd.ProcessState
	if ctx.Err() != nil {
		return res, context.Cause(ctx)
	}
	return res, err
}

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

// toolVersion runs `prog --version` and returns its first output line.
func toolVersion(ctx context.Context, prog string) (string, error) {
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
	return strings.TrimSpace(line), nil
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

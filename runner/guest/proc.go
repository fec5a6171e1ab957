package guest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/runner/placement"
)

// proc is a child process in its own process group, with its output in a
// bounded log. Both guest kinds that are processes on this machine (a
// program, a qemu) share it, so there is one place that kills and reaps.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    *Log
	exited chan struct{} // closed when Wait returned

	mu      sync.Mutex
	waitErr error
	stopped bool

	ready     chan struct{} // closed when a line matched the ready pattern
	readyOnce sync.Once
}

var errExited = errors.New("exited")

// Pdeathsig is delivered when the thread that forked the child ends, not
// the process. Go ends threads (those of goroutines that exit while locked
// to them), so every guest is forked from one thread that lives as long as
// benchbook: the guest then dies with benchbook, and only with it.
var spawnQueue = func() chan func() {
	q := make(chan func())
	go func() {
		runtime.LockOSThread()
		for f := range q {
			f()
		}
	}()
	return q
}()

// spawn starts cmd from the spawning thread. The child inherits that
// thread's CPU affinity, so it is set first: to cpus when the guest is
// placed, else back to benchbook's own (a load may have pinned every
// thread of benchbook, this one too). A placed guest is thus on its CPUs
// from its first instruction, with every thread and child it makes.
func spawn(cmd *exec.Cmd, cpus placement.Set) error {
	errc := make(chan error, 1)
	spawnQueue <- func() {
		var err error
		if len(cpus) > 0 {
			err = placement.SetThread(0, cpus)
		} else {
			placement.RestoreThread(0) // best effort: nothing was asked
		}
		if err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
		if len(cpus) > 0 {
			placement.RestoreThread(0)
		}
	}
	return <-errc
}

// startProc starts argv, on cpus when it is not empty. When ready is set,
// output lines are matched against it and waitLine returns once one
// matches.
func startProc(name string, argv, env []string, dir, logPath string, ready *regexp.Regexp, cpus placement.Set) (*proc, error) {
	return startProcWith(name, argv, env, dir, nil, logPath, ready, cpus)
}

// startProcFiles is startProc for a VM that inherits open files (a
// macvtap), as descriptors 3, 4...
func startProcFiles(name string, argv []string, files []*os.File, logPath string, ready *regexp.Regexp, cpus placement.Set) (*proc, error) {
	return startProcWith(name, argv, nil, "", files, logPath, ready, cpus)
}

func startProcWith(name string, argv, env []string, dir string, files []*os.File, logPath string, ready *regexp.Regexp, cpus placement.Set) (*proc, error) {
	// Not exec.CommandContext: the process must outlive no context of ours,
	// but be stopped by stop(), which signals the whole group. Pdeathsig
	// kills it if benchbook dies without running stop().
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = files
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{}), ready: make(chan struct{})}
	var out io.Writer = io.Discard
	if logPath != "" {
		l, err := NewLog(logPath)
		if err != nil {
			return nil, err
		}
		p.log = l
		out = l
	}
	var pw *io.PipeWriter
	if ready != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		out = io.MultiWriter(out, pw)
		go p.scan(pr, ready)
	} else {
		p.readyOnce.Do(func() { close(p.ready) })
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := spawn(cmd, cpus); err != nil {
		if p.log != nil {
			p.log.Close()
		}
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	go func() {
		err := cmd.Wait()
		if pw != nil {
			pw.Close()
		}
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) scan(r io.Reader, ready *regexp.Regexp) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ready.Match(sc.Bytes()) {
			p.readyOnce.Do(func() { close(p.ready) })
		}
	}
	// Keep draining so the writer never blocks on a long line.
	io.Copy(io.Discard, r)
}

// waitLine waits for the ready line, the process's end, or ctx.
func (p *proc) waitLine(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		select {
		case <-p.ready:
			return nil
		default:
		}
		return errExited
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pid, exitedCh and tail take a guest's proc before it started too
// (nil): what they say then is what a guest that never ran says.

func (p *proc) pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// exitedCh is closed when the process has ended; before it started, it is
// a channel never closed.
func (p *proc) exitedCh() <-chan struct{} {
	if p == nil {
		return make(chan struct{})
	}
	return p.exited
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// stop runs gentle (a polite request to quit), then SIGTERM to the group,
// SIGKILL after grace, and waits. It is idempotent.
func (p *proc) stop(ctx context.Context, grace time.Duration, gentle func()) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	p.mu.Unlock()

	var errs []error
	pgid := p.pid()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-p.exited:
			return true
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	done := false
	select {
	case <-p.exited:
		done = true
	default:
	}
	if !done && gentle != nil {
		gentle()
		done = wait(grace / 2)
	}
	if !done {
		syscall.Kill(-pgid, syscall.SIGTERM)
		if !wait(grace) {
			errs = append(errs, fmt.Errorf("no exit %s after SIGTERM; killed", grace))
		}
	}
	// Whatever is left of the group (children of the guest) goes too.
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.exited
	if p.log != nil {
		errs = append(errs, p.log.Close())
	}
	return errors.Join(errs...)
}

// tail formats the end of the log for an error message.
func (p *proc) tail(logPath string) string {
	if p == nil || p.log == nil {
		return ""
	}
	return formatTail(p.log.Tail(2048), logPath)
}

// formatTail formats t, the end of the guest's log at logPath, for an
// error message.
func formatTail(t, logPath string) string {
	t = strings.TrimSpace(t)
	if t == "" {
		return "\n(the guest printed nothing)"
	}
	return "\nlast lines of " + logPath + ":\n" + indent(lastLines(t, 15))
}

package testutil

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Proc is a server process that a test or a benchmark harness started
// (redistest's redis-server, servertest's nginx and iperf3), in a process
// group of its own, so that Stop kills what it forked too.
type Proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
	out    SyncBuffer
}

// StartProc starts path with args; what it prints is kept for Output.
func StartProc(path string, args ...string) (*Proc, error) {
	p := &Proc{exited: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

// ErrExited is WaitReady's error when the process exited before it was
// ready.
var ErrExited = errors.New("exited")

// WaitReady polls ready every 20 ms for 10 s and returns nil once it
// succeeds, ErrExited when the process exits first, and ready's last error
// when the time is up. The caller words the failure: a redis-server that
// does not answer PING says so.
func (p *Proc) WaitReady(ready func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return ErrExited
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// Path is the program the process runs.
func (p *Proc) Path() string { return p.cmd.Path }

// Output is what the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Pid is the process id (its process group id too), for tests that pause
// it with SIGSTOP to play a hung server.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stop kills the process group and waits for the process. It is safe to
// call more than once and from several goroutines.
func (p *Proc) Stop() {
	p.once.Do(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	})
}

// FreePort is a 127.0.0.1 TCP port that was free when asked: another
// process may take it before the caller binds it.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// GroupCommand is exec.CommandContext in a process group of its own,
// which a cancelled ctx kills whole, so that neither a test nor a benchmark
// harness leaves a child's children behind; Wait gives up on the output
// pipes waitDelay after the process exits.
func GroupCommand(ctx context.Context, waitDelay time.Duration, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	return cmd
}

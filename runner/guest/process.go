package guest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
)

// ProcessConfig describes a program on the host that serves redis.
type ProcessConfig struct {
	Name         string
	Command      []string // argv, {port} already substituted
	Env          map[string]string
	Dir          string
	Port         int           // the loopback port it listens on
	ReadyTimeout time.Duration // default 30s
	Grace        time.Duration // between SIGTERM and SIGKILL; default 5s
	LogPath      string        // bounded log of stdout+stderr; empty: discarded
}

// Process is a guest that is a process group on the host.
type Process struct {
	cfg ProcessConfig

	mu      sync.Mutex
	started bool
	cmd     *exec.Cmd
	log     *Log
	exited  chan struct{} // closed when Wait returned
	waitErr error
	facts   map[string]string
	stopped bool
}

var _ Guest = (*Process)(nil)

// NewProcess checks the config and that the program exists; a missing
// program wraps ErrUnavailable.
func NewProcess(cfg ProcessConfig) (*Process, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("guest %s: empty command", cfg.Name)
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, fmt.Errorf("guest %s: %w: %s not found (install it, or see benchbook doctor)", cfg.Name, ErrUnavailable, cfg.Command[0])
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	return &Process{cfg: cfg, facts: map[string]string{}}, nil
}

func (p *Process) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.cfg.Port) }

// Start runs the command in its own process group and waits until redis
// answers PING. On any failure it stops what it started before returning.
func (p *Process) Start(ctx context.Context) (ep Endpoint, err error) {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return Endpoint{}, fmt.Errorf("guest %s: started twice", p.cfg.Name)
	}
	p.started = true
	p.mu.Unlock()
	defer func() {
		if err != nil {
			p.Stop(context.WithoutCancel(ctx))
		}
	}()

	// The process outlives no context of ours: Stop kills the group, and
	// Pdeathsig kills it if benchbook itself dies without running Stop.
	cmd := exec.Command(p.cfg.Command[0], p.cfg.Command[1:]...)
	cmd.Dir = p.cfg.Dir
	cmd.Env = os.Environ()
	for _, k := range slices.Sorted(maps.Keys(p.cfg.Env)) {
		cmd.Env = append(cmd.Env, k+"="+p.cfg.Env[k])
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if p.cfg.LogPath != "" {
		l, err := NewLog(p.cfg.LogPath)
		if err != nil {
			return Endpoint{}, fmt.Errorf("guest %s: %w", p.cfg.Name, err)
		}
		p.log = l
		cmd.Stdout, cmd.Stderr = l, l
	}
	if err := cmd.Start(); err != nil {
		return Endpoint{}, fmt.Errorf("guest %s: start %s: %w", p.cfg.Name, p.cfg.Command[0], err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.exited = make(chan struct{})
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()

	if err := waitReady(ctx, p.addr(), p.cfg.ReadyTimeout, p.exited); err != nil {
		return Endpoint{}, fmt.Errorf("guest %s: %w%s", p.cfg.Name, err, p.tail())
	}
	if info, err := resp.Info(ctx, p.addr(), "server"); err == nil {
		p.setFact("redis_version", info["redis_version"])
	}
	p.setFact("pid", fmt.Sprint(cmd.Process.Pid))
	return Endpoint{Addr: p.addr()}, nil
}

func (p *Process) setFact(k, v string) {
	if v == "" {
		return
	}
	p.mu.Lock()
	p.facts[k] = v
	p.mu.Unlock()
}

// LogTail is the end of the guest's log, formatted for an error message.
func (p *Process) LogTail() string { return p.tail() }

// tail formats the end of the guest's log for an error message.
func (p *Process) tail() string {
	if p.log == nil {
		return ""
	}
	t := strings.TrimSpace(p.log.Tail(2048))
	if t == "" {
		return "\n(the guest printed nothing)"
	}
	return "\nlast lines of " + p.cfg.LogPath + ":\n" + indent(lastLines(t, 15))
}

// Exited is closed when the process has ended, for callers that watch a
// guest during a load.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		ch := make(chan struct{})
		return ch
	}
	return p.exited
}

// Stop sends SIGTERM to the process group, SIGKILL after the grace period,
// and waits for the process. It is idempotent.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return nil
	}
	p.stopped = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()

	var errs []error
	if cmd != nil {
		pgid := cmd.Process.Pid
		select {
		case <-exited:
		default:
			syscall.Kill(-pgid, syscall.SIGTERM)
			timer := time.NewTimer(p.cfg.Grace)
			select {
			case <-exited:
			case <-timer.C:
				errs = append(errs, fmt.Errorf("guest %s: no exit %s after SIGTERM; killed", p.cfg.Name, p.cfg.Grace))
			case <-ctx.Done():
			}
			timer.Stop()
		}
		// Whatever is left of the group (children of the guest) goes too.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
	if p.log != nil {
		if err := p.log.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Facts returns what is known about the running guest.
func (p *Process) Facts() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{"kind": "process", "program": filepath.Base(p.cfg.Command[0])}
	for k, v := range p.facts {
		out[k] = v
	}
	return out
}

// ExitError describes how the process ended, if it has.
func (p *Process) ExitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

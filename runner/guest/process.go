package guest

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	proc    *proc
	facts   map[string]string
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
	var env []string
	for _, k := range slices.Sorted(maps.Keys(p.cfg.Env)) {
		env = append(env, k+"="+p.cfg.Env[k])
	}
	pr, err := startProc(p.cfg.Name, p.cfg.Command, env, p.cfg.Dir, p.cfg.LogPath, nil)
	if err != nil {
		return Endpoint{}, err
	}
	p.mu.Lock()
	p.proc = pr
	p.mu.Unlock()

	ep = Endpoint{Addr: p.addr()}
	if err := waitReadyDial(ctx, ep, p.cfg.ReadyTimeout, pr.exited); err != nil {
		return Endpoint{}, fmt.Errorf("guest %s: %w%s", p.cfg.Name, err, pr.tail(p.cfg.LogPath))
	}
	if info, err := resp.Info(ctx, p.addr(), "server"); err == nil {
		p.setFact("redis_version", info["redis_version"])
	}
	return ep, nil
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
func (p *Process) LogTail() string {
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	if pr == nil {
		return ""
	}
	return pr.tail(p.cfg.LogPath)
}

// Exited is closed when the process has ended, for callers that watch a
// guest during a load.
func (p *Process) Exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return make(chan struct{})
	}
	return p.proc.exited
}

// Pid is the process's pid, or 0 before Start.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.pid()
}

// Stop sends SIGTERM to the process group, SIGKILL after the grace period,
// and waits for the process. It is idempotent.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	if pr == nil {
		return nil
	}
	return pr.stop(ctx, p.cfg.Grace, nil)
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
	pr := p.proc
	p.mu.Unlock()
	if pr == nil {
		return nil
	}
	select {
	case <-pr.exited:
		return pr.exitErr()
	default:
		return nil
	}
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

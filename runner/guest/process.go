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
	Trace        func(StepEvent)
}

// Process is a guest that is a process group on the host.
type Process struct {
	cfg  ProcessConfig
	life lifecycle

	mu    sync.Mutex
	proc  *proc
	facts factSet
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
	return &Process{cfg: cfg, life: lifecycle{guest: cfg.Name, trace: cfg.Trace}}, nil
}

func (p *Process) endpoint() Endpoint { return Endpoint{Addr: fmt.Sprintf("127.0.0.1:%d", p.cfg.Port)} }

// Start runs the command in its own process group and waits until redis
// answers PING. On any failure it stops what it started before returning.
func (p *Process) Start(ctx context.Context) (Endpoint, error) {
	err := p.life.start(ctx, []step{
		{"process", p.spawn},
		{"ping", p.ping},
		{"info", p.info},
	})
	if err != nil {
		return Endpoint{}, err
	}
	return p.endpoint(), nil
}

// spawn starts the program; its undo stops the whole process group.
func (p *Process) spawn(ctx context.Context) error {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(p.cfg.Env)) {
		env = append(env, k+"="+p.cfg.Env[k])
	}
	pr, err := startProc(p.cfg.Name, p.cfg.Command, env, p.cfg.Dir, p.cfg.LogPath, nil)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = pr
	p.mu.Unlock()
	p.life.push(func(ctx context.Context) error { return pr.stop(ctx, p.cfg.Grace, nil) })
	return nil
}

// ping waits for a PONG, or the program's end.
func (p *Process) ping(ctx context.Context) error {
	if err := waitReadyDial(ctx, p.endpoint(), p.cfg.ReadyTimeout, p.proc.exited); err != nil {
		return fmt.Errorf("%w%s", err, p.proc.tail(p.cfg.LogPath))
	}
	return nil
}

// info records the server's version; a server that does not say is no
// failure.
func (p *Process) info(ctx context.Context) error {
	if info, err := resp.Info(ctx, p.endpoint().Addr, "server"); err == nil {
		p.facts.set("redis_version", info["redis_version"])
	}
	return nil
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
func (p *Process) Stop(ctx context.Context) error { return p.life.stop(ctx) }

// Facts returns what is known about the running guest.
func (p *Process) Facts() map[string]string {
	out := map[string]string{"kind": "process", "program": filepath.Base(p.cfg.Command[0])}
	p.facts.addTo(out)
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

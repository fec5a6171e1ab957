package guest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
	"github.com/benchbook/benchbook/runner/placement"
)

// ProcessConfig describes a program on the host that serves on Port.
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
	// Ready is the check that tells the program is ready; the zero value
	// is redis (PING).
	Ready Ready
	// Files are copied into the scratch folder before the program starts,
	// their {name} references resolved from Vars (and {dir}).
	Files []string
	Vars  map[string]any
	// DirBase is where the scratch folder is made ("": os.TempDir()). A
	// guest has a scratch folder when it has Files or its Command, Env or
	// Dir names {dir}, which is replaced by the folder.
	DirBase string
	// CPUs, when set, are the CPUs the program runs on: it starts with
	// that affinity, so every thread and child of its process group has
	// it too. Empty: not placed.
	CPUs placement.Set
}

// Process is a guest that is a process group on the host.
type Process struct {
	cfg  ProcessConfig
	life lifecycle

	mu      sync.Mutex
	proc    *proc
	scratch string
	facts   factSet
}

var _ Guest = (*Process)(nil)

// NewProcess checks the config and that the program exists; a missing
// program wraps ErrUnavailable.
func NewProcess(cfg ProcessConfig) (*Process, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("guest %s: empty command", cfg.Name)
	}
	// A program the guest copies into its scratch folder is not there yet.
	if _, err := exec.LookPath(cfg.Command[0]); err != nil && !strings.Contains(cfg.Command[0], scratchVar) {
		return nil, fmt.Errorf("guest %s: %w: %s not found (install it, or see benchbook doctor)", cfg.Name, ErrUnavailable, cfg.Command[0])
	}
	if cfg.needsScratch() {
		if err := checkBase(cfg.Name, cfg.DirBase); err != nil {
			return nil, err
		}
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	return &Process{cfg: cfg, life: lifecycle{guest: cfg.Name, trace: cfg.Trace}}, nil
}

func (p *Process) endpoint() Endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Endpoint{Addr: fmt.Sprintf("127.0.0.1:%d", p.cfg.Port), Dir: p.scratch}
}

// needsScratch reports whether the guest has files to copy or names {dir}.
func (c *ProcessConfig) needsScratch() bool {
	if len(c.Files) > 0 || strings.Contains(c.Dir, scratchVar) {
		return true
	}
	for _, a := range c.Command {
		if strings.Contains(a, scratchVar) {
			return true
		}
	}
	for _, v := range c.Env {
		if strings.Contains(v, scratchVar) {
			return true
		}
	}
	return false
}

// Start runs the command in its own process group and waits until it
// passes its ready check. On any failure it stops what it started before
// returning.
func (p *Process) Start(ctx context.Context) (Endpoint, error) {
	if err := p.life.start(ctx, p.steps()); err != nil {
		return Endpoint{}, err
	}
	return p.endpoint(), nil
}

// steps are the guest's start: its scratch folder and files when it has
// them, the program, and the wait for its ready check ("ping" and "info"
// for redis, "tcp", "http", "ready-line" for log, none for none).
func (p *Process) steps() []step {
	var s []step
	if p.cfg.needsScratch() {
		s = append(s, step{"scratch", p.makeScratch})
	}
	if len(p.cfg.Files) > 0 {
		s = append(s, step{"files", p.copyFiles})
	}
	s = append(s, step{"process", p.spawn})
	switch r := p.cfg.Ready; r.check() {
	case ReadyRedis:
		s = append(s, step{"ping", p.poll}, step{"info", p.info})
	case ReadyLog:
		s = append(s, step{"ready-line", p.line})
	case ReadyTCP, ReadyHTTP:
		s = append(s, step{r.check(), p.poll})
	}
	return s
}

// makeScratch makes the scratch folder and puts it where the table named
// {dir}; its undo removes it.
func (p *Process) makeScratch(context.Context) error {
	dir, err := makeScratch(&p.life, p.cfg.DirBase)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scratch = dir
	p.cfg.Command = slices.Clone(p.cfg.Command)
	for i, a := range p.cfg.Command {
		p.cfg.Command[i] = strings.ReplaceAll(a, scratchVar, dir)
	}
	p.cfg.Env = maps.Clone(p.cfg.Env)
	for k, v := range p.cfg.Env {
		p.cfg.Env[k] = strings.ReplaceAll(v, scratchVar, dir)
	}
	p.cfg.Dir = strings.ReplaceAll(p.cfg.Dir, scratchVar, dir)
	return nil
}

// copyFiles copies the guest's files into the scratch folder, filled in.
func (p *Process) copyFiles(context.Context) error {
	vars := maps.Clone(p.cfg.Vars)
	if vars == nil {
		vars = map[string]any{}
	}
	vars["dir"] = p.scratch
	vars["port"] = p.cfg.Port
	return copyTemplates(p.cfg.Files, p.scratch, vars)
}

// spawn starts the program; its undo stops the whole process group.
func (p *Process) spawn(ctx context.Context) error {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(p.cfg.Env)) {
		env = append(env, k+"="+p.cfg.Env[k])
	}
	pr, err := startProc(p.cfg.Name, p.cfg.Command, env, p.cfg.Dir, p.cfg.LogPath, p.cfg.Ready.Line, p.cfg.CPUs)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.proc = pr
	p.mu.Unlock()
	p.life.push(func(ctx context.Context) error { return pr.stop(ctx, p.cfg.Grace, nil) })
	return nil
}

// poll waits for the ready check to pass (a PONG, a connection, a 2xx), or
// the program's end.
func (p *Process) poll(ctx context.Context) error {
	if err := p.cfg.Ready.waitPoll(ctx, p.endpoint(), p.cfg.ReadyTimeout, p.proc.exited); err != nil {
		return fmt.Errorf("%w%s", err, p.proc.tail(p.cfg.LogPath))
	}
	return nil
}

// line waits for a line of the program's output to match the ready
// pattern, or the program's end.
func (p *Process) line(ctx context.Context) error {
	r := p.cfg.Ready
	lctx, cancel := context.WithTimeout(ctx, p.cfg.ReadyTimeout)
	defer cancel()
	err := p.proc.waitLine(lctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errExited):
		err = fmt.Errorf("exited before %s (%v)", r.wanted(), p.proc.exitErr())
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		err = fmt.Errorf("%w: %s within %s", ErrNotReady, r.missing(""), p.cfg.ReadyTimeout)
	}
	return fmt.Errorf("%w%s", err, p.proc.tail(p.cfg.LogPath))
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
func (p *Process) LogTail() string { return p.started().tail(p.cfg.LogPath) }

// Exited is closed when the process has ended, for callers that watch a
// guest during a load.
func (p *Process) Exited() <-chan struct{} { return p.started().exitedCh() }

// Pid is the process's pid, or 0 before Start.
func (p *Process) Pid() int { return p.started().pid() }

// started is the process once Start ran it, else nil.
func (p *Process) started() *proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc
}

// Stop sends SIGTERM to the process group, SIGKILL after the grace period,
// and waits for the process. It is idempotent.
func (p *Process) Stop(ctx context.Context) error { return p.life.stop(ctx) }

// Facts returns what is known about the running guest.
func (p *Process) Facts() map[string]string {
	out := map[string]string{"kind": "process", "program": filepath.Base(p.cfg.Command[0])}
	if len(p.cfg.CPUs) > 0 {
		out["placement"] = "on " + p.cfg.CPUs.Describe()
	}
	p.facts.addTo(out)
	return out
}

// ExitError describes how the process ended, if it has.
func (p *Process) ExitError() error {
	pr := p.started()
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

package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/benchbook/benchbook/internal/tmpdir"
	"github.com/benchbook/benchbook/runner/guestexec"
)

// Start boots the guest and waits for it to pass its ready check: for
// redis, its console saying redis is ready, then a PONG. A failed step (or
// a cancel) undoes the ones before it.
func (q *Qemu) Start(ctx context.Context) (Endpoint, error) {
	if err := q.life.start(ctx, q.steps()); err != nil {
		return Endpoint{}, err
	}
	if q.cfg.Ready.check() == ReadyNone {
		q.booted()
	}
	return q.endpoint(), nil
}

// booted records the boot time: the guest is ready now.
func (q *Qemu) booted() {
	q.mu.Lock()
	q.bootMs = float64(time.Since(q.begin).Microseconds()) / 1000
	q.mu.Unlock()
}

// steps are the guest's start: its network, qemu, and the waits for it.
func (q *Qemu) steps() []step {
	s := q.netSteps()
	s = append(s, step{"run-dir", q.runDir})
	if len(q.cfg.Boot.Scratch) > 0 {
		s = append(s, step{"scratch", q.scratch})
	}
	s = append(s, step{"qemu", q.spawn})
	switch r := q.cfg.Ready; r.check() {
	case ReadyRedis:
		s = append(s, step{"ready-line", q.readyLine}, step{"ping", q.ping}, step{"info", q.info})
	case ReadyLog:
		s = append(s, step{"ready-line", q.readyLine})
	case ReadyTCP, ReadyHTTP:
		s = append(s, step{r.check(), q.ping})
	}
	if q.cfg.Boot.Exec {
		s = append(s, step{"exec-port", q.execPort})
	}
	if len(q.cfg.Boot.Scratch) > 0 && q.cfg.ConsolePath != "" {
		s = append(s, step{"scratch-facts", q.scratchFacts})
	}
	return append(s, step{"net-facts", q.netInfo})
}

// pickPort chooses the loopback port user networking forwards.
func (q *Qemu) pickPort(context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.cfg.Net.HostPort = port
	q.mu.Unlock()
	return nil
}

// runDir makes the folder of the QMP socket.
func (q *Qemu) runDir(context.Context) error {
	dir := q.cfg.RunDir
	if dir == "" {
		d, err := tmpdir.New(qemuRunPrefix)
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	q.life.push(func(context.Context) error { return os.RemoveAll(dir) })
	q.mu.Lock()
	q.cfg.RunDir = dir
	q.mu.Unlock()
	return nil
}

// scratch makes the scratch disks' sparse files in the run folder, each
// removed by its undo.
func (q *Qemu) scratch(context.Context) error {
	q.mu.Lock()
	dir := q.cfg.RunDir
	ds := append([]ScratchDisk(nil), q.cfg.Boot.Scratch...)
	q.mu.Unlock()
	err := makeScratchFiles(&q.life, dir, ds)
	q.mu.Lock()
	q.cfg.Boot.Scratch = ds
	q.mu.Unlock()
	return err
}

// scratchFacts records what the guest made of its scratch disks.
func (q *Qemu) scratchFacts(context.Context) error {
	return diskFacts(q.cfg.ConsolePath, q.cfg.Boot.Scratch, q.facts.set)
}

// spawn starts qemu, placed on its CPUs when it has them; its undo asks
// it to quit over QMP, then signals its process group, and always reaps
// it.
func (q *Qemu) spawn(ctx context.Context) error {
	argv := q.Command()
	begin := time.Now()
	q.mu.Lock()
	var files []*os.File
	if q.tapFile != nil {
		files = []*os.File{q.tapFile}
	}
	q.mu.Unlock()
	p, err := startProcFiles(q.cfg.Name, argv, files, q.cfg.ConsolePath, q.cfg.Ready.consoleLine(q.cfg.Boot.ReadyLine), q.cfg.CPUs)
	if err != nil {
		return err
	}
	q.mu.Lock()
	q.proc, q.begin = p, begin
	sock := qmpSocket(q.cfg.RunDir)
	q.mu.Unlock()
	q.life.push(func(ctx context.Context) error {
		return p.stop(ctx, 3*time.Second, func() { qmpQuit(sock, time.Second) })
	})
	if len(q.cfg.CPUs) > 0 {
		if err := q.pinVCPUs(ctx, sock, p.exited); err != nil {
			return fmt.Errorf("%w%s", err, p.tail(q.cfg.ConsolePath))
		}
	}
	return nil
}

// execPort connects to the guest's exec port; its undo closes it.
func (q *Qemu) execPort(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := guestexec.Dial(ctx, execSocket(q.cfg.RunDir))
	if err != nil {
		return err
	}
	q.life.push(func(context.Context) error { return c.Close() })
	q.mu.Lock()
	q.exec = c
	q.mu.Unlock()
	return nil
}

// readyLine waits for the console line: the flavor's for redis (then a
// PONG follows), the notebook's for log (then the guest is ready).
func (q *Qemu) readyLine(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, q.cfg.ReadyTimeout)
	defer cancel()
	if err := q.proc.waitLine(rctx); err != nil {
		return fmt.Errorf("%w%s", q.explain(err), q.proc.tail(q.cfg.ConsolePath))
	}
	if q.cfg.Ready.check() == ReadyLog {
		q.booted()
	}
	return nil
}

// explain turns a readiness failure into what the user needs to know.
func (q *Qemu) explain(err error) error {
	what, never := "redis was ready", "never said redis is ready"
	if r := q.cfg.Ready; r.check() == ReadyLog {
		what, never = r.wanted(), fmt.Sprintf("printed no line matching %q", r.Line)
	}
	switch {
	case errors.Is(err, errExited):
		return fmt.Errorf("qemu exited before %s (%v)", what, q.proc.exitErr())
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: the console %s within %s (accel %s)", ErrNotReady, never, q.cfg.ReadyTimeout, q.cfg.Accel)
	}
	return err
}

// ping waits for the ready check to pass (a PONG, a connection, a 2xx)
// within what is left of the ready timeout (at least 5 s), and records the
// boot time.
func (q *Qemu) ping(ctx context.Context) error {
	left := q.cfg.ReadyTimeout - time.Since(q.begin)
	if err := q.cfg.Ready.waitPoll(ctx, q.endpoint(), max(left, 5*time.Second), q.proc.exited); err != nil {
		return fmt.Errorf("%w%s", err, q.proc.tail(q.cfg.ConsolePath))
	}
	q.booted()
	return nil
}

// info records the server's version; a server that does not say is no
// failure.
func (q *Qemu) info(ctx context.Context) error {
	if info, err := infoVia(ctx, q.endpoint()); err == nil {
		q.facts.set("redis_version", info["redis_version"])
	}
	return nil
}

// Stop undoes Start's steps in reverse: qemu, its run folder, the DHCP
// server, the namespace. It is safe to call more than once.
func (q *Qemu) Stop(ctx context.Context) error { return q.life.stop(ctx) }

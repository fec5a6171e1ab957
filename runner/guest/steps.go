package guest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A guest starts as a list of named steps, as firecracker-go-sdk's
// handlers do: each step that makes something (a namespace, a process, a
// domain) pushes how to undo it as soon as it exists, and Stop unwinds
// those undos once, in reverse, whether Start succeeded, failed or was
// cancelled. The teardown then follows from what was made, not from flags
// saying what might have been.

// ErrStarted is wrapped by Start when the guest was started (or stopped)
// before: a guest starts once.
var ErrStarted = errors.New("already started or stopped (a guest starts once: make a new one)")

// step is one stage of a guest's start.
type step struct {
	name string
	do   func(ctx context.Context) error
}

// StepEvent reports a step of a guest's start, or an undo of its stop,
// beginning (Done false) or ending (Done true, with Err and Took), for a
// trace.
type StepEvent struct {
	Guest string // the notebook's name of the guest
	Step  string // "namespace", "qemu", "domain", ...
	Undo  bool   // an undo run by Stop, not a step of Start
	Done  bool
	Err   error
	Took  time.Duration
}

// String is the event as the runner's trace names it: "guest-step NAME
// STEP" when a step begins, "guest-step-done ..." or "guest-step-failed
// ..." when it ends, and "guest-undo..." likewise for undos.
func (e StepEvent) String() string {
	kind := "guest-step"
	if e.Undo {
		kind = "guest-undo"
	}
	switch {
	case e.Done && e.Err != nil:
		kind += "-failed"
	case e.Done:
		kind += "-done"
	}
	return kind + " " + e.Guest + " " + e.Step
}

// undo is what a step pushed to remove what it made.
type undo struct {
	step string
	fn   func(context.Context) error
}

// lifecycle runs a guest's steps once and keeps the undo stack. Its zero
// value, with guest set, is ready to use.
type lifecycle struct {
	guest string          // the guest's name, for errors and events
	trace func(StepEvent) // nil: no trace

	mu      sync.Mutex
	started bool
	stopped bool
	current string // the step running, which pushed undos are named after
	undos   []undo
	late    []error // undos run at once because Stop came first
}

// start runs the steps in order. Between steps it checks ctx; after a
// failed step (or a cancel) it unwinds what the steps made and returns the
// step's error, named: "guest NAME: start: step STEP: ...".
func (l *lifecycle) start(ctx context.Context, steps []step) error {
	l.mu.Lock()
	if l.started || l.stopped {
		l.mu.Unlock()
		return fmt.Errorf("guest %s: %w", l.guest, ErrStarted)
	}
	l.started = true
	l.mu.Unlock()
	for _, s := range steps {
		if err := l.run(ctx, s); err != nil {
			serr := l.stop(context.WithoutCancel(ctx))
			l.mu.Lock()
			late := errors.Join(l.late...)
			l.mu.Unlock()
			return errors.Join(fmt.Errorf("guest %s: start: %w", l.guest, err), late, serr)
		}
	}
	return nil
}

// run runs one step. When ctx ended, that is the error, whatever the step
// says: a cancel explains a failure better than what it broke.
func (l *lifecycle) run(ctx context.Context, s step) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cancelled before step %s: %w", s.name, err)
	}
	l.mu.Lock()
	stopped := l.stopped
	l.current = s.name
	l.mu.Unlock()
	if stopped {
		return fmt.Errorf("stopped before step %s", s.name)
	}
	l.emit(StepEvent{Step: s.name})
	begin := time.Now()
	err := s.do(ctx)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	l.emit(StepEvent{Step: s.name, Done: true, Err: err, Took: time.Since(begin)})
	if err != nil {
		return fmt.Errorf("step %s: %w", s.name, err)
	}
	return nil
}

// push registers the undo of what the running step just made. After Stop
// (which a step cannot see coming) the undo runs at once.
func (l *lifecycle) push(fn func(context.Context) error) {
	l.mu.Lock()
	if !l.stopped {
		l.undos = append(l.undos, undo{step: l.current, fn: fn})
		l.mu.Unlock()
		return
	}
	name := l.current
	l.mu.Unlock()
	if err := fn(context.Background()); err != nil {
		l.mu.Lock()
		l.late = append(l.late, fmt.Errorf("undo %s: %w", name, err))
		l.mu.Unlock()
	}
}

// stop unwinds the undo stack once, in reverse, and joins the errors. It
// is safe to call more than once, and before start.
func (l *lifecycle) stop(ctx context.Context) error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil
	}
	l.stopped = true
	undos := l.undos
	l.undos = nil
	l.mu.Unlock()
	var errs []error
	for i := len(undos) - 1; i >= 0; i-- {
		u := undos[i]
		l.emit(StepEvent{Step: u.step, Undo: true})
		begin := time.Now()
		err := u.fn(ctx)
		l.emit(StepEvent{Step: u.step, Undo: true, Done: true, Err: err, Took: time.Since(begin)})
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", u.step, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("guest %s: stop: %w", l.guest, err)
	}
	return nil
}

func (l *lifecycle) emit(e StepEvent) {
	if l.trace != nil {
		e.Guest = l.guest
		l.trace(e)
	}
}

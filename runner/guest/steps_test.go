package guest

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// recorder builds steps that log what they do and push undos that log
// theirs, for the lifecycle tests.
type recorder struct {
	l   *lifecycle
	log []string
}

// make is a step that pushes an undo (failing with undoErr, if set).
func (r *recorder) make(name string, undoErr error) step {
	return step{name, func(context.Context) error {
		r.log = append(r.log, "do "+name)
		r.l.push(func(context.Context) error {
			r.log = append(r.log, "undo "+name)
			return undoErr
		})
		return nil
	}}
}

// fail is a step that fails before making anything.
func (r *recorder) fail(name string, err error) step {
	return step{name, func(context.Context) error {
		r.log = append(r.log, "do "+name)
		return err
	}}
}

func newRecorder() *recorder {
	r := &recorder{}
	r.l = &lifecycle{guest: "g", trace: func(e StepEvent) { r.log = append(r.log, e.String()) }}
	return r
}

func TestLifecycle(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name     string
		steps    func(r *recorder, cancel context.CancelFunc) []step
		startErr string // "" : Start succeeds
		is       error  // errors.Is of Start's error
		log      string // after Start and two Stops
	}{
		{
			name: "undo in reverse, once",
			steps: func(r *recorder, _ context.CancelFunc) []step {
				return []step{r.make("a", nil), r.make("b", nil), r.make("c", nil)}
			},
			log: "do a, do b, do c | undo c, undo b, undo a",
		},
		{
			name: "a failed step undoes the ones before",
			steps: func(r *recorder, _ context.CancelFunc) []step {
				return []step{r.make("a", nil), r.make("b", nil), r.fail("c", boom), r.make("d", nil)}
			},
			startErr: "guest g: start: step c: boom",
			is:       boom,
			log:      "do a, do b, do c, undo b, undo a |",
		},
		{
			name: "a cancel between steps stops before the next",
			steps: func(r *recorder, cancel context.CancelFunc) []step {
				cancelling := r.make("a", nil)
				do := cancelling.do
				cancelling.do = func(ctx context.Context) error { cancel(); return do(ctx) }
				return []step{cancelling, r.make("b", nil)}
			},
			startErr: "guest g: start: cancelled before step b: context canceled",
			is:       context.Canceled,
			log:      "do a, undo a |",
		},
		{
			name: "a step failing because of a cancel reports the cancel",
			steps: func(r *recorder, cancel context.CancelFunc) []step {
				return []step{r.make("a", nil), {"b", func(context.Context) error { cancel(); return boom }}}
			},
			startErr: "guest g: start: step b: context canceled",
			is:       context.Canceled,
			log:      "do a, undo a |",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.l.trace = nil
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := r.l.start(ctx, tt.steps(r, cancel))
			switch {
			case tt.startErr == "" && err != nil:
				t.Fatalf("start: %v", err)
			case tt.startErr != "" && (err == nil || err.Error() != tt.startErr):
				t.Fatalf("start = %v, want %q", err, tt.startErr)
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("start = %v, want errors.Is %v", err, tt.is)
			}
			r.log = append(r.log, "|")
			for range 2 {
				if err := r.l.stop(context.Background()); err != nil {
					t.Errorf("stop: %v", err)
				}
			}
			got := strings.NewReplacer(", |, ", " | ", ", |", " |").Replace(strings.Join(r.log, ", "))
			if got != tt.log {
				t.Errorf("log:\n got %s\nwant %s", got, tt.log)
			}
			if err := r.l.start(ctx, nil); !errors.Is(err, ErrStarted) {
				t.Errorf("start after stop = %v, want ErrStarted", err)
			}
		})
	}
}

// Undo errors are all reported, joined, and the undos after a failing one
// still run.
func TestLifecycleUndoErrors(t *testing.T) {
	r := newRecorder()
	r.l.trace = nil
	e1, e2 := errors.New("busy"), errors.New("gone")
	if err := r.l.start(context.Background(), []step{r.make("a", e1), r.make("b", nil), r.make("c", e2)}); err != nil {
		t.Fatal(err)
	}
	err := r.l.stop(context.Background())
	if !errors.Is(err, e1) || !errors.Is(err, e2) {
		t.Fatalf("stop = %v, want both undo errors", err)
	}
	if want := "guest g: stop: undo c: gone\nundo a: busy"; err.Error() != want {
		t.Errorf("stop = %q, want %q", err, want)
	}
	if got := strings.Join(r.log, ", "); got != "do a, do b, do c, undo c, undo b, undo a" {
		t.Errorf("log %s", got)
	}
}

// Stop before Start is a no-op that keeps the guest from starting; a second
// Start is refused without running a step.
func TestLifecycleStartOnce(t *testing.T) {
	r := newRecorder()
	if err := r.l.stop(context.Background()); err != nil {
		t.Fatalf("stop before start: %v", err)
	}
	if err := r.l.start(context.Background(), []step{r.make("a", nil)}); !errors.Is(err, ErrStarted) {
		t.Errorf("start after stop = %v, want ErrStarted", err)
	}
	r2 := newRecorder()
	r2.l.trace = nil
	if err := r2.l.start(context.Background(), []step{r2.make("a", nil)}); err != nil {
		t.Fatal(err)
	}
	err := r2.l.start(context.Background(), []step{r2.make("b", nil)})
	if !errors.Is(err, ErrStarted) || !strings.HasPrefix(err.Error(), "guest g: ") {
		t.Errorf("second start = %v, want guest g: ... ErrStarted", err)
	}
	if len(r.log)+len(r2.log) != 1 {
		t.Errorf("steps ran: %v %v", r.log, r2.log)
	}
}

// A Stop that comes while a step is making something (from another
// goroutine) is not missed: the step's undo runs at once, and Start fails.
func TestLifecycleStopDuringStart(t *testing.T) {
	r := newRecorder()
	r.l.trace = nil
	a := r.make("a", nil)
	racing := step{"a", func(ctx context.Context) error {
		r.l.stop(ctx) // as if another goroutine stopped the guest now
		return a.do(ctx)
	}}
	err := r.l.start(context.Background(), []step{racing, r.make("b", nil)})
	if err == nil || !strings.Contains(err.Error(), "stopped before step b") {
		t.Fatalf("start = %v, want stopped before step b", err)
	}
	if got := strings.Join(r.log, ", "); got != "do a, undo a" {
		t.Errorf("log %s", got)
	}
}

// The trace sees each step and each undo begin and end, by name.
func TestLifecycleTrace(t *testing.T) {
	r := newRecorder()
	err := r.l.start(context.Background(), []step{r.make("tap", nil), r.fail("qemu", errors.New("no"))})
	if err == nil {
		t.Fatal("start succeeded")
	}
	want := []string{
		"guest-step g tap", "do tap", "guest-step-done g tap",
		"guest-step g qemu", "do qemu", "guest-step-failed g qemu",
		"guest-undo g tap", "undo tap", "guest-undo-done g tap",
	}
	if got := strings.Join(r.log, "\n"); got != strings.Join(want, "\n") {
		t.Errorf("trace:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

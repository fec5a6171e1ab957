package guestexec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WaitFunc waits for process pid to end and returns its status and
// resource use. The guest's init, PID 1, reaps every process itself (it
// adopts orphans), so it passes its reaper's; elsewhere unix.Wait4(pid)
// does.
type WaitFunc func(pid int) (unix.WaitStatus, unix.Rusage, error)

// Wait4 is the WaitFunc of a process that reaps only its own children.
func Wait4(pid int) (unix.WaitStatus, unix.Rusage, error) {
	var ws unix.WaitStatus
	var ru unix.Rusage
	for {
		_, err := unix.Wait4(pid, &ws, 0, &ru)
		if !errors.Is(err, unix.EINTR) {
			return ws, ru, err
		}
	}
}

// BaseEnv is the environment of every program run in the guest, before a
// request's own: LC_ALL=C for numbers with '.' decimals, as on the host.
var BaseEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", "LC_ALL=C"}

// Exec runs req as a process group of its own, its output going to files
// (not pipes: nothing of the init runs while it does), until it exits, its
// timeout passes or cancel closes; the group is killed on every path, so
// nothing it started outlives it.
func Exec(req Request, cancel <-chan struct{}, wait WaitFunc) Reply {
	defer removeAll(req.Remove)
	fail := func(err error) Reply { return Reply{Error: err.Error()} }
	path, rep, ok := prepare(req)
	if !ok {
		return rep
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	defer null.Close()
	stdout, stderr := null, null
	for _, f := range []struct {
		want bool
		out  **os.File
	}{{req.StdoutLimit > 0, &stdout}, {req.StderrTail > 0, &stderr}} {
		if !f.want {
			continue
		}
		t, err := os.CreateTemp("", "benchbook-exec-")
		if err != nil {
			return fail(err)
		}
		defer os.Remove(t.Name())
		defer t.Close()
		*f.out = t
	}
	env := append(append([]string{}, BaseEnv...), req.Env...)
	dir := req.Dir
	if dir == "" {
		dir = "/"
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	start := time.Now()
	p, err := os.StartProcess(path, req.Argv, &os.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []*os.File{null, stdout, stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return fail(err)
	}
	var why atomic.Value // "timeout" or "cancel"
	done := make(chan struct{})
	go func() {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-done:
			return
		case <-timer.C:
			why.Store("timeout")
		case <-cancel:
			why.Store("cancel")
		}
		_ = unix.Kill(-p.Pid, unix.SIGKILL)
	}()
	ws, ru, werr := wait(p.Pid)
	rep = Reply{Wall: time.Since(start)}
	close(done)
	_ = unix.Kill(-p.Pid, unix.SIGKILL) // what it left running
	if werr != nil {
		return fail(fmt.Errorf("waiting for %s: %w", req.Argv[0], werr))
	}
	rep.User = time.Duration(ru.Utime.Nano())
	rep.Sys = time.Duration(ru.Stime.Nano())
	rep.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	switch {
	case ws.Exited():
		rep.Exit = ws.ExitStatus()
	case ws.Signaled():
		rep.Exit, rep.Signal = -1, ws.Signal().String()
	}
	switch why.Load() {
	case "timeout":
		rep.TimedOut = true
	case "cancel":
		rep.Cancelled = true
	}
	if stdout != null {
		rep.Stdout = readHead(stdout, req.StdoutLimit)
	}
	if stderr != null {
		rep.Stderr = readTail(stderr, req.StderrTail)
	}
	rep.Collected, err = Collect(req.Collect, req.CollectLimit)
	if err != nil {
		rep.CollectError = err.Error()
	}
	return rep
}

// Collect reads the files matching patterns, sorted by path, whole files
// only, until limit bytes (0: DefaultCollectLimit); an error says what was
// left out. The host side of a tool running on the host reads its logs
// with it too.
func Collect(patterns []string, limit int) (map[string][]byte, error) {
	if limit <= 0 {
		limit = DefaultCollectLimit
	}
	var out map[string][]byte
	var errs []error
	for _, pat := range patterns {
		paths, err := filepath.Glob(pat)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			switch {
			case err != nil:
				errs = append(errs, err)
				continue
			case len(b) > limit:
				errs = append(errs, fmt.Errorf("%s: %d bytes, over the %d left of the limit", p, len(b), limit))
				continue
			}
			if out == nil {
				out = map[string][]byte{}
			}
			out[p] = b
			limit -= len(b)
		}
	}
	return out, errors.Join(errs...)
}

// readHead is f's first limit bytes; readTail its last limit.
func readHead(f *os.File, limit int) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	return readAt(f, 0, int(min(fi.Size(), int64(limit))))
}

func readTail(f *os.File, limit int) []byte {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	from := max(fi.Size()-int64(limit), 0)
	return readAt(f, from, int(fi.Size()-from))
}

// prepare makes the request's folders and files and finds its program;
// when there is nothing to run, or it cannot run, ok is false and rep says
// so.
func prepare(req Request) (path string, rep Reply, ok bool) {
	fail := func(err error) (string, Reply, bool) { return "", Reply{Error: err.Error()}, false }
	for _, d := range req.Mkdir {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	if len(req.Argv) == 0 {
		return "", Reply{}, false // only folders to make or remove
	}
	if req.Argv[0] == "" {
		return fail(errors.New("no program to run"))
	}
	for p, b := range req.Files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fail(err)
		}
	}
	path = req.Argv[0]
	if !strings.Contains(path, "/") {
		var err error
		if path, err = exec.LookPath(path); err != nil {
			return "", Reply{Error: fmt.Sprintf("not found in the guest's image (add %s to the guest's programs)", req.Argv[0]), NotFound: true}, false
		}
	}
	return path, Reply{}, true
}

func readAt(f *os.File, off int64, n int) []byte {
	b := make([]byte, n)
	got, _ := f.ReadAt(b, off)
	return b[:got]
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.RemoveAll(p)
	}
}

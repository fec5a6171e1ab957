package guestexec

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pair is a client and a server over a pipe, the server running real
// processes on this machine as the guest's init would.
func pair(t *testing.T) *Client {
	t.Helper()
	host, guest := net.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- Serve(guest, func(req Request, cancel <-chan struct{}) Reply { return Exec(req, cancel, Wait4) })
	}()
	c := NewClient(host)
	t.Cleanup(func() {
		c.Close()
		guest.Close()
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "closed pipe") {
			t.Errorf("serve: %v", err)
		}
	})
	return c
}

func TestExec(t *testing.T) {
	c := pair(t)
	dir := t.TempDir()
	work := filepath.Join(dir, "work", "deep")
	tests := []struct {
		name  string
		req   Request
		check func(t *testing.T, rep Reply)
	}{
		{
			name: "output, status and the kernel's account",
			req:  Request{Argv: []string{"sh", "-c", "echo out; echo err >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3"}, StdoutLimit: 100, StderrTail: 100},
			check: func(t *testing.T, rep Reply) {
				if rep.Exit != 3 || rep.Success() || rep.ExitText() != "exit status 3" {
					t.Errorf("exit %d %q", rep.Exit, rep.ExitText())
				}
				if string(rep.Stdout) != "out\n" || string(rep.Stderr) != "err\n" {
					t.Errorf("stdout %q stderr %q", rep.Stdout, rep.Stderr)
				}
				if rep.User+rep.Sys <= 0 || rep.MaxRSS <= 0 || rep.Wall < rep.User {
					t.Errorf("wall %v user %v sys %v rss %d", rep.Wall, rep.User, rep.Sys, rep.MaxRSS)
				}
			},
		},
		{
			name: "limits keep the start of stdout and the end of stderr",
			req:  Request{Argv: []string{"sh", "-c", "printf 0123456789; printf abcdefghij >&2"}, StdoutLimit: 4, StderrTail: 3},
			check: func(t *testing.T, rep Reply) {
				if string(rep.Stdout) != "0123" || string(rep.Stderr) != "hij" {
					t.Errorf("stdout %q stderr %q", rep.Stdout, rep.Stderr)
				}
			},
		},
		{
			name: "folders and files before, removal after",
			req: Request{
				Argv: []string{"sh", "-c", "cat job; pwd"}, Dir: work, StdoutLimit: 1000,
				Mkdir: []string{work}, Files: map[string][]byte{filepath.Join(work, "job"): []byte("[global]\n")},
				Remove: []string{filepath.Join(dir, "work")},
			},
			check: func(t *testing.T, rep Reply) {
				if !rep.Success() || string(rep.Stdout) != "[global]\n"+work+"\n" {
					t.Errorf("%+v", rep)
				}
				if _, err := os.Stat(filepath.Join(dir, "work")); !os.IsNotExist(err) {
					t.Errorf("not removed: %v", err)
				}
			},
		},
		{
			name: "files the program wrote come back, whole ones within the limit, before removal",
			req: Request{
				Argv: []string{"sh", "-c", "printf 1234 > a_1.log; printf 12345678 > a_2.log; printf x > b.log"}, Dir: work,
				Mkdir: []string{work}, Collect: []string{filepath.Join(work, "a_*.log")}, CollectLimit: 10,
				Remove: []string{filepath.Join(dir, "work")},
			},
			check: func(t *testing.T, rep Reply) {
				if !rep.Success() || len(rep.Collected) != 1 || string(rep.Collected[filepath.Join(work, "a_1.log")]) != "1234" {
					t.Errorf("collected %q", rep.Collected)
				}
				if !strings.Contains(rep.CollectError, "a_2.log: 8 bytes, over the 6 left") {
					t.Errorf("collect error %q", rep.CollectError)
				}
			},
		},
		{
			name: "the environment has LC_ALL=C and the request's",
			req:  Request{Argv: []string{"sh", "-c", "echo $LC_ALL $X"}, Env: []string{"X=y"}, StdoutLimit: 100},
			check: func(t *testing.T, rep Reply) {
				if string(rep.Stdout) != "C y\n" {
					t.Errorf("stdout %q", rep.Stdout)
				}
			},
		},
		{
			name: "a program the image lacks",
			req:  Request{Argv: []string{"no-such-program-here"}},
			check: func(t *testing.T, rep Reply) {
				if !rep.NotFound || !strings.Contains(rep.Error, "not found in the guest's image") {
					t.Errorf("%+v", rep)
				}
			},
		},
		{
			name: "the timeout kills the whole group",
			req:  Request{Argv: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: 200 * time.Millisecond},
			check: func(t *testing.T, rep Reply) {
				if !rep.TimedOut || rep.Signal != "killed" || rep.Wall > 5*time.Second {
					t.Errorf("%+v", rep)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := c.Exec(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rep)
		})
	}
}

// A cancelled context kills the program in the guest and the port stays
// usable.
func TestExecCancel(t *testing.T) {
	c := pair(t)
	ctx, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, errors.New("the repeat's timeout"))
	defer cancel()
	begin := time.Now()
	rep, err := c.Exec(ctx, Request{Argv: []string{"sleep", "30"}})
	if err == nil || err.Error() != "the repeat's timeout" || !rep.Cancelled || rep.Signal != "killed" {
		t.Fatalf("rep %+v err %v", rep, err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("cancel took %v", took)
	}
	rep, err = c.Exec(context.Background(), Request{Argv: []string{"true"}})
	if err != nil || !rep.Success() {
		t.Errorf("after a cancel: %+v %v", rep, err)
	}
}

// A port that closes fails the request in progress and every later one.
func TestExecPortGone(t *testing.T) {
	host, guest := net.Pipe()
	c := NewClient(host)
	go func() {
		b := make([]byte, 1024)
		guest.Read(b) // the request, then the guest is gone
		guest.Close()
	}()
	if _, err := c.Exec(context.Background(), Request{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "exec port") {
		t.Fatalf("err %v", err)
	}
	if _, err := c.Exec(context.Background(), Request{Argv: []string{"true"}}); err == nil || !strings.Contains(err.Error(), "closed since") {
		t.Errorf("second: %v", err)
	}
}

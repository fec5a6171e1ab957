// Package redistest starts a real redis-server for tests.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

// Start runs redis-server on a free 127.0.0.1 port, without persistence, and
// waits until it answers PING. stop kills and reaps it; it is safe to call
// more than once (a test may call it to kill the server mid-load) and runs
// anyway at the end of the test.
func Start(tb testing.TB) (addr string, stop func()) {
	tb.Helper()
	s, err := Launch(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s.Addr, s.Stop
}

// Server is a redis-server started by Launch. Its Pid is its process
// group's id too, for tests that pause it with SIGSTOP to play a hung
// server; Stop kills the group and waits, and is safe to call more than
// once and from several goroutines.
type Server struct {
	Addr string
	*testutil.Proc
}

// Launch is Start for programs that are not tests (the load benchmark
// harness): the caller must call Stop. dir receives redis' working files.
func Launch(dir string) (*Server, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not on PATH (apt-get install -y redis-server): %w", err)
	}
	// A free port can be taken between asking for it and redis binding it.
	var lastErr error
	for range 3 {
		s, err := launch(path, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("starting redis-server: %w", lastErr)
}

func launch(path, dir string) (*Server, error) {
	port, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	p, err := testutil.StartProc(path,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Proc: p}
	err = s.WaitReady(func() error {
		_, err := Do(context.Background(), s.Addr, "PING")
		return err
	})
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, testutil.ErrExited):
		return nil, fmt.Errorf("redis-server exited before answering PING: %s", strings.TrimSpace(s.Output()))
	default:
		s.Stop()
		return nil, fmt.Errorf("redis-server at %s did not answer PING within 10s: %s", s.Addr, strings.TrimSpace(s.Output()))
	}
}

// Do sends one command to addr and returns the first line of its reply
// without the type byte (":42" gives "42"); an error reply is an error.
// Tests use it for FLUSHALL, DBSIZE and the like.
func Do(ctx context.Context, addr string, args ...string) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '-' {
		return "", fmt.Errorf("%s: %s", args[0], line)
	}
	return line[1:], nil
}

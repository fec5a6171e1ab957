// Package redistest starts a real redis-server for tests.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// Server is a redis-server started by Launch.
type Server struct {
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
	out    testutil.SyncBuffer
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
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{})}
	s.cmd = exec.Command(path,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.cmd.Wait(); close(s.exited) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := Do(context.Background(), s.Addr, "PING"); err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("redis-server exited before answering PING: %s", bytes.TrimSpace(s.out.Bytes()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server at %s did not answer PING within 10s: %s", s.Addr, bytes.TrimSpace(s.out.Bytes()))
		}
	}
}

// Pid is the server's process id (its process group id too), for tests that
// pause it with SIGSTOP to play a hung server.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop kills the server's process group and waits for it. It is safe to call
// more than once and from several goroutines.
func (s *Server) Stop() {
	s.once.Do(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

// Package resptest plays the server side of RESP for tests: a listener on
// 127.0.0.1 that serves each connection it accepts, the reader of the
// requests clients send, a server loop that answers each by its command's
// name, and the endless status line of a hostile server.
// It stands for a broken or hostile guest, never for redis.
package resptest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// Listen serves every connection accepted on a fresh 127.0.0.1 port with
// serve, each in its own goroutine, until the test ends, and returns the
// address.
func Listen(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serve(conn)
		}
	}()
	return l.Addr().String()
}

// ReadCommand reads one request as clients send them: an array of bulk
// strings, small (1 to 16 of them, each at most 1 MiB).
func ReadCommand(r *bufio.Reader) ([]string, error) {
	header := func(prefix byte) (int, error) {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if len(line) < 4 || line[0] != prefix || !strings.HasSuffix(line, "\r\n") {
			return 0, fmt.Errorf("bad request line %q", line)
		}
		n, err := strconv.Atoi(line[1 : len(line)-2])
		if err != nil || n < 0 || n > 1<<20 {
			return 0, fmt.Errorf("bad request length %q", line)
		}
		return n, nil
	}
	argc, err := header('*')
	if err != nil {
		return nil, err
	}
	if argc == 0 || argc > 16 {
		return nil, fmt.Errorf("%d arguments", argc)
	}
	args := make([]string, argc)
	for i := range args {
		n, err := header('$')
		if err != nil {
			return nil, err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:n])
	}
	return args, nil
}

// Serve answers each request read from conn with reply(its command name,
// upper-cased) until the client hangs up or sends what ReadCommand
// refuses; a reply of "+" alone is EndlessStatus. It closes conn.
func Serve(conn net.Conn, reply func(name string) string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		args, err := ReadCommand(r)
		if err != nil {
			return
		}
		out := reply(strings.ToUpper(args[0]))
		if out == "+" {
			EndlessStatus(conn)
			return
		}
		if _, err := io.WriteString(conn, out); err != nil {
			return
		}
	}
}

// EndlessStatus writes a status line that never ends, "+" then bytes
// without CRLF, until the client hangs up.
func EndlessStatus(w io.Writer) {
	if _, err := io.WriteString(w, "+"); err != nil {
		return
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

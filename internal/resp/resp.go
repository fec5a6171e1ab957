// Package resp is a tiny RESP (redis protocol) client for control traffic:
// readiness PINGs and INFO. The load generators have their own hot-path
// codec; this one favours clarity over speed.
package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// ServerError is an error reply (-ERR ...) from the server.
type ServerError string

func (e ServerError) Error() string { return "server replied: " + string(e) }

// Do dials addr, sends one command and returns its reply: a string for
// simple and bulk strings, an int64 for integers, nil for a nil bulk string,
// []any for arrays, and ServerError for error replies.
func Do(ctx context.Context, addr string, args ...string) (any, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return DoConn(ctx, conn, args...)
}

// DoConn sends one command on an open connection and reads its reply.
func DoConn(ctx context.Context, conn net.Conn, args ...string) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	conn.SetDeadline(deadline)
	// Close the connection when ctx ends so a blocked read returns.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write(Command(args...)); err != nil {
		return nil, err
	}
	return Read(bufio.NewReader(conn))
}

// Command encodes args as a RESP array of bulk strings.
func Command(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// Read reads one reply.
func Read(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, ServerError(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("malformed bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("malformed array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, 0, n)
		for range n {
			v, err := Read(r)
			var se ServerError
			if err != nil && !errors.As(err, &se) {
				return nil, err
			}
			if err != nil {
				v = se
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line[0])
}

// Ping reports whether addr answers PING with PONG.
func Ping(ctx context.Context, addr string) error {
	v, err := Do(ctx, addr, "PING")
	return pong(v, err)
}

// PingConn is Ping on an open connection.
func PingConn(ctx context.Context, conn net.Conn) error {
	v, err := DoConn(ctx, conn, "PING")
	return pong(v, err)
}

func pong(v any, err error) error {
	if err != nil {
		return err
	}
	if v != "PONG" {
		return fmt.Errorf("PING answered %q, want PONG", v)
	}
	return nil
}

// Info returns the fields of INFO section as a map ("redis_version" -> "7.0.15").
func Info(ctx context.Context, addr, section string) (map[string]string, error) {
	v, err := Do(ctx, addr, "INFO", section)
	return parseInfo(v, err)
}

// InfoConn is Info on an open connection.
func InfoConn(ctx context.Context, conn net.Conn, section string) (map[string]string, error) {
	v, err := DoConn(ctx, conn, "INFO", section)
	return parseInfo(v, err)
}

func parseInfo(v any, err error) (map[string]string, error) {
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("INFO answered %T", v)
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

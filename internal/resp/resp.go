// Package resp is a tiny RESP (redis protocol) client for control traffic:
// readiness PINGs and INFO. The load generators have their own hot-path
// codec; this one favours clarity over speed.
//
// The server is a guest, and a guest is not trusted: a reply can announce
// any length. Read holds every reply to the limits below, which are far
// above what PING and INFO need, and reports anything past them or outside
// RESP as a *ProtocolError instead of allocating what the server asked for.
package resp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits of one reply read by Read. INFO everything is about 10 KB; the
// longest line redis writes is an error message of a few hundred bytes.
const (
	MaxBulk     = 1 << 20  // bytes of all the bulk strings of one reply together
	MaxElements = 1024     // elements of all the arrays of one reply together
	MaxDepth    = 8        // arrays within arrays (COMMAND INFO nests 6)
	MaxLine     = 64 << 10 // bytes of one status, error or header line
)

// ServerError is an error reply (-ERR ...) from the server.
type ServerError string

func (e ServerError) Error() string { return "server replied: " + string(e) }

// ProtocolError is a reply that is not RESP, or that claims more than its
// reader accepts. The connection is out of step after one and must be
// closed. The load generators report their own with it too.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return e.Msg }

func protocolf(format string, a ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, a...)}
}

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

// Read reads one reply, within the limits above.
func Read(r *bufio.Reader) (any, error) {
	b := budget{bytes: MaxBulk, elements: MaxElements}
	return b.read(r, 0)
}

// budget is what is left of a reply's limits while it is read.
type budget struct {
	bytes, elements int64
}

func (b *budget) read(r *bufio.Reader, depth int) (any, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return string(body), nil
	case '-':
		return nil, ServerError(body)
	case ':':
		v, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return nil, protocolf("the server sent the integer reply %s, not a 64-bit integer", Quote(body))
		}
		return v, nil
	case '$':
		return b.bulk(r, body)
	case '*':
		return b.array(r, body, depth)
	}
	return nil, protocolf("the server sent a reply of unknown type %q (%s): not RESP", line[0], Quote(line))
}

func (b *budget) bulk(r *bufio.Reader, body []byte) (any, error) {
	n, ok := Length(body)
	switch {
	case !ok:
		return nil, BadLength("bulk", body)
	case n == -1:
		return nil, nil
	case n > b.bytes:
		return nil, protocolf("the server sent a bulk reply of %s bytes; benchbook reads control replies (PING, INFO) of at most %d MiB in all", Digits(body), MaxBulk>>20)
	}
	b.bytes -= n
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, unexpected(err)
	}
	if !bytes.HasSuffix(buf, crlf) {
		return nil, protocolf("the server sent a bulk reply of %d bytes not followed by CRLF: not RESP", n)
	}
	return string(buf[:n]), nil
}

func (b *budget) array(r *bufio.Reader, body []byte, depth int) (any, error) {
	n, ok := Length(body)
	switch {
	case !ok:
		return nil, BadLength("array", body)
	case n == -1:
		return nil, nil
	case n > b.elements:
		return nil, protocolf("the server sent an array of %s elements; benchbook reads control replies (PING, INFO) of at most %d elements in all", Digits(body), MaxElements)
	case depth >= MaxDepth:
		return nil, protocolf("the server sent arrays nested more than %d deep; benchbook's control commands (PING, INFO) need none", MaxDepth)
	}
	b.elements -= n
	// Grown as elements arrive: a count is a claim, the elements are facts.
	out := make([]any, 0, min(n, 16))
	for range n {
		v, err := b.read(r, depth+1)
		var se ServerError
		if errors.As(err, &se) {
			v, err = se, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

var crlf = []byte("\r\n")

// readLine returns one CRLF-terminated line without its CRLF, at least one
// byte long (the type), refusing lines longer than MaxLine.
func readLine(r *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(chunk) > MaxLine {
				return nil, protocolf("the server sent a line longer than %d KiB, starting %s: not a reply to PING or INFO", MaxLine>>10, Quote(append(long, chunk...)))
			}
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			if len(long)+len(chunk) > 0 {
				return nil, unexpected(err)
			}
			return nil, err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
		}
		if len(line) > MaxLine {
			return nil, protocolf("the server sent a line longer than %d KiB, starting %s: not a reply to PING or INFO", MaxLine>>10, Quote(line))
		}
		if len(line) < 3 || line[len(line)-2] != '\r' {
			return nil, protocolf("the server sent the line %s, not a RESP reply (type, text, CRLF)", Quote(line))
		}
		return line[:len(line)-2], nil
	}
}

// unexpected says that a reply was cut short.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Length parses the length of a bulk string or an array as RESP writes it:
// -1 (nil) or decimal digits. A number past an int64 saturates to
// math.MaxInt64, so a caller comparing it with its limit refuses it; ok is
// false for anything else (other negatives, signs, spaces, empty). It never
// allocates: the load generators' hot path uses it.
func Length(b []byte) (n int64, ok bool) {
	if len(b) == 2 && b[0] == '-' && b[1] == '1' {
		return -1, true
	}
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64 // keep checking the digits
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// BadLength is the error for a length Length refuses; what is "bulk" or
// "array".
func BadLength(what string, b []byte) error {
	if len(b) > 1 && b[0] == '-' {
		if _, ok := Length(b[1:]); ok {
			return protocolf("the server sent a %s length of %s; the only negative length RESP has is -1 (nil)", what, Quote(b))
		}
	}
	return protocolf("the server sent the %s length %s, not a number", what, Quote(b))
}

// Digits is a length as the server wrote it, without leading zeros: exact
// even past an int64, for messages.
func Digits(b []byte) string {
	s := strings.TrimLeft(string(b), "0")
	if s == "" {
		return "0"
	}
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Quote quotes the start of what a server sent, for a message.
func Quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
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
		return fmt.Errorf("PING answered %s, want PONG", describe(v))
	}
	return nil
}

// describe is an unexpected reply, short, for a message.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return Quote([]byte(s))
	}
	return fmt.Sprintf("%T %s", v, Quote([]byte(fmt.Sprint(v))))
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

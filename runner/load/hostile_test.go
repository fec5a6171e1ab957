package load

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
	"github.com/benchbook/benchbook/internal/testutil/resptest"
)

// A guest's server is not trusted. Against a server that answers SET or
// GET with more than the load can have asked for, the builtin load stops at
// once with the reason, instead of waiting out its timeout for bytes that
// never come (or, in the control client, allocating what the server asks).
func TestBuiltinHostileServer(t *testing.T) {
	tests := []struct {
		name     string
		set, get string // replies; empty: what redis answers
		want     string
	}{
		{name: "huge bulk", set: "$99999999999999\r\n", get: "$99999999999999\r\n",
			want: "bulk reply of 99999999999999 bytes; the load asked for values of at most 32 bytes"},
		{name: "max int64 bulk", set: "$9223372036854775807\r\n", get: "$9223372036854775807\r\n",
			want: "bulk reply of 9223372036854775807 bytes"},
		{name: "huge array", set: "*99999999999\r\n", get: "*99999999999\r\n",
			want: "array of 99999999999 elements"},
		{name: "GET longer than any SET", get: "$33\r\n" + strings.Repeat("x", 33) + "\r\n",
			want: "bulk reply of 33 bytes; the load asked for values of at most 32 bytes"},
		{name: "negative length", get: "$-7\r\n",
			want: "bulk length of \"-7\"; the only negative length RESP has is -1"},
		{name: "endless status line", set: "+", get: "+",
			want: "line longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(cmd string) string {
				switch {
				case cmd == "SET" && tt.set != "":
					return tt.set
				case cmd == "GET" && tt.get != "":
					return tt.get
				case cmd == "SET":
					return "+OK\r\n"
				}
				return "$-1\r\n"
			})
			start := time.Now()
			_, err := builtin{}.Run(context.Background(), Target{Addr: addr}, Spec{Clients: 2, Requests: 100, Ratio: Ratio{1, 1}})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v to notice, want at once", took.Round(time.Millisecond))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one with %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "sent a reply the load cannot have asked for") {
				t.Errorf("err = %v, want it to blame the reply, not the connection", err)
			}
			var pe *resp.ProtocolError
			if !errors.As(err, &pe) {
				t.Errorf("err %v wraps no *resp.ProtocolError", err)
			}
		})
	}
}

// fakeServer is a real peer on 127.0.0.1 that reads RESP requests and
// answers each with reply(command name). A reply of "+" alone is a status
// line that never ends: "+" then bytes without CRLF until the client hangs
// up. It stands for a broken or hostile guest, not for redis.
func fakeServer(t *testing.T, reply func(cmd string) string) string {
	t.Helper()
	return resptest.Listen(t, func(conn net.Conn) { resptest.Serve(conn, reply) })
}

package resp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"reflect"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/resptest"
)

// Replies as redis 7 writes them; the fuzz corpus holds them whole
// (testdata/fuzz/FuzzRead/redis7-*).
func TestReadRedisReplies(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"+PONG\r\n", "PONG"},
		{"$32\r\n" + strings.Repeat("x", 32) + "\r\n", strings.Repeat("x", 32)},
		{"$-1\r\n", nil},
		{"*-1\r\n", nil},
		{"$0\r\n\r\n", ""},
		{":1\r\n", int64(1)},
		{":-42\r\n", int64(-42)},
		{"*0\r\n", []any{}},
		{"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n", []any{"maxmemory", "0"}},
		{"*2\r\n-ERR no\r\n:1\r\n", []any{ServerError("ERR no"), int64(1)}},
		{"*1\r\n*2\r\n+a\r\n*1\r\n:1\r\n", []any{[]any{"a", []any{int64(1)}}}},
	}
	for _, tt := range tests {
		got, err := Read(bufio.NewReader(strings.NewReader(tt.in)))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Read(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	if _, err := Read(bufio.NewReader(strings.NewReader("-ERR unknown command 'NOPE'\r\n"))); err != ServerError("ERR unknown command 'NOPE'") {
		t.Errorf("error reply: %v", err)
	}
}

// A guest's server is not trusted: whatever length it announces, Read
// answers with a clear error, and allocates no more than the limits allow.
func TestReadHostileReplies(t *testing.T) {
	nested := strings.Repeat("*1\r\n", MaxDepth+1) + ":1\r\n"
	tests := []struct {
		name, in string
		want     string // in the error
	}{
		{"huge bulk", "$99999999999999\r\n", "bulk reply of 99999999999999 bytes; benchbook reads control replies (PING, INFO) of at most 1 MiB"},
		{"max int64 bulk", "$9223372036854775807\r\n", "bulk reply of 9223372036854775807 bytes"},
		{"bulk past int64", "$000099999999999999999999999\r\n", "bulk reply of 99999999999999999999999 bytes"},
		{"1 GB bulk", "$1000000000\r\n", "bulk reply of 1000000000 bytes"},
		{"bulks past 1 MiB together", "*2\r\n$600000\r\n" + strings.Repeat("x", 600000) + "\r\n$600000\r\n", "bulk reply of 600000 bytes"},
		{"huge array", "*99999999999\r\n", "array of 99999999999 elements; benchbook reads control replies (PING, INFO) of at most 1024 elements"},
		{"max int64 array", "*9223372036854775807\r\n", "array of 9223372036854775807 elements"},
		{"arrays past 1024 elements together", "*2\r\n*1000\r\n" + strings.Repeat(":1\r\n", 1000) + "*1000\r\n", "array of 1000 elements"},
		{"nested too deep", nested, "arrays nested more than 8 deep"},
		{"negative bulk", "$-2\r\n", "bulk length of \"-2\"; the only negative length RESP has is -1"},
		{"negative array", "*-99999999999\r\n", "array length of \"-99999999999\"; the only negative"},
		{"signed bulk", "$+5\r\n", "bulk length \"+5\", not a number"},
		{"spaced bulk", "$ 5\r\n", "bulk length \" 5\", not a number"},
		{"empty bulk length", "$\r\n", "bulk length \"\", not a number"},
		{"letters in array length", "*2x\r\n", "array length \"2x\", not a number"},
		{"bulk without CRLF", "$3\r\nabcde\r\n", "bulk reply of 3 bytes not followed by CRLF"},
		{"bad integer", ":12a\r\n", "integer reply \"12a\", not a 64-bit integer"},
		{"integer past int64", ":99999999999999999999\r\n", "not a 64-bit integer"},
		{"unknown type", "?x\r\n", "unknown type '?'"},
		{"no CR", "+OK\n", "not a RESP reply"},
		{"endless status line", "+" + strings.Repeat("x", 2*MaxLine), "line longer than 64 KiB, starting \"+xxx"},
		{"endless error line", "-" + strings.Repeat("x", MaxLine) + "\r\n", "line longer than 64 KiB"},
		{"cut short", "$5\r\nab", "unexpected EOF"},
		{"cut in a line", "+PO", "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.in))
			before := heapAllocs()
			v, err := Read(r)
			allocated := heapAllocs() - before
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read(%.40q) = %#v, %v; want an error with %q", tt.in, v, err, tt.want)
			}
			if v != nil {
				t.Errorf("a value %#v beside the error", v)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %T %v, want a *ProtocolError", err, err)
			}
			if limit := allocLimit(len(tt.in)); allocated > limit {
				t.Errorf("allocated %d bytes reading %d, want at most %d", allocated, len(tt.in), limit)
			}
		})
	}
}

// allocLimit is what reading n bytes may allocate: one bulk string of the
// largest size a reply may announce, and a small multiple of the input.
func allocLimit(n int) uint64 { return MaxBulk + 128*uint64(n) + 256<<10 }

// heapAllocs is the bytes this process has allocated so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestLength(t *testing.T) {
	tests := []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"32", 32, true}, {"007", 7, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", math.MaxInt64, true},
		{"99999999999999999999999999", math.MaxInt64, true},
		{"", 0, false}, {"-", 0, false}, {"-2", 0, false}, {"-0", 0, false}, {"+1", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1e3", 0, false}, {"99999999999999999999x", 0, false},
	}
	for _, tt := range tests {
		if n, ok := Length([]byte(tt.in)); n != tt.n || ok != tt.ok {
			t.Errorf("Length(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.ok)
		}
	}
}

// The readiness probe against a server that answers PING with a huge
// length fails with the reason, at once.
func TestPingHostileServer(t *testing.T) {
	for _, reply := range []string{"$99999999999999\r\n", "*99999999999\r\n", "+PONG" + strings.Repeat("G", 2*MaxLine)} {
		addr := hostileServer(t, reply)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		err := Ping(ctx, addr)
		cancel()
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("PING answered %.20q: err = %v, want a *ProtocolError", reply, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("PING answered %.20q: took %v", reply, took)
		}
		if _, err := Info(context.Background(), addr, "server"); !errors.As(err, &pe) {
			t.Errorf("INFO answered %.20q: err = %v, want a *ProtocolError", reply, err)
		}
	}
}

// hostileServer answers every command on 127.0.0.1 with reply, and keeps
// the connection open.
func hostileServer(t *testing.T, reply string) string {
	t.Helper()
	return resptest.Listen(t, func(conn net.Conn) {
		defer conn.Close()
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			if _, err := io.WriteString(conn, reply); err != nil {
				return
			}
		}
	})
}

// FuzzRead reads replies until an error, through a 16-byte buffer (bufio's
// smallest) so that long lines take the overflow path. Whatever the bytes,
// Read returns a well-formed value or an error -- a *ProtocolError, a
// ServerError or the end of the input -- never both, never panics, and
// allocates no more than its limits allow. A value it returns encodes back
// to bytes it reads as the same value. Seeds: replies of a real redis 7
// (testdata/fuzz/FuzzRead) and the hostile ones.
func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"+PONG\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n", ":-1\r\n",
		"$99999999999999\r\n", "$9223372036854775807\r\n", "*99999999999\r\n", "$1048576\r\n",
		"*1024\r\n", "$-2\r\n", "$+5\r\n", "$3\r\nabcde\r\n", "+OK\n", "+" + strings.Repeat("x", 100),
		strings.Repeat("*1\r\n", 10) + ":1\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		before := heapAllocs()
		for {
			v, err := Read(r)
			var se ServerError
			if errors.As(err, &se) {
				if v != nil {
					t.Fatalf("value %#v with %v", v, err)
				}
				continue // the connection is still in step
			}
			if err != nil {
				var pe *ProtocolError
				if v != nil {
					t.Fatalf("value %#v with %v", v, err)
				}
				if !errors.As(err, &pe) && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("error %T %v: want a *ProtocolError or the end of the input", err, err)
				}
				break
			}
			var used budget
			checkValue(t, v, 0, &used)
			again, err := Read(bufio.NewReader(bytes.NewReader(encode(nil, v))))
			if err != nil || !reflect.DeepEqual(again, v) {
				t.Fatalf("%#v encoded and read back: %#v, %v", v, again, err)
			}
		}
		if allocated, limit := heapAllocs()-before, allocLimit(len(data)); allocated > limit {
			// The counter is the whole process's: the fuzzing engine
			// allocates beside the test. Reading the input alone again
			// tells Read's own allocations from those.
			for range 3 {
				allocated = min(allocated, readAllocs(data))
			}
			if allocated > limit {
				t.Fatalf("allocated %d bytes reading %d, want at most %d", allocated, len(data), limit)
			}
		}
	})
}

// readAllocs is the bytes allocated while Read reads data to its end.
func readAllocs(data []byte) uint64 {
	r := bufio.NewReaderSize(bytes.NewReader(data), 16)
	before := heapAllocs()
	for {
		_, err := Read(r)
		var se ServerError
		if err != nil && !errors.As(err, &se) {
			return heapAllocs() - before
		}
	}
}

// checkValue fails unless v is a value Read may return, within its limits.
func checkValue(t *testing.T, v any, depth int, used *budget) {
	t.Helper()
	switch v := v.(type) {
	case nil, int64, ServerError:
	case string:
		if len(v) > MaxLine+MaxBulk {
			t.Fatalf("a string of %d bytes", len(v))
		}
	case []any:
		if depth >= MaxDepth {
			t.Fatalf("arrays nested %d deep", depth+1)
		}
		if used.elements += int64(len(v)); used.elements > MaxElements {
			t.Fatalf("%d elements", used.elements)
		}
		for _, e := range v {
			checkValue(t, e, depth+1, used)
		}
	default:
		t.Fatalf("a value of type %T", v)
	}
}

// encode appends v as RESP: a string as a status line where it can be one
// (so that read back it counts against no bulk limit), else as a bulk string.
func encode(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "$-1\r\n"...)
	case int64:
		return append(b, ":"+strconv.FormatInt(v, 10)+"\r\n"...)
	case ServerError:
		return append(b, "-"+string(v)+"\r\n"...)
	case string:
		if !strings.ContainsAny(v, "\r\n") && len(v) < MaxLine-3 {
			return append(b, "+"+v+"\r\n"...)
		}
		b = append(b, "$"+strconv.FormatInt(int64(len(v)), 10)+"\r\n"...)
		return append(b, v+"\r\n"...)
	case []any:
		b = append(b, "*"+strconv.FormatInt(int64(len(v)), 10)+"\r\n"...)
		for _, e := range v {
			b = encode(b, e)
		}
		return b
	}
	panic("encode: " + reflect.TypeOf(v).String())
}

package load

import (
	"bufio"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
)

func TestReadReply(t *testing.T) {
	long := "-ERR " + strings.Repeat("x", 100) + "\r\n"
	tests := []struct {
		in       string
		kind     replyKind
		line     string
		wantErr  bool
		consumed int
	}{
		{in: "+OK\r\n", kind: replyOK},
		{in: ":42\r\n", kind: replyOK},
		{in: "$-1\r\n", kind: replyMiss},
		{in: "*-1\r\n", kind: replyMiss},
		{in: "$3\r\nabc\r\n", kind: replyHit},
		{in: "$0\r\n\r\n", kind: replyHit},
		{in: "$100\r\n" + strings.Repeat("v", 100) + "\r\n", kind: replyHit}, // longer than the buffer
		{in: "*2\r\n$1\r\na\r\n:1\r\n", kind: replyOK},
		{in: "-OOM command not allowed\r\n", kind: replyError, line: "-OOM command not allowed"},
		{in: long, kind: replyError, line: string(longErrorLine)},
		{in: "?\r\n", wantErr: true},
		{in: "$x\r\n", wantErr: true},
		{in: "+OK\n", wantErr: true},
		{in: "$5\r\nab", wantErr: true}, // cut short
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		in := tt.in
		if !tt.wantErr {
			in += "+NEXT\r\n"
		}
		// A buffer smaller than the long line exercises the overflow path.
		r := bufio.NewReaderSize(strings.NewReader(in), 64)
		kind, n, line, err := readReply(r, 100)
		if tt.wantErr {
			if err == nil {
				t.Errorf("readReply(%q) succeeded", tt.in)
			}
			continue
		}
		if err != nil || kind != tt.kind || string(line) != tt.line || n != len(tt.in) {
			t.Errorf("readReply(%q) = %v, %d, %q, %v; want %v, %d, %q", tt.in, kind, n, line, err, tt.kind, len(tt.in), tt.line)
			continue
		}
		// The next reply starts where this one ended.
		if kind, _, _, err := readReply(r, 100); err != nil || kind != replyOK {
			t.Errorf("after %q: next reply %v, %v", tt.in, kind, err)
		}
	}
}

// A reply is bounded by what the load can have asked for: a GET answers a
// value the load SET (at most data_size bytes) or nil. Past that, or outside
// RESP, the reply is a clear error at once, never a wait for bytes that do
// not come.
func TestReadReplyHostile(t *testing.T) {
	tests := []struct {
		name, in string
		maxBulk  int
		want     string
	}{
		{"huge bulk", "$99999999999999\r\n", 32, "bulk reply of 99999999999999 bytes; the load asked for values of at most 32 bytes"},
		{"max int64 bulk", "$9223372036854775807\r\n", 32, "bulk reply of 9223372036854775807 bytes"},
		{"bulk past int64", "$99999999999999999999999\r\n", 32, "bulk reply of 99999999999999999999999 bytes"},
		{"one byte past data_size", "$33\r\n" + strings.Repeat("x", 33) + "\r\n", 32, "bulk reply of 33 bytes; the load asked for values of at most 32 bytes"},
		{"past a large data_size", "$1048577\r\n", 1 << 20, "at most 1048576 bytes"},
		{"huge bulk in an array", "*1\r\n$99999999999999\r\n", 32, "bulk reply of 99999999999999 bytes"},
		{"huge array", "*99999999999\r\n", 32, "array of 99999999999 elements in answer to SET or GET"},
		{"max int64 array", "*9223372036854775807\r\n", 32, "array of 9223372036854775807 elements"},
		{"array of 17", "*17\r\n" + strings.Repeat(":1\r\n", 17), 32, "array of 17 elements"},
		{"nested 3 deep", "*1\r\n*1\r\n*1\r\n:1\r\n", 32, "arrays nested more than 2 deep"},
		{"negative bulk", "$-2\r\n", 32, "bulk length of \"-2\"; the only negative length RESP has is -1"},
		{"negative array", "*-3\r\n", 32, "array length of \"-3\""},
		{"signed bulk", "$+3\r\nabc\r\n", 32, "bulk length \"+3\", not a number"},
		{"letters in bulk length", "$3a\r\nabc\r\n", 32, "bulk length \"3a\", not a number"},
		{"empty array length", "*\r\n", 32, "array length \"\", not a number"},
		{"bulk without CRLF", "$3\r\nabcde\r\n", 32, "bulk reply of 3 bytes not followed by CRLF"},
		{"long bulk without CRLF", "$100\r\n" + strings.Repeat("v", 102), 100, "bulk reply of 100 bytes not followed by CRLF"},
		{"unknown type", "?\r\n", 32, "the server sent \"?\", not a RESP reply"},
		{"no CR", "+OK\n", 32, "not a RESP reply (type, text, CRLF)"},
		{"endless status", "+" + strings.Repeat("x", 100<<10), 32, "line longer than 64 KiB, starting \"+xxx"},
		{"endless error", "-" + strings.Repeat("x", 64<<10) + "\r\n", 32, "line longer than 64 KiB"},
		{"long length line", "$" + strings.Repeat("1", 100) + "\r\n", 32, "a '$' line of 103 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A buffer smaller than the long lines takes the overflow path;
			// after the input the reader blocks, as a server that sends
			// nothing more would.
			r := bufio.NewReaderSize(io.MultiReader(strings.NewReader(tt.in), blockingReader{}), 64)
			done := make(chan error, 1)
			go func() {
				_, _, _, err := readReply(r, tt.maxBulk)
				done <- err
			}()
			select {
			case err := <-done:
				var pe *resp.ProtocolError
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("readReply(%.40q) = %v, want an error with %q", tt.in, err, tt.want)
				}
				if !errors.As(err, &pe) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("error %T, want a *resp.ProtocolError", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("readReply(%.40q) still waits for bytes after 2s", tt.in)
			}
		})
	}
}

// blockingReader never returns: a peer that sends nothing more.
type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }

func TestCommandSet(t *testing.T) {
	set := newCommandSet("SET", []byte("vv"), 7, 12345)
	get := newCommandSet("GET", nil, 7, 12345)
	tests := []struct {
		cs   *commandSet
		key  uint64
		want string
	}{
		{set, 7, "*3\r\n$3\r\nSET\r\n$9\r\nmemtier-7\r\n$2\r\nvv\r\n"},
		{set, 12345, "*3\r\n$3\r\nSET\r\n$13\r\nmemtier-12345\r\n$2\r\nvv\r\n"},
		{set, 10000, "*3\r\n$3\r\nSET\r\n$13\r\nmemtier-10000\r\n$2\r\nvv\r\n"},
		{get, 99, "*2\r\n$3\r\nGET\r\n$10\r\nmemtier-99\r\n"},
		{get, 100, "*2\r\n$3\r\nGET\r\n$11\r\nmemtier-100\r\n"},
	}
	for _, tt := range tests {
		if got := string(tt.cs.forKey(tt.key)); got != tt.want {
			t.Errorf("forKey(%d) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestKeyGen(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	collect := func(g *keyGen, n int) []uint64 {
		var out []uint64
		for range n {
			out = append(out, g.key())
		}
		return out
	}
	if got := collect(newKeyGen('S', 5, 7, 0, 1, rng), 5); !slices.Equal(got, []uint64{5, 6, 7, 5, 6}) {
		t.Errorf("S: %v", got)
	}
	// P: 10 keys over 3 clients -> 0..2, 3..5, 6..9 (the last takes the rest).
	if got := collect(newKeyGen('P', 0, 9, 1, 3, rng), 4); !slices.Equal(got, []uint64{3, 4, 5, 3}) {
		t.Errorf("P client 1: %v", got)
	}
	if got := collect(newKeyGen('P', 0, 9, 2, 3, rng), 5); !slices.Equal(got, []uint64{6, 7, 8, 9, 6}) {
		t.Errorf("P client 2: %v", got)
	}
	// More clients than keys: each repeats one key.
	if got := collect(newKeyGen('P', 0, 1, 3, 4, rng), 2); !slices.Equal(got, []uint64{1, 1}) {
		t.Errorf("P, 4 clients on 2 keys: %v", got)
	}
	for _, p := range []byte{'R', 'G'} {
		g := newKeyGen(p, 100, 199, 0, 1, rng)
		var sum float64
		for _, k := range collect(g, 10000) {
			if k < 100 || k > 199 {
				t.Fatalf("%c: key %d out of range", p, k)
			}
			sum += float64(k)
		}
		if mean := sum / 10000; mean < 147 || mean > 152 {
			t.Errorf("%c: mean key %g, want about 149.5", p, mean)
		}
	}
}

// cycleReader repeats one byte string forever.
type cycleReader struct {
	data []byte
	off  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], c.data[c.off:])
		n += m
		c.off = (c.off + m) % len(c.data)
	}
	return n, nil
}

var _ io.Reader = (*cycleReader)(nil)

// BenchmarkReadReply parses a mix of replies from memory: the parser alone.
func BenchmarkReadReply(b *testing.B) {
	r := bufio.NewReaderSize(&cycleReader{data: []byte("+OK\r\n$-1\r\n$32\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n")}, ioBufferSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := readReply(r, 32); err != nil {
			b.Fatal(err)
		}
	}
}

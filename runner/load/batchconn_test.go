package load

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/benchbook/benchbook/internal/testutil/resptest"
)

// serve accepts one connection on loopback and runs handle on it; it
// returns the client's side.
func serve(t *testing.T, handle func(net.Conn)) net.Conn {
	t.Helper()
	addr := resptest.Listen(t, func(c net.Conn) {
		defer c.Close()
		handle(c)
	})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

// echoLen answers each read of n bytes with the line "n\n", until EOF or
// until it has read want bytes, then closes.
func echoLen(want int) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 64<<10)
		got := 0
		for got < want {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got += n
			if got >= want {
				c.Write([]byte("done\n"))
			}
		}
	}
}

func TestBatchConn(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int // bytes of the one batch
	}{
		{"small batch, written by the read", 100},
		// Past the socket buffers while the server is slow to read: the
		// raw write is short and Read falls back on conn.Write.
		{"batch larger than the socket buffers", 32 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := serve(t, echoLen(tc.size))
			b := newBatchConn(conn, 16)
			if b.rc == nil {
				t.Fatal("a TCP connection has no RawConn")
			}
			r := bufio.NewReader(b)
			b.r = r
			b.Write(bytes.Repeat([]byte{'x'}, tc.size))
			if err := b.Submit(); err != nil {
				t.Fatal(err)
			}
			line, err := r.ReadString('\n')
			if err != nil || line != "done\n" {
				t.Fatalf("read %q, %v; want done", line, err)
			}
			// The server closed after its answer: EOF, as net.Conn says.
			if _, err := r.ReadByte(); err != io.EOF {
				t.Errorf("after the server closed: %v, want EOF", err)
			}
		})
	}
}

// A batch submitted while the reader holds bytes is written at once: the
// replies to it would otherwise be read from the buffer without a Read to
// send it.
func TestBatchConnSubmitWithBufferedBytes(t *testing.T) {
	got := make(chan string, 1)
	conn := serve(t, func(c net.Conn) {
		c.Write([]byte("a\nb\n"))
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	})
	b := newBatchConn(conn, 16)
	r := bufio.NewReader(b)
	b.r = r
	for r.Buffered() < 4 { // "a\nb\n" in the buffer
		if _, err := r.Peek(r.Buffered() + 1); err != nil {
			t.Fatal(err)
		}
	}
	b.Write([]byte("req"))
	if err := b.Submit(); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "req" {
			t.Errorf("server read %q, want req", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the batch was not written by Submit")
	}
}

// A read that fails (the connection closed under it, as builtin does when
// a run ends) is a *net.OpError naming the closed connection.
func TestBatchConnClosed(t *testing.T) {
	conn := serve(t, func(c net.Conn) { time.Sleep(time.Minute) })
	b := newBatchConn(conn, 16)
	r := bufio.NewReader(b)
	b.r = r
	b.Write([]byte("x"))
	b.Submit()
	time.AfterFunc(100*time.Millisecond, func() { conn.Close() })
	_, err := r.ReadByte()
	var op *net.OpError
	if !errors.As(err, &op) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("read on a closed connection: %v (%T), want a *net.OpError of net.ErrClosed", err, err)
	}
}

// sameLatency must record every reply, in its op's histogram, whatever the
// runs of equal latencies.
func TestSameLatency(t *testing.T) {
	type rec struct {
		op uint8
		us int64
	}
	for _, tc := range []struct {
		name string
		recs []rec
	}{
		{"none", nil},
		{"one", []rec{{opGet, 5}}},
		{"a run", []rec{{opGet, 5}, {opGet, 5}, {opGet, 5}}},
		{"latency changes", []rec{{opGet, 5}, {opGet, 6}, {opGet, 6}, {opGet, 5}}},
		{"op changes", []rec{{opSet, 5}, {opGet, 5}, {opGet, 5}, {opSet, 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stats [2]opStats
			for op := range stats {
				stats[op].hist = hdr.New(1, histMaxUs, histSigFigs)
			}
			var s sameLatency
			want := map[rec]int64{}
			for _, r := range tc.recs {
				s.record(&stats, r.op, r.us)
				want[r]++
			}
			s.flush(&stats)
			got := map[rec]int64{}
			for op := range stats {
				for _, b := range stats[op].hist.Distribution() {
					if b.Count > 0 {
						got[rec{uint8(op), b.From}] += b.Count
					}
				}
			}
			total := int64(0)
			for r, n := range want {
				if got := got[r]; got != n {
					t.Errorf("op %d, %d µs: %d recorded, want %d", r.op, r.us, got, n)
				}
				total += n
			}
			if got := stats[0].hist.TotalCount() + stats[1].hist.TotalCount(); got != total {
				t.Errorf("%d recorded in all, want %d", got, total)
			}
		})
	}
}

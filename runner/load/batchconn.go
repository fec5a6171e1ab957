package load

import (
	"bufio"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// batchConn is what builtin's client writes its requests to and reads its
// replies from. A plain buffered connection costs three system calls per
// batch at pipeline 1: the write, a read that finds nothing yet (EAGAIN:
// redis has not answered in the microsecond since) and, after the poller's
// wake-up, the read of the reply. That first read was a third of the
// generator's reads and a tenth of its CPU. Submit instead leaves the batch
// for the next Read, which writes it and waits for the reply before it
// reads, in one RawConn.Read: the poller's readiness is reset before the
// write, so a reply that arrives at once is still seen.
type batchConn struct {
	conn net.Conn
	rc   syscall.RawConn // nil when conn has no file descriptor: plain I/O
	// readAt is when the last Read returned bytes: when the replies in
	// them arrived.
	readAt time.Time
	r      *bufio.Reader // the reader over this batchConn, to see what it holds
	out    []byte        // requests not yet written
	// submitted: out is to be written by the next Read.
	submitted bool
	readFn    func(fd uintptr) bool // b.rawRead, made once
	call      rawCall

	// With a readyQueue (readyqueue_linux.go) a read that finds nothing
	// waits for wake, not in the runtime's poller; done is closed when
	// the queue is, after which (left) reads wait as plain ones do.
	wake chan struct{}
	done <-chan struct{}
	left bool
}

// queued says b's reads wait for its ready queue.
func (b *batchConn) queued() bool { return b.wake != nil && !b.left }

// notify tells b its socket has bytes; a wake-up not yet taken stands.
func (b *batchConn) notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func newBatchConn(conn net.Conn, size int) *batchConn {
	b := &batchConn{conn: conn, out: make([]byte, 0, size)}
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			b.rc = rc
			b.readFn = b.rawRead
		}
	}
	return b
}

// Write buffers p; it never fails (errors come from Flush or Read).
func (b *batchConn) Write(p []byte) (int, error) {
	b.out = append(b.out, p...)
	return len(p), nil
}

// Flush writes what is buffered now, as bufio.Writer's Flush does.
func (b *batchConn) Flush() error {
	b.submitted = false
	if len(b.out) == 0 {
		return nil
	}
	_, err := b.conn.Write(b.out)
	b.out = b.out[:0]
	return err
}

// Submit hands the buffered requests to the next Read, which the caller
// makes next on the same goroutine to read their replies. Where that Read
// would not come (the reader still holds bytes, so it reads none) or no
// file descriptor is at hand, it flushes now.
func (b *batchConn) Submit() error {
	if b.rc == nil || b.r.Buffered() > 0 {
		return b.Flush()
	}
	b.submitted = len(b.out) > 0
	return nil
}

// Read writes a submitted batch first, then reads.
func (b *batchConn) Read(p []byte) (int, error) {
	n, err := b.read(p)
	if n > 0 {
		b.readAt = time.Now()
	}
	return n, err
}

func (b *batchConn) read(p []byte) (int, error) {
	if !b.submitted && !b.queued() {
		return b.conn.Read(p)
	}
	b.call = rawCall{p: p, sent: !b.submitted}
	b.submitted = false
	err := b.rc.Read(b.readFn)
	for err == nil && b.call.again {
		b.call.again = false
		select {
		case <-b.wake:
		case <-b.done:
			// The run is over and the queue gone: what is left to
			// read is waited for as a plain connection waits.
			b.left, b.call = true, rawCall{}
			return b.conn.Read(p)
		}
		err = b.rc.Read(b.readFn)
	}
	c := b.call
	b.call = rawCall{}
	if c.short {
		if err := b.Flush(); err != nil {
			return 0, err
		}
		return b.conn.Read(p)
	}
	if err == nil && c.err != nil {
		err = os.NewSyscallError("read", c.err)
	}
	switch {
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: b.conn.LocalAddr().Network(), Source: b.conn.LocalAddr(), Addr: b.conn.RemoteAddr(), Err: err}
	case c.n <= 0 && len(p) > 0:
		return 0, io.EOF
	}
	return c.n, nil
}

// rawCall is the state of one RawConn.Read of batchConn.Read, kept in the
// batchConn so that the callback, a method value made once, allocates
// nothing.
type rawCall struct {
	p     []byte
	n     int
	err   error
	sent  bool // the batch was written
	short bool // it was not, or in part: Read falls back on conn.Write
	again bool // nothing to read yet: wait for the ready queue
}

// rawRead is RawConn.Read's callback: true when done, false to wait until
// the socket is readable and be called again.
func (b *batchConn) rawRead(fd uintptr) bool {
	c := &b.call
	if !c.sent {
		c.sent = true
		w, err := syscall.Write(int(fd), b.out)
		if err != nil || w < len(b.out) {
			// A full socket buffer, an error: conn.Write knows how to
			// wait for the rest or how to report it.
			b.out = b.out[:copy(b.out, b.out[max(w, 0):])]
			c.short = true
			return true
		}
		b.out = b.out[:0]
		// The reply cannot be there yet: wait for it.
		c.again = b.queued()
		return c.again
	}
	for {
		c.n, c.err = syscall.Read(int(fd), c.p)
		if c.err != syscall.EINTR {
			break
		}
	}
	if c.err == syscall.EAGAIN && b.queued() {
		c.again, c.err = true, nil
		return true
	}
	return c.err != syscall.EAGAIN
}

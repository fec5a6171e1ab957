package load

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/benchbook/benchbook/internal/resp"
)

// The RESP side of builtin: commands are pre-built once per client and only
// their key digits are patched per request; replies are parsed straight out
// of the bufio.Reader's buffer. Neither allocates, which is what lets one Go
// client keep up with memtier.

// keyPrefix is memtier's default, so datasets written by either tool match.
const keyPrefix = "memtier-"

// maxKeyDigits is the number of decimal digits of the largest int64.
const maxKeyDigits = 19

// command is a request template whose key digits sit at buf[at:at+n].
type command struct {
	buf []byte
	at  int
}

// commandSet holds one template per possible digit count of a key, so any
// key of the range is a patch, never a rebuild.
type commandSet [maxKeyDigits + 1]*command

// newCommandSet builds templates of cmd (with value appended as last
// argument when not nil) for every digit count of keys in [lo, hi].
func newCommandSet(name string, value []byte, lo, hi uint64) *commandSet {
	var cs commandSet
	for n := digits(lo); n <= digits(hi); n++ {
		argc := 2
		if value != nil {
			argc = 3
		}
		keyLen := len(keyPrefix) + n
		b := make([]byte, 0, 64+len(value))
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(argc), 10)
		b = append(b, "\r\n$"...)
		b = strconv.AppendInt(b, int64(len(name)), 10)
		b = append(b, "\r\n"...)
		b = append(b, name...)
		b = append(b, "\r\n$"...)
		b = strconv.AppendInt(b, int64(keyLen), 10)
		b = append(b, "\r\n"+keyPrefix...)
		at := len(b)
		for range n {
			b = append(b, '0')
		}
		b = append(b, "\r\n"...)
		if value != nil {
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(len(value)), 10)
			b = append(b, "\r\n"...)
			b = append(b, value...)
			b = append(b, "\r\n"...)
		}
		cs[n] = &command{buf: b, at: at}
	}
	return &cs
}

// forKey patches key's digits into its template and returns the bytes to send.
func (cs *commandSet) forKey(key uint64) []byte {
	n := digits(key)
	c := cs[n]
	d := c.buf[c.at : c.at+n]
	for i := n - 1; i >= 0; i-- {
		d[i] = byte('0' + key%10)
		key /= 10
	}
	return c.buf
}

func digits(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// replyKind classifies a reply for the statistics.
type replyKind uint8

const (
	replyOK    replyKind = iota // simple string, integer, array
	replyHit                    // non-nil bulk string
	replyMiss                   // nil bulk string or nil array
	replyError                  // "-ERR ..." and friends
)

// A reply is bounded by what the load can have asked for. SET answers +OK
// (or an error), GET a value the load SET (DataSize bytes) or nil; neither
// answers with an array, but small ones are read and counted as OK. A
// length past these is the server's lie, or a server out of step with the
// load: reading on would wait for bytes that never come, or for gigabytes
// the run never asked for, so it is an error at once.
const (
	maxReplyElements = 16       // of one array
	maxReplyDepth    = 2        // arrays within arrays
	maxReplyLine     = 64 << 10 // a status or error line; the others fit the read buffer
)

// readReply consumes one reply from r; a bulk string in it is at most
// maxBulk bytes. It returns the reply's kind and the number of bytes it
// took. For an error reply, line holds it (valid until the next read from
// r). A reply past the bounds is a *resp.ProtocolError. It never allocates
// but to build an error.
func readReply(r *bufio.Reader, maxBulk int) (kind replyKind, n int, line []byte, err error) {
	return readReplyDepth(r, maxBulk, 0)
}

func readReplyDepth(r *bufio.Reader, maxBulk, depth int) (kind replyKind, n int, line []byte, err error) {
	line, n, err = readLine(r)
	if err != nil {
		return 0, n, nil, err
	}
	switch line[0] {
	case '+', ':':
		return replyOK, n, nil, nil
	case '-':
		return replyError, n, line, nil
	case '$':
		size, ok := resp.Length(line[1:])
		switch {
		case !ok:
			return 0, n, nil, resp.BadLength("bulk", line[1:])
		case size == -1:
			return replyMiss, n, nil, nil
		case size > int64(maxBulk):
			return 0, n, nil, bulkTooLarge(line[1:], maxBulk)
		}
		m, err := discardBulk(r, int(size))
		return replyHit, n + m, nil, err
	case '*':
		count, ok := resp.Length(line[1:])
		switch {
		case !ok:
			return 0, n, nil, resp.BadLength("array", line[1:])
		case count == -1:
			return replyMiss, n, nil, nil
		case count > maxReplyElements:
			return 0, n, nil, arrayTooLong(line[1:])
		case depth >= maxReplyDepth:
			return 0, n, nil, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent arrays nested more than %d deep in answer to SET or GET, which answer one value", maxReplyDepth)}
		}
		for range count {
			_, m, _, err := readReplyDepth(r, maxBulk, depth+1)
			n += m
			if err != nil {
				return 0, n, nil, err
			}
		}
		return replyOK, n, nil, nil
	}
	return 0, n, nil, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent %s, not a RESP reply", resp.Quote(line))}
}

// discardBulk consumes a bulk string's size bytes and the CRLF after them,
// checking that it is there.
func discardBulk(r *bufio.Reader, size int) (int, error) {
	n := 0
	if size+2 > r.Size() {
		// Longer than the buffer: skip the value, then look at the CRLF.
		m, err := r.Discard(size)
		if err != nil {
			return m, unexpected(err)
		}
		n, size = m, 0
	}
	b, err := r.Peek(size + 2)
	if err != nil {
		m, _ := r.Discard(len(b))
		return n + m, unexpected(err)
	}
	if b[size] != '\r' || b[size+1] != '\n' {
		return n, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent a bulk reply of %d bytes not followed by CRLF: not RESP, or not the length it announced", n+size)}
	}
	m, err := r.Discard(size + 2)
	return n + m, err
}

func bulkTooLarge(length []byte, maxBulk int) error {
	return &resp.ProtocolError{Msg: fmt.Sprintf("the server sent a bulk reply of %s bytes; the load asked for values of at most %d bytes (data_size)", resp.Digits(length), maxBulk)}
}

func arrayTooLong(length []byte) error {
	return &resp.ProtocolError{Msg: fmt.Sprintf("the server sent an array of %s elements in answer to SET or GET, which answer one value (the load reads arrays of at most %d)", resp.Digits(length), maxReplyElements)}
}

// readLine returns one CRLF-terminated line without the CRLF.
func readLine(r *bufio.Reader) (line []byte, n int, err error) {
	line, err = r.ReadSlice('\n')
	n = len(line)
	if err == bufio.ErrBufferFull {
		// Only a long status or error message gets here: skip the rest and
		// keep its type, which is all the statistics need.
		first := line[0]
		var head [41]byte // the start, for a message, without allocating
		start := head[:copy(head[:], line)]
		for err == bufio.ErrBufferFull {
			if n > maxReplyLine {
				return nil, n, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent a line longer than %d KiB, starting %s, in answer to SET or GET", maxReplyLine>>10, resp.Quote(start))}
			}
			line, err = r.ReadSlice('\n')
			n += len(line)
		}
		switch {
		case err != nil:
			return nil, n, unexpected(err)
		case n > maxReplyLine:
			return nil, n, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent a line longer than %d KiB, starting %s, in answer to SET or GET", maxReplyLine>>10, resp.Quote(start))}
		case first == '+':
			return longStatusLine, n, nil
		case first == '-':
			return longErrorLine, n, nil
		}
		return nil, n, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent a %q line of %d bytes, starting %s, longer than any length or value header", first, n, resp.Quote(start))}
	}
	if err != nil {
		if n > 0 {
			err = unexpected(err)
		}
		return nil, n, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, n, &resp.ProtocolError{Msg: fmt.Sprintf("the server sent the line %s, not a RESP reply (type, text, CRLF)", resp.Quote(line))}
	}
	return line[:len(line)-2], n, nil
}

var (
	longStatusLine = []byte("+(status longer than the read buffer)")
	longErrorLine  = []byte("-(error longer than the read buffer)")
)

// unexpected says that a reply was cut short.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

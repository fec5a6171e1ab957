package load

import (
	"bufio"
	"errors"
	"strconv"
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

// Protocol errors are values so that the parser never allocates, even when
// the server misbehaves.
var (
	errProtocol    = errors.New("malformed RESP reply")
	errReplyNested = errors.New("RESP reply nested too deeply")
)

// readReply consumes one reply from r. It returns its kind and the number of
// bytes it took. For an error reply, line holds it (valid until the next
// read from r).
func readReply(r *bufio.Reader) (kind replyKind, n int, line []byte, err error) {
	return readReplyDepth(r, 0)
}

func readReplyDepth(r *bufio.Reader, depth int) (kind replyKind, n int, line []byte, err error) {
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
		size, ok := parseInt(line[1:])
		if !ok {
			return 0, n, nil, errProtocol
		}
		if size < 0 {
			return replyMiss, n, nil, nil
		}
		m, err := r.Discard(size + 2)
		return replyHit, n + m, nil, err
	case '*':
		count, ok := parseInt(line[1:])
		if !ok {
			return 0, n, nil, errProtocol
		}
		if count < 0 {
			return replyMiss, n, nil, nil
		}
		if depth > 16 {
			return 0, n, nil, errReplyNested
		}
		for range count {
			_, m, _, err := readReplyDepth(r, depth+1)
			n += m
			if err != nil {
				return 0, n, nil, err
			}
		}
		return replyOK, n, nil, nil
	}
	return 0, n, nil, errProtocol
}

// readLine returns one CRLF-terminated line without the CRLF.
func readLine(r *bufio.Reader) (line []byte, n int, err error) {
	line, err = r.ReadSlice('\n')
	n = len(line)
	if err == bufio.ErrBufferFull {
		// Only a long status or error message gets here: skip the rest and
		// keep its type, which is all the statistics need.
		first := line[0]
		for err == bufio.ErrBufferFull {
			line, err = r.ReadSlice('\n')
			n += len(line)
		}
		switch {
		case err != nil:
			return nil, n, err
		case first == '+':
			return longStatusLine, n, nil
		case first == '-':
			return longErrorLine, n, nil
		}
		return nil, n, errProtocol
	}
	if err != nil {
		return nil, n, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, n, errProtocol
	}
	return line[:len(line)-2], n, nil
}

var (
	longStatusLine = []byte("+(status longer than the read buffer)")
	longErrorLine  = []byte("-(error longer than the read buffer)")
)

// parseInt parses a decimal int as RESP writes lengths: optional '-', digits.
func parseInt(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

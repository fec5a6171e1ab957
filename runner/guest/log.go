package guest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Log is a bounded log file for a guest's output: it keeps the first Head
// bytes and the last Tail bytes, so a chatty guest cannot fill the disk while
// the beginning (boot) and the end (the failure) both survive. The tail is
// also kept in memory for error messages.
type Log struct {
	mu      sync.Mutex
	f       *os.File
	head    int
	written int64
	tail    []byte // ring of the last bytes beyond head
	tailCap int
	recent  []byte // the last recentCap bytes, for error messages
	werr    error  // the first write error, reported by Close
	closed  bool
}

const recentCap = 8 << 10

const (
	defaultHead = 256 << 10
	defaultTail = 256 << 10
)

// NewLog creates path (and its folder).
func NewLog(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	return &Log{f: f, head: defaultHead, tailCap: defaultTail}, nil
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.closed {
		return n, nil
	}
	l.recent = append(l.recent, p...)
	if len(l.recent) > recentCap {
		l.recent = l.recent[len(l.recent)-recentCap:]
	}
	if room := int64(l.head) - l.written; room > 0 {
		k := min(int64(len(p)), room)
		// A failed write (a full disk) must not fail the guest's own output
		// pipe -- it would die of it; the error is reported by Close.
		if _, err := l.f.Write(p[:k]); err != nil && l.werr == nil {
			l.werr = err
		}
		l.written += k
		p = p[k:]
	}
	if len(p) > 0 {
		l.written += int64(len(p))
		l.tail = append(l.tail, p...)
		if len(l.tail) > l.tailCap {
			l.tail = l.tail[len(l.tail)-l.tailCap:]
		}
	}
	return n, nil
}

// Tail returns up to n bytes (at most 8 KiB) of the end of the output.
func (l *Log) Tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.recent[max(0, len(l.recent)-n):])
}

// Close writes the kept tail after the head and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if len(l.tail) > 0 {
		if skipped := l.written - int64(l.head) - int64(len(l.tail)); skipped > 0 {
			fmt.Fprintf(l.f, "\n[... %d bytes left out ...]\n", skipped)
		}
		if _, err := l.f.Write(l.tail); err != nil && l.werr == nil {
			l.werr = err
		}
	}
	if err := l.f.Close(); err != nil && l.werr == nil {
		l.werr = err
	}
	if l.werr != nil {
		return fmt.Errorf("log %s: %w", l.f.Name(), l.werr)
	}
	return nil
}

var _ io.Writer = (*Log)(nil)

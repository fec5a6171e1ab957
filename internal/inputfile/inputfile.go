// Package inputfile opens the files benchbook reads as input: notebooks,
// stored results, the assets a site hashes. It reads only regular files
// (after following symlinks) and at most a given size, and never blocks
// opening one: a named pipe named like a notebook, a link to /dev/zero or a
// results file of 300 MB gets an error that names the file and says what it
// is, instead of a command that hangs, ignores SIGTERM or runs out of
// memory.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
)

var (
	// ErrNotRegular is wrapped by the error for a path that is not a regular
	// file: a directory, named pipe, device or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is wrapped by the error for a file over the size limit.
	ErrTooLarge = errors.New("too large")
)

// Open opens path for reading when it is a regular file, after following
// symlinks. It stats before opening, so a device is never opened, and opens
// without blocking, so a file swapped for a named pipe in between does not
// hang: the opened file is checked again. Errors are *fs.PathError.
func Open(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, notRegular(path, fi)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, notRegular(path, fi)
	}
	return f, fi, nil
}

// Read returns the content of the regular file path, refusing one larger
// than max bytes. what names the kind of file in that error ("a notebook").
func Read(path string, max int64, what string) ([]byte, error) {
	return ReadInto(nil, path, max, what)
}

// ReadInto is Read into buf when it is large enough, for a caller done
// with the bytes before it reads the next file (a decoder that copies
// what it keeps), so that one buffer serves a thousand files.
func ReadInto(buf []byte, path string, max int64, what string) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, tooLarge(path, fi.Size(), max, what)
	}
	// The size is a hint: the file may grow while it is read. Reading
	// into a buffer of that size (and one byte more, to see the end)
	// spares io.ReadAll's doublings from 512 bytes: clearing and copying
	// them was about 5 % of the CPU time of a cold site build of a
	// thousand notebooks with 80 KB histories (sitebench, pprof).
	data := buf[:0]
	if int64(cap(buf)) < fi.Size()+1 {
		data = make([]byte, 0, fi.Size()+1)
	}
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if int64(len(data)) > max {
			break
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	if int64(len(data)) > max {
		return nil, tooLarge(path, int64(len(data)), max, what)
	}
	return data, nil
}

// Copy writes the content of the regular file path to w, for readers that
// stream (a hash) and so need no size limit.
func Copy(w io.Writer, path string) error {
	return CopyLimited(w, path, math.MaxInt64-1, "")
}

// CopyLimited is Copy for a file that Read refuses over max bytes: it is
// refused the same, without its content held in memory. A site build
// hashes its inputs so: reading a thousand 80 KB histories into as many new
// buffers cost more in clearing and faulting them in than in hashing.
func CopyLimited(w io.Writer, path string, max int64, what string) error {
	f, fi, err := Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi.Size() > max {
		return tooLarge(path, fi.Size(), max, what)
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	// The size is a hint, as in Read: the file may grow while it is read.
	n, err := io.CopyBuffer(w, io.LimitReader(f, max+1), *buf)
	if err != nil {
		return &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if n > max {
		return tooLarge(path, n, max, what)
	}
	return nil
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func notRegular(path string, fi fs.FileInfo) error {
	what := kind(fi.Mode())
	if target, err := filepath.EvalSymlinks(path); err == nil && target != filepath.Clean(path) {
		if l, err := os.Lstat(path); err == nil && l.Mode()&fs.ModeSymlink != 0 {
			what = fmt.Sprintf("a link to %s, %s", target, what)
		}
	}
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%s, %w: benchbook reads only regular files", what, ErrNotRegular)}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

func tooLarge(path string, size, max int64, what string) error {
	got, limit := Size(size), Size(max)
	if max >= 1024 && size-max <= max/100 { // "16.0 MiB, at most 16 MiB" would puzzle
		got, limit = fmt.Sprintf("%d bytes", size), fmt.Sprintf("%s (%d bytes)", limit, max)
	}
	return &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%s, %w: %s may be at most %s", got, ErrTooLarge, what, limit)}
}

// Size formats a byte count for messages: "312.5 MiB", "16 MiB", "900 B".
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n), ""
	for _, s := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f, suffix = f/unit, s
		if f < unit {
			break
		}
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), suffix)
	}
	return fmt.Sprintf("%.1f %s", f, suffix)
}

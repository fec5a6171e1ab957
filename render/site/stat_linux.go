package site

import (
	"io/fs"
	"strconv"
	"syscall"
	"time"
)

// fileKey identifies the version of the file at path by size, modification
// and change times, inode and device, or is empty when its last change is
// not before the given time (see input).
//
// A no-change rebuild does five of these a notebook. They go straight to
// stat(2), without the FileInfo os.Stat allocates, and the key is built
// without fmt: together that was a tenth of such a rebuild's own work.
func fileKey(path string, before time.Time) (string, error) {
	var buf [maxFileKey]byte
	k, err := appendFileKey(buf[:0], path, before)
	return string(k), err
}

// maxFileKey is the longest a file key can be: five numbers and their
// colons.
const maxFileKey = 5 * 21

// appendFileKey appends path's fileKey to dst.
func appendFileKey(dst []byte, path string, before time.Time) ([]byte, error) {
	var st syscall.Stat_t
	if err := stat(path, &st); err != nil {
		return dst, err
	}
	ctime, mtime := time.Unix(st.Ctim.Unix()), time.Unix(st.Mtim.Unix())
	if !ctime.Before(before) || !mtime.Before(before) {
		return dst, nil
	}
	k := strconv.AppendInt(dst, st.Size, 10)
	k = append(k, ':')
	k = strconv.AppendInt(k, mtime.UnixNano(), 10)
	k = append(k, ':')
	k = strconv.AppendInt(k, ctime.UnixNano(), 10)
	k = append(k, ':')
	k = strconv.AppendUint(k, st.Ino, 10)
	k = append(k, ':')
	k = strconv.AppendUint(k, st.Dev, 10)
	return k, nil
}

// fileExists reports whether there is a file at path, following links as
// os.Stat does.
func fileExists(path string) bool {
	var st syscall.Stat_t
	return stat(path, &st) == nil
}

// stat is stat(2) with os.Stat's error: a *fs.PathError that errors.Is
// matches against fs.ErrNotExist.
func stat(path string, st *syscall.Stat_t) error {
	for {
		err := syscall.Stat(path, st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		return nil
	}
}

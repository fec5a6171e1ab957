package site

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// statKey identifies a file's version by size, modification and change
// times, inode and device, or is empty when its last change is not before
// the given time (see input).
func statKey(fi fs.FileInfo, before time.Time) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	ctime := time.Unix(st.Ctim.Unix())
	if !ctime.Before(before) || !fi.ModTime().Before(before) {
		return ""
	}
	return fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), ctime.UnixNano(), st.Ino, st.Dev)
}

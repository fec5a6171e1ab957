package site

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFileKey: the key is the one earlier builds wrote into their
// manifests (size, mtime, ctime, inode, device), so an upgrade does not
// read every input again; a file changed too lately has none.
func TestFileKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.json")
	if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	ctime := time.Unix(st.Ctim.Unix())
	want := fmt.Sprintf("%d:%d:%d:%d:%d", fi.Size(), fi.ModTime().UnixNano(), ctime.UnixNano(), st.Ino, st.Dev)
	if got, err := fileKey(p, time.Now().Add(time.Hour)); err != nil || got != want {
		t.Errorf("fileKey = %q, %v; want %q", got, err, want)
	}
	if got, err := fileKey(p, ctime); err != nil || got != "" {
		t.Errorf("fileKey of a file changed at the limit = %q, %v; want none", got, err)
	}
	_, err = fileKey(filepath.Join(filepath.Dir(p), "missing"), time.Now())
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Op != "stat" {
		t.Errorf("fileKey of a missing file: %v; want a stat PathError that is fs.ErrNotExist", err)
	}
	if !fileExists(p) || fileExists(p+".gone") {
		t.Errorf("fileExists is wrong")
	}
}

// Package atomicfile replaces files so that a reader, or a crash, sees the
// old content or the new, never a truncated file: the new content goes to a
// temporary file in the same folder (a rename is atomic only within one
// file system), which is then renamed over the old one. Stored results also
// need the rename to survive a power cut ([Durable]); rendered pages can be
// made again and skip the fsyncs, which would dominate a site rebuild.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Mode is the permission of every file written: results, pages and images
// are meant to be committed and published. (CreateTemp makes 0600 files.)
const Mode = 0o644

// Option changes how a file is written.
type Option func(*options)

type options struct {
	durable bool
}

// Durable fsyncs the new file before the rename and its folder after it, so
// the new content is on disk when the call returns.
func Durable() Option { return func(o *options) { o.durable = true } }

// Write replaces path with data, creating its folder when needed.
func Write(path string, data []byte, opts ...Option) error {
	return WriteFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, opts...)
}

// WriteFrom replaces path with what fill writes. When fill fails, path is
// left as it was and the temporary file is removed.
func WriteFrom(path string, fill func(io.Writer) error, opts ...Option) (err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(Mode); err != nil {
		return err
	}
	if o.durable {
		if err := tmp.Sync(); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if o.durable {
		return syncDir(dir)
	}
	return nil
}

// WriteIfChanged is Write, unless path already holds exactly data: then it
// leaves the file and its time stamps alone (rsync, browsers' caches and
// incremental builds see no change). It reports whether it wrote.
func WriteIfChanged(path string, data []byte, opts ...Option) (bool, error) {
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		// A new file has no old version a reader could see replaced:
		// write it in place, saving a temporary file and a rename (a
		// fifth of a cold site build).
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return false, err
		}
		if done, err := CreateNew(path, data); done {
			return err == nil, err
		}
	}
	return true, Write(path, data, opts...)
}

// CreateNew writes data to path if path does not exist yet, without a
// temporary file. done is false when path exists (or appeared meanwhile);
// the caller then replaces it. A failed write removes what it created.
func CreateNew(path string, data []byte) (done bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, Mode)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return true, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return true, err
	}
	return true, nil
}

// IsTemp reports whether name is one of this package's temporary files, left
// behind by a crash between create and rename.
func IsTemp(name string) bool {
	return len(name) > 0 && name[0] == '.' && bytes.Contains([]byte(name), []byte(".tmp-"))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems cannot fsync a directory; the rename is done anyway.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

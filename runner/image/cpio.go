package image

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// The Linux kernel unpacks an initramfs written in the "newc" cpio format
// (magic 070701): a 110-byte ASCII header of 13 eight-digit hex fields, the
// NUL-terminated name, then the data, each padded to 4 bytes. The archive
// ends with an entry named TRAILER!!!.

// Entry kinds in an archive.
const (
	kindDir = iota
	kindFile
	kindSymlink
	kindCharDev
)

// Mode bits of the cpio header (the same as stat(2)'s).
const (
	cpioDir     = 0o040000
	cpioFile    = 0o100000
	cpioSymlink = 0o120000
	cpioCharDev = 0o020000
)

// archiveEntry is one member of an initramfs. Owners and times are not
// fields: every entry belongs to root and is dated 1970 so that the same
// inputs give the same bytes.
type archiveEntry struct {
	name   string // relative, slash separated, no leading "/"
	kind   int
	perm   fs.FileMode // permission bits only
	data   func() (io.ReadCloser, error)
	size   int64
	target string // symlink target
	major  uint32 // char device number
	minor  uint32
}

// archive collects entries and writes them sorted, with every parent
// directory before its children (the kernel does not create missing parents).
type archive struct {
	entries map[string]archiveEntry
}

func newArchive() *archive { return &archive{entries: map[string]archiveEntry{}} }

// add records e, creating its parent directories. Adding the same name twice
// with different content is an error: the image would depend on the order.
func (a *archive) add(e archiveEntry) error {
	name, err := cleanName(e.name)
	if err != nil {
		return err
	}
	e.name = name
	if old, ok := a.entries[name]; ok {
		if old.kind == kindDir && e.kind == kindDir {
			return nil
		}
		return fmt.Errorf("initramfs: %s added twice", name)
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if old, ok := a.entries[dir]; ok {
			if old.kind != kindDir {
				return fmt.Errorf("initramfs: %s is not a directory (needed by %s)", dir, name)
			}
			continue
		}
		a.entries[dir] = archiveEntry{name: dir, kind: kindDir, perm: 0o755}
	}
	a.entries[name] = e
	return nil
}

func cleanName(name string) (string, error) {
	n := strings.TrimPrefix(path.Clean("/"+name), "/")
	if n == "" || n == "." {
		return "", fmt.Errorf("initramfs: bad entry name %q", name)
	}
	return n, nil
}

// names returns the entry names in archive order. Plain byte order puts
// "a" before "a/b", so parents always come first.
func (a *archive) names() []string {
	return slices.Sorted(maps.Keys(a.entries))
}

// writeTo writes the whole archive to w as newc cpio.
func (a *archive) writeTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	ino := uint32(0)
	for _, name := range a.names() {
		e := a.entries[name]
		ino++
		if err := writeEntry(cw, ino, e); err != nil {
			return cw.n, fmt.Errorf("initramfs: %s: %w", name, err)
		}
	}
	if err := writeHeader(cw, header{name: "TRAILER!!!", nlink: 1}); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

type header struct {
	name       string
	ino, mode  uint32
	nlink      uint32
	size       uint32
	rmaj, rmin uint32
}

func writeEntry(w *countWriter, ino uint32, e archiveEntry) error {
	h := header{name: e.name, ino: ino, nlink: 1}
	perm := uint32(e.perm.Perm())
	switch e.kind {
	case kindDir:
		h.mode = cpioDir | perm
		h.nlink = 2
		return writeHeader(w, h)
	case kindSymlink:
		h.mode = cpioSymlink | 0o777
		h.size = uint32(len(e.target))
		if err := writeHeader(w, h); err != nil {
			return err
		}
		if _, err := io.WriteString(w, e.target); err != nil {
			return err
		}
		return pad(w)
	case kindCharDev:
		h.mode = cpioCharDev | perm
		h.rmaj, h.rmin = e.major, e.minor
		return writeHeader(w, h)
	case kindFile:
		if e.size < 0 || e.size > 1<<32-1 {
			return fmt.Errorf("size %d does not fit a newc header", e.size)
		}
		h.mode = cpioFile | perm
		h.size = uint32(e.size)
		if err := writeHeader(w, h); err != nil {
			return err
		}
		rc, err := e.data()
		if err != nil {
			return err
		}
		n, err := io.Copy(w, rc)
		cerr := rc.Close()
		if err != nil {
			return err
		}
		if cerr != nil {
			return cerr
		}
		if n != e.size {
			// The file changed since it was listed: the header is already
			// written, so the archive would be corrupt.
			return fmt.Errorf("size changed while archiving (%d, then %d bytes)", e.size, n)
		}
		return pad(w)
	}
	return fmt.Errorf("unknown entry kind %d", e.kind)
}

func writeHeader(w *countWriter, h header) error {
	// Fields: ino mode uid gid nlink mtime filesize devmajor devminor
	// rdevmajor rdevminor namesize check. uid, gid, mtime and the device
	// the file came from are always 0.
	_, err := fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\x00",
		h.ino, h.mode, 0, 0, h.nlink, 0, h.size, 0, 0, h.rmaj, h.rmin, len(h.name)+1, 0, h.name)
	if err != nil {
		return err
	}
	return pad(w)
}

var zeros [4]byte

func pad(w *countWriter) error {
	if r := w.n % 4; r != 0 {
		_, err := w.Write(zeros[:4-r])
		return err
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

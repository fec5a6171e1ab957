package guest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/benchbook/benchbook/internal/inputfile"
)

// A guest that runs on this machine (a host guest, a process guest whose
// table names {dir}) gets a fresh scratch folder for each start, removed by
// its Stop: the notebook's {dir}, where the program and the load work.

// ScratchPrefix starts the name of every scratch folder,
// ScratchPrefix-PID-RANDOM, PID being benchbook's: a folder left by a killed
// benchbook is told from one of a benchbook still running (internal/tmpdir's
// convention, which doctor --clean sweeps by).
const ScratchPrefix = "benchbook-scratch"

// RunDirPrefixes start the names of the run folders of VM guests (a qemu
// guest's QMP and exec sockets; a local libvirt guest's scratch files and
// exec socket), PREFIX-PID-RANDOM like scratch folders, so doctor --clean
// removes those a killed benchbook left.
var RunDirPrefixes = []string{qemuRunPrefix, libvirtRunPrefix}

const (
	qemuRunPrefix    = "bb-qemu"
	libvirtRunPrefix = "bb-libvirt-run"
)

// scratchVar is how a notebook names the scratch folder.
const scratchVar = "{dir}"

// maxTemplate bounds a file a process guest copies into its scratch folder.
const maxTemplate = 16 << 20

// fill replaces the {name} references of a file whose name is in vars, as
// the notebook does in its strings ({{ is a literal brace), in one pass: a
// configuration file is full of braces that are not references.
func fill(data []byte, vars map[string]any) []byte {
	var b bytes.Buffer
	b.Grow(len(data))
	for i := 0; i < len(data); {
		c := data[i]
		if c != '{' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(data) && data[i+1] == '{' {
			b.WriteByte('{')
			i += 2
			continue
		}
		if name, n := refAt(data[i:]); n > 0 {
			if v, ok := vars[name]; ok {
				b.WriteString(formatVar(v))
				i += n
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.Bytes()
}

// refAt reads "{name}" at the start of s (name as the notebook's params:
// a letter or _, then letters, digits, _ and -), returning its length.
func refAt(s []byte) (string, int) {
	for j := 1; j < len(s) && j < 130; j++ {
		c := s[j]
		switch {
		case c == '}' && j > 1:
			return string(s[1:j]), j + 1
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case j > 1 && (c == '-' || c >= '0' && c <= '9'):
		default:
			return "", 0
		}
	}
	return "", 0
}

// formatVar writes a value as the notebook writes it into a string.
func formatVar(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// makeScratch makes the scratch folder under base (os.TempDir() when "")
// and pushes its removal on life's undo stack.
func makeScratch(life *lifecycle, base string) (string, error) {
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, fmt.Sprintf("%s-%d-", ScratchPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("scratch folder: %w", err)
	}
	life.push(func(context.Context) error { return os.RemoveAll(dir) })
	// {dir} means the same folder wherever a program runs from.
	if dir, err = filepath.Abs(dir); err != nil {
		return "", fmt.Errorf("scratch folder: %w", err)
	}
	// A server that drops its privileges (nginx's workers run as nobody
	// when it starts as root) must reach its files here; other users may
	// still not list the folder.
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", fmt.Errorf("scratch folder: %w", err)
	}
	return dir, nil
}

// checkBase says why base cannot hold scratch folders, wrapping
// ErrUnavailable (a folder of another machine, a disk not mounted here).
func checkBase(name, base string) error {
	if base == "" {
		return nil
	}
	fi, err := os.Stat(base)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("not a folder")
	}
	if err != nil {
		return fmt.Errorf("guest %s: %w: scratch base %s: %v", name, ErrUnavailable, base, err)
	}
	return nil
}

// copyTemplates copies each file into dir under its own name, its {name}
// references (as in the notebook's strings: {port}, {dir}, params; {{ for a
// literal brace) replaced from vars, keeping its mode.
func copyTemplates(files []string, dir string, vars map[string]any) error {
	seen := map[string]string{}
	for _, f := range files {
		base := filepath.Base(f)
		if other, ok := seen[base]; ok {
			return fmt.Errorf("files: %s and %s would both be %s in the scratch folder", other, f, base)
		}
		seen[base] = f
		data, err := inputfile.Read(f, maxTemplate, "a guest's file")
		if err != nil {
			return fmt.Errorf("files: %w", err)
		}
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("files: %w", err)
		}
		out := fill(data, vars)
		if err := os.WriteFile(filepath.Join(dir, base), out, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("files: %w", err)
		}
	}
	return nil
}

// fsMagic names the file systems a scratch folder is commonly on, by
// statfs's f_type.
var fsMagic = map[int64]string{
	0xEF53:     "ext4", // ext2, ext3 and ext4 share it: mountinfo tells them apart
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x794C7630: "overlay",
	0x2FC12FC1: "zfs",
	0xF2F52010: "f2fs",
	0x6969:     "nfs",
	0x65735546: "fuse",
	0x4D44:     "vfat",
	0x5346544E: "ntfs",
}

// scratchFacts describe the file system under dir, which matter for disk
// loads: its type and its mount options (the mount's, then the super
// block's, as /proc/self/mountinfo gives them).
func scratchFacts(dir string) map[string]string {
	out := map[string]string{}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		name, ok := fsMagic[int64(st.Type)]
		if !ok {
			name = "0x" + strconv.FormatInt(int64(st.Type), 16)
		}
		out["scratch_fs"] = name
	}
	m, ok := mountOf(dir)
	if !ok {
		return out
	}
	if m.fstype != "" {
		out["scratch_fs"] = m.fstype
	}
	out["scratch_mount"] = m.point
	out["scratch_mount_options"] = m.options
	out["scratch_device"] = m.source
	return out
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	point, options, fstype, source string
}

// mountOf finds the mount dir is on: the one with the longest mount point
// that holds dir's real path (the last such line, a mount over another
// hiding it).
func mountOf(dir string) (mount, bool) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return mount{}, false
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return mount{}, false
	}
	defer f.Close()
	var best mount
	found := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m, ok := parseMountinfo(sc.Text())
		if !ok || !within(real, m.point) {
			continue
		}
		if !found || len(m.point) >= len(best.point) {
			best, found = m, true
		}
	}
	return best, found
}

// parseMountinfo reads "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
// /dev/root rw,errors=continue" (proc(5)).
func parseMountinfo(line string) (mount, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return mount{}, false
	}
	a, b := strings.Fields(pre), strings.Fields(post)
	if len(a) < 6 || len(b) < 3 {
		return mount{}, false
	}
	opts := a[5]
	if b[2] != "" && b[2] != a[5] {
		opts += " (super block: " + b[2] + ")"
	}
	return mount{point: unescapeMount(a[4]), options: opts, fstype: b[0], source: unescapeMount(b[1])}, true
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline and
// backslash.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// within reports whether path is point or under it.
func within(path, point string) bool {
	if point == "/" {
		return true
	}
	return path == point || strings.HasPrefix(path, point+"/")
}

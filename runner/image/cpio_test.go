package image

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
)

// tinyArchive has one entry of each kind, added out of order.
func tinyArchive(t *testing.T) *archive {
	t.Helper()
	a := newArchive()
	for _, e := range []archiveEntry{
		bytesEntry("/etc/hello", []byte("hello, guest\n"), 0o644),
		{name: "bin/sh", kind: kindSymlink, target: "busybox"},
		bytesEntry("bin/busybox", []byte("#!\n"), 0o755),
		{name: "dev/console", kind: kindCharDev, perm: 0o600, major: 5, minor: 1},
		{name: "proc", kind: kindDir, perm: 0o755},
	} {
		if err := a.add(e); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func TestCpioGolden(t *testing.T) {
	var buf bytes.Buffer
	n, err := tinyArchive(t).writeTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n%4 != 0 {
		t.Errorf("wrote %d bytes, counted %d (want a multiple of 4)", buf.Len(), n)
	}
	golden.Check(t, filepath.Join("testdata", "tiny.cpio"), buf.Bytes())
}

// TestCpioReadable has GNU cpio list and extract the archive.
func TestCpioReadable(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed (apt-get install cpio)")
	}
	var buf bytes.Buffer
	if _, err := tinyArchive(t).writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cpio, "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, out)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		_, name, ok := strings.Cut(line, " 1970 ")
		if !ok {
			t.Fatalf("cpio -tv: entry not dated 1970: %s", line)
		}
		names = append(names, line[:1]+" "+name)
	}
	want := []string{
		"d bin", "- bin/busybox", "l bin/sh -> busybox", "d dev", "c dev/console",
		"d etc", "- etc/hello", "d proc",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("cpio -tv lists\n%s\nwant\n%s\nfull output:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"), out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.Contains(line, "root     root") {
			t.Errorf("entry not owned by root: %s", line)
		}
	}

	cmd = exec.CommandContext(ctx, cpio, "-i", "--quiet", "--to-stdout", "etc/hello")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -i --to-stdout: %v", err)
	}
	if string(got) != "hello, guest\n" {
		t.Errorf("etc/hello extracts as %q", got)
	}
}

func TestArchiveConflicts(t *testing.T) {
	a := newArchive()
	if err := a.add(bytesEntry("a/b", nil, 0o644)); err != nil {
		t.Fatal(err)
	}
	if err := a.add(bytesEntry("a/b", nil, 0o644)); err == nil {
		t.Error("adding a/b twice: no error")
	}
	if err := a.add(bytesEntry("a/b/c", nil, 0o644)); err == nil {
		t.Error("a/b/c under the file a/b: no error")
	}
	if err := a.add(archiveEntry{name: "a", kind: kindDir, perm: 0o755}); err != nil {
		t.Errorf("adding an existing directory again: %v", err)
	}
	if err := a.add(bytesEntry("/", nil, 0o644)); err == nil {
		t.Error("an empty name: no error")
	}
}

// TestArchiveSizeChange: a file that grows after it was listed must fail
// the build, not write a corrupt archive.
func TestArchiveSizeChange(t *testing.T) {
	a := newArchive()
	e := bytesEntry("f", []byte("12345"), 0o644)
	e.size = 3
	if err := a.add(e); err != nil {
		t.Fatal(err)
	}
	if _, err := a.writeTo(io.Discard); err == nil || !strings.Contains(err.Error(), "size changed") {
		t.Errorf("err = %v, want size changed", err)
	}
}

package image

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

func TestLZ4Block(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
		want string
		err  string
	}{
		{"literals only", []byte{0x50, 'h', 'e', 'l', 'l', 'o'}, "hello", ""},
		// "ab", then a match 2 back of 4+2 bytes (overlapping), then "!"
		{"overlapping match", []byte{0x22, 'a', 'b', 2, 0, 0x10, '!'}, "abababab!", ""},
		// 15+3 literals use the extra length byte.
		{"long literals", append([]byte{0xF0, 3}, []byte(strings.Repeat("x", 18))...), strings.Repeat("x", 18), ""},
		// 15 + 255 + 1 + 4 = 275 bytes of match.
		{"long match", []byte{0x1F, 'z', 1, 0, 255, 1, 0x00}, strings.Repeat("z", 276), ""},
		{"zero offset", []byte{0x10, 'a', 0, 0}, "", "offset 0"},
		{"offset before block", []byte{0x10, 'a', 5, 0}, "", "offset 5"},
		{"truncated literals", []byte{0x50, 'h'}, "", "literals past the end"},
		{"truncated offset", []byte{0x10, 'a', 1}, "", "truncated match offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lz4Block([]byte("previous block "), tc.src, 1<<20)
			if testutil.ExpectErr(t, err, tc.err) {
				return
			}
			if string(got) != "previous block "+tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := lz4Block(nil, []byte{0x1F, 'z', 1, 0, 255, 1, 0x00}, 100); err == nil {
		t.Error("a block over its limit decoded")
	}
}

// TestLZ4LegacyCLI decodes what the lz4 program writes with -l, the format
// the kernel build uses, with the kernel's size trailer appended.
func TestLZ4LegacyCLI(t *testing.T) {
	lz4, err := exec.LookPath("lz4")
	if err != nil {
		t.Skip("lz4 not installed (apt-get install lz4)")
	}
	// Compressible and incompressible parts, over one 8 MiB block.
	var in bytes.Buffer
	for i := 0; in.Len() < 9<<20; i++ {
		in.WriteString(strings.Repeat("benchbook ", i%50))
		binary.Write(&in, binary.LittleEndian, uint64(i)*0x9E3779B97F4A7C15)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lz4, "-l", "-c", "-9")
	cmd.Stdin = bytes.NewReader(in.Bytes())
	packed, err := cmd.Output()
	if err != nil {
		t.Fatalf("lz4 -l: %v", err)
	}
	packed = binary.LittleEndian.AppendUint32(packed, uint32(in.Len()))
	got, err := lz4Legacy(packed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in.Bytes()) {
		t.Fatalf("decoded %d bytes, not the %d compressed", len(got), in.Len())
	}
	bad := binary.LittleEndian.AppendUint32(packed[:len(packed)-4], uint32(in.Len()+1))
	if _, err := lz4Legacy(bad); err == nil {
		t.Error("wrong size trailer accepted")
	}
}

func TestExtractPVHHost(t *testing.T) {
	ver := needCloudKernel(t)
	bz, err := os.ReadFile("/boot/vmlinuz-" + ver)
	if err != nil {
		t.Fatal(err)
	}
	k, err := extractPVH(bz)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(k))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("unpacked kernel is %s %s", f.Machine, f.Type)
	}
	if !bytes.Contains(k, []byte("Linux version "+ver)) {
		t.Errorf("unpacked kernel lacks its banner %q", "Linux version "+ver)
	}
}

func TestExtractPVHRejects(t *testing.T) {
	if _, err := extractPVH([]byte("MZ not a kernel")); !errors.Is(err, errNotExtractable) {
		t.Errorf("not a bzImage: err = %v", err)
	}
	bz := make([]byte, 4096)
	copy(bz[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(bz[0x206:], 0x20f)
	bz[0x1f1] = 1
	binary.LittleEndian.PutUint32(bz[0x248:], 16)
	binary.LittleEndian.PutUint32(bz[0x24c:], 64)
	copy(bz[1024+16:], "\x1f\x8b gzip payload")
	if _, err := extractPVH(bz); !errors.Is(err, errNotExtractable) || !strings.Contains(err.Error(), "not LZ4") {
		t.Errorf("gzip payload: err = %v", err)
	}
	binary.LittleEndian.PutUint32(bz[0x24c:], 1<<20)
	if _, err := extractPVH(bz); !errors.Is(err, errNotExtractable) {
		t.Errorf("payload past the end: err = %v", err)
	}
}

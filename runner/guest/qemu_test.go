package guest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSMPUnderTCG: a single-CPU guest under TCG gets room for a second CPU,
// so qemu keeps the guest's memory barriers (without it OSv lost a virtio
// notification and stopped receiving mid-load); under KVM, and with more
// CPUs, -smp is the CPU count.
func TestSMPUnderTCG(t *testing.T) {
	tests := []struct {
		cpus  int
		accel string
		want  string
	}{
		{0, "tcg", "1,maxcpus=2"},
		{1, "tcg", "1,maxcpus=2"},
		{2, "tcg", "2"},
		{1, "kvm", "1"},
		{4, "kvm", "4"},
	}
	for _, tt := range tests {
		args := QemuArgs(Boot{Flavor: "osv", CPUs: tt.cpus, Memory: "1G", NIC: NICVirtioPCI}, tt.accel, Network{Mode: "user", HostPort: 1}, "")
		i := slices.Index(args, "-smp")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("cpus %d, %s: no -smp in %q", tt.cpus, tt.accel, args)
		}
		if got := args[i+1]; got != tt.want {
			t.Errorf("cpus %d, %s: -smp %s, want %s", tt.cpus, tt.accel, got, tt.want)
		}
	}
}

// fenceBootSector is a BIOS boot sector that runs the two fences a guest
// driver uses, mfence and a lock-prefixed or (what gcc makes of a seq_cst
// fence: OSv's vring::enable_interrupts is "lock orq $0,(%rsp)"), then
// leaves through isa-debug-exit at port 0xf4.
func fenceBootSector() []byte {
	code := []byte{
		0xfa,       // cli
		0x31, 0xc0, // xor ax,ax
		0x8e, 0xd8, // mov ds,ax
		0x0f, 0xae, 0xf0, // mfence
		0xf0, 0x83, 0x0e, 0x00, 0x05, 0x00, // lock or word [0x500],0
		0xb0, 0x01, 0xe6, 0xf4, // mov al,1; out 0xf4,al
		0xf4, 0xeb, 0xfd, // hlt; jmp back to hlt
	}
	img := make([]byte, 512*64)
	copy(img, code)
	img[510], img[511] = 0x55, 0xaa
	return img
}

// TestTCGKeepsBarriers asks the installed qemu what it makes of a guest's
// fences under the -smp benchbook gives a one-CPU TCG guest: with -smp 1,
// qemu 7.2 translates mfence to nothing and the lock-prefixed or to a
// plain load and store (no CF_PARALLEL when max_cpus is 1), so a virtio
// driver's "publish, fence, re-check" races with the device in qemu's
// I/O thread; with room for a second CPU it emits the barrier ("mb") and
// a host atomic. The -d op log shows which.
func TestTCGKeepsBarriers(t *testing.T) {
	needQemu(t)
	dir := t.TempDir()
	img, log := filepath.Join(dir, "boot.img"), filepath.Join(dir, "op.log")
	if err := os.WriteFile(img, fenceBootSector(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, QemuBinary, "-machine", "pc,accel=tcg", "-cpu", cpuModel("tcg"), "-m", "16",
		"-smp", smpArg(1, "tcg"), "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-serial", "none",
		"-device", "isa-debug-exit,iobase=0xf4", "-drive", "file="+img+",format=raw,if=ide",
		"-d", "op", "-dfilter", "0x7c00..0x7dff", "-D", log)
	out, err := cmd.CombinedOutput()
	// isa-debug-exit with 1 ends qemu with status (1<<1)|1 = 3.
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("qemu did not run the boot sector to its exit (%v): %s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	ops := string(b)
	if !regexp.MustCompile(`(?m)^\s*mb\s`).MatchString(ops) {
		t.Errorf("-smp %s: qemu emits no memory barrier for the guest's mfence:\n%s", smpArg(1, "tcg"), ops)
	}
	if !strings.Contains(ops, "atomic_") {
		t.Errorf("-smp %s: qemu does the guest's lock-prefixed or non-atomically:\n%s", smpArg(1, "tcg"), ops)
	}
}

package guest

import (
	"slices"
	"testing"
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

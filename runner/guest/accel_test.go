package guest

import (
	"context"
	"os/exec"
	"testing"
)

func needQemu(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(QemuBinary); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (make setup installs it)")
	}
}

// The probe itself must work: under TCG, which always runs, it succeeds;
// so a KVM failure means KVM, not the probe.
func TestProbeTCG(t *testing.T) {
	needQemu(t)
	if err := probe(context.Background(), "tcg"); err != nil {
		t.Fatalf("the probe kernel does not run under TCG: %v", err)
	}
}

// The Linux probe too must pass under TCG, or its KVM verdict means nothing.
func TestProbeLinuxTCG(t *testing.T) {
	needQemu(t)
	k := newestKernel("/boot")
	if k == "" {
		t.Skip("no kernel in /boot (make setup installs linux-image-cloud-amd64)")
	}
	if err := probeLinux(context.Background(), "tcg", k); err != nil {
		t.Fatalf("a Linux kernel does not reach its root-mount panic under TCG: %v", err)
	}
}

func TestChooseAccel(t *testing.T) {
	needQemu(t)
	ctx := context.Background()
	a, err := ChooseAccel(ctx, "tcg")
	if err != nil || a.Name != "tcg" {
		t.Fatalf("tcg: %+v %v", a, err)
	}
	kvmErr := ProbeKVM(ctx)
	t.Logf("KVM probe on this machine: %v", kvmErr)
	a, err = ChooseAccel(ctx, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if kvmErr != nil && (a.Name != "tcg" || a.Reason == "") {
		t.Errorf("auto without KVM: %+v", a)
	}
	if kvmErr == nil && a.Name != "kvm" {
		t.Errorf("auto with KVM: %+v", a)
	}
	_, err = ChooseAccel(ctx, "kvm")
	if (err == nil) != (kvmErr == nil) {
		t.Errorf("accel kvm: err %v, probe %v", err, kvmErr)
	}
}

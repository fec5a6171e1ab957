package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/netns"
)

func TestDoctor(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"doctor"}, &out, &errb); err != nil {
		t.Fatalf("doctor: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"redis-server", "ok", "memtier_benchmark", "network:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out.String())
		}
	}
}

// A namespace left by a crashed run (its pid is gone) is found and removed.
func TestDoctorClean(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skipf("private network namespaces need root and ip: %v", err)
	}
	name := netns.Prefix + "999999999-1" // no such pid
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", name).Run() })
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"doctor", "--clean"}, &out, &errb); err != nil {
		t.Fatalf("doctor --clean: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "removed network namespace "+name) {
		t.Errorf("output: %s", out.String())
	}
	if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
		t.Errorf("namespace still there: %v", err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
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

// killedRun writes nb.toml, one guest under a 60 s load, into a new
// folder, starts `benchbook run nb.toml` there, kills it with SIGKILL once
// its guest answers, kills the guest it leaves (nothing stops it), and
// returns the folder and the staging folder the run could not remove.
func killedRun(t *testing.T) (dir, staging string) {
	t.Helper()
	dir = t.TempDir()
	nbtest.File(t, filepath.Join(dir, "nb.toml"), phase(nbtest.RedisNoDisk, `test_time = "60s"`, dir))
	before := proctest.Children()
	cmd := start(t, benchbookCmd(t, dir, "run", "nb.toml"), nil, nil)
	pids := waitForLog(t, dir, "Ready to accept connections")
	cmd.Process.Kill()
	waitExit(t, cmd, 20*time.Second)
	proctest.Kill(proctest.Left(before, dir, pids...))
	left, _ := filepath.Glob(filepath.Join(dir, "nb.results", ".run-*"))
	if len(left) != 1 {
		t.Fatalf("after SIGKILL, staging folders %v, want the killed run's", left)
	}
	return dir, left[0]
}

// doctor --clean removes the staging folder of a run killed outright, and
// the temporary folders of a verify and a serve whose pid is dead, listing
// them; it skips, and names, the results folder of a run in progress.
func TestDoctorCleanStaging(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	dir, leftover := killedRun(t)

	// A run in progress in another results folder of the same folder.
	live := t.TempDir()
	nbtest.File(t, filepath.Join(live, "nb.toml"), phase(nbtest.RedisNoDisk, `test_time = "60s"`, live))
	before := proctest.Children()
	liveRun := start(t, benchbookCmd(t, live, "run", "nb.toml"), nil, nil)
	pids := waitForLog(t, live, "Ready to accept connections")
	liveStaging, _ := filepath.Glob(filepath.Join(live, "nb.results", ".run-*"))

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(tmp, fmt.Sprintf("benchbook-verify-%d-1", dead.Process.Pid))
	preview := filepath.Join(tmp, fmt.Sprintf("benchbook-serve-%d-2", dead.Process.Pid))
	guestDir := filepath.Join(tmp, fmt.Sprintf("benchbook-scratch-%d-3", dead.Process.Pid))
	qemuDir := filepath.Join(tmp, fmt.Sprintf("bb-qemu-%d-4", dead.Process.Pid))
	libvirtDir := filepath.Join(tmp, fmt.Sprintf("bb-libvirt-run-%d-5", dead.Process.Pid))
	for _, d := range []string{scratch, preview, guestDir, qemuDir, libvirtDir} {
		if err := os.MkdirAll(filepath.Join(d, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"doctor", "--clean", dir, filepath.Join(live, "nb.toml")}, &out, &errb); err != nil {
		t.Fatalf("doctor --clean: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{
		"removed staging folder " + leftover + " (left by a run that was killed)\n",
		fmt.Sprintf("skipped %s: a run is using it (pid %d)\n", filepath.Join(live, "nb.results"), liveRun.Process.Pid),
		"removed scratch folder " + scratch + " (its process is gone)\n",
		"removed scratch folder " + preview + " (its process is gone)\n",
		"removed scratch folder " + guestDir + " (its process is gone)\n",
		"removed scratch folder " + qemuDir + " (its process is gone)\n",
		"removed scratch folder " + libvirtDir + " (its process is gone)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor --clean did not say %q:\n%s", want, out.String())
		}
	}
	for _, p := range []string{leftover, scratch, preview, guestDir, qemuDir, libvirtDir} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there", p)
		}
	}
	if len(liveStaging) != 1 || !exists(liveStaging[0]) {
		t.Errorf("the live run's staging folder %v is gone", liveStaging)
	}

	liveRun.Process.Signal(syscall.SIGINT)
	if code, _ := waitExit(t, liveRun, 20*time.Second); code != 130 {
		t.Errorf("live run: exit status %d, want 130", code)
	}
	proctest.NoneLeft(t, before, live, pids...)

	out.Reset()
	if err := run(context.Background(), []string{"doctor", "--clean", dir}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "staging") {
		t.Errorf("second doctor --clean:\n%s", out.String())
	}
}

// The next run of a notebook removes the staging folder a killed run of it
// left, and says so.
func TestRunRemovesStagingOfKilled(t *testing.T) {
	needRedisServer(t)
	proctest.Adopt(t)
	dir, leftover := killedRun(t)

	nbtest.File(t, filepath.Join(dir, "nb.toml"), quickNotebook(dir))
	out, err := benchbookCmd(t, dir, "run", "nb.toml").CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	rel, _ := filepath.Rel(dir, leftover)
	if want := "removed " + rel + ": left by a run that was killed\n"; !strings.Contains(string(out), want) {
		t.Errorf("run did not say %q:\n%s", want, out)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "nb.results", ".run-*")); len(m) > 0 {
		t.Errorf("staging folders left: %v", m)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

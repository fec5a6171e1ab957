package runner

import (
	"unsafe"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/placement"
)

// placementNotebook is a redis process guest loaded by the builtin tool
// for 2 s (cell tp), and by a command that prints how many CPUs it may
// use (cell cpus), both with the given placement.
func placementNotebook(spec string) string {
	return fmt.Sprintf(`title = "placement"
`+nbtest.ProcessGuest("host", `["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--io-threads", "2"]`)+`[loads.quick]
tool = "builtin"
clients = 4
test_time = "2s"
[loads.nproc]
tool = "command"
command = ["nproc"]
metrics = { cpus = { regex = "([0-9]+)" } }
`+nbtest.BenchCell("tp", "quick", 1, "host")+`placement = %[1]q
`+nbtest.BenchCell("cpus", "nproc", 1, "host")+`placement = %[1]q
`, spec)
}

// threadCPUs is each thread's Cpus_allowed_list of process pid, by tid.
func threadCPUs(t *testing.T, pid int) map[int]string {
	t.Helper()
	tids, err := placement.Threads(pid)
	if err != nil {
		t.Errorf("threads of %d: %v", pid, err)
		return nil
	}
	out := map[int]string{}
	for _, tid := range tids {
		if s, err := placement.ThreadCPUs(pid, tid); err == nil {
			out[tid] = s.String()
		}
	}
	return out
}

// childNamed is the pid of this process's newest child whose command is
// name.
func childNamed(name string) int {
	best, bestStart := 0, uint64(0)
	children, _ := proctest.ListChildren()
	for _, c := range children {
		// The newest: a process orphaned by an earlier test is reparented
		// to this one (proctest makes it a subreaper).
		if c.Comm == name && (best == 0 || c.Start >= bestStart) {
			best, bestStart = c.Pid, c.Start
		}
	}
	return best
}

// allOn reports whether every thread in m has the CPU list want.
func allOn(m map[int]string, want string) bool {
	for _, s := range m {
		if s != want {
			return false
		}
	}
	return len(m) > 0
}

func needTwoCPUs(t *testing.T) placement.Set {
	t.Helper()
	allowed, err := placement.Allowed()
	if err != nil || len(allowed) < 2 {
		t.Skipf("placement needs 2 CPUs; benchbook may use %v (%v)", allowed, err)
	}
	return allowed
}

// On this machine's cores, for real: redis (every thread) on the system
// under test's CPU, every thread of benchbook running the builtin load on
// the load's, and an external load tool (nproc) given the load's CPUs
// only, read back from /proc while the load runs; "none" keeps today's
// behaviour. The plan is in the results and the guest's facts.
func TestPlacementProcessGuest(t *testing.T) {
	needRedis(t)
	allowed := needTwoCPUs(t)
	half := (len(allowed) + 1) / 2
	sut, ld := allowed[:half], allowed[half:]
	tests := []struct {
		spec      string
		sut, load string // the CPU lists read back
	}{
		{"auto", sut.String(), ld.String()},
		{fmt.Sprintf("sut=%d,load=%d", allowed[1], allowed[0]), strconv.Itoa(allowed[1]), strconv.Itoa(allowed[0])},
		{"none", allowed.String(), allowed.String()},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			nb, store := writeNotebook(t, t.TempDir(), placementNotebook(tt.spec))
			var out bytes.Buffer
			opt := runOpts(&out)
			var mu sync.Mutex
			var redis, bench map[int]string
			opt.Trace = func(ev string) {
				if ev != "load-started" || redis != nil {
					return
				}
				time.AfterFunc(500*time.Millisecond, func() {
					mu.Lock()
					defer mu.Unlock()
					redis, bench = threadCPUs(t, childNamed("redis-server")), threadCPUs(t, os.Getpid())
				})
			}
			if _, err := Run(context.Background(), nb, store, opt); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			mu.Lock()
			defer mu.Unlock()
			t.Logf("redis threads %v, benchbook threads %v\n%s", redis, bench, out.String())
			if !allOn(redis, tt.sut) || len(redis) < 3 {
				t.Errorf("redis-server's threads during the load: %v, want all on %s", redis, tt.sut)
			}
			if !allOn(bench, tt.load) {
				t.Errorf("benchbook's threads during the builtin load: %v, want all on %s", bench, tt.load)
			}
			if after := threadCPUs(t, os.Getpid()); !allOn(after, allowed.String()) {
				t.Errorf("benchbook's threads after the run: %v, want all back on %s", after, allowed)
			}
			checkPlacementRecorded(t, store, tt.spec, tt.sut, tt.load)
		})
	}
}

// checkPlacementRecorded checks the plan in both cells' results, the
// guest's facts, and the CPU count the command load saw.
func checkPlacementRecorded(t *testing.T, store results.Store, spec, sut, load string) {
	t.Helper()
	for _, cell := range []string{"tp", "cpus"} {
		f := mustLoad(t, store, cell)
		p, g := f.Env.Placement, f.Guest("host")
		if p == nil {
			t.Fatalf("%s: no placement recorded", cell)
		}
		if spec == "none" {
			if p.Mode != "none" || p.SUT != "" || g.Facts["placement"] != "" {
				t.Errorf("%s: placement none recorded as %+v, facts %v", cell, p, g.Facts)
			}
		} else if p.SUT != sut || p.Load != load || g.Facts["placement"] != "on CPU "+sut || g.Facts["load_placement"] != "on CPU "+load {
			t.Errorf("%s: placement %+v, facts %v; want sut %s, load %s", cell, p, g.Facts, sut, load)
		}
		if r := g.Points[0].Repeats[0]; r.Noise == nil {
			t.Errorf("%s: repeat without noise: %+v", cell, r)
		}
		if cell == "cpus" {
			want, _ := placement.ParseSet(load)
			if got := g.Points[0].Repeats[0].Metrics["cpus"]; got != float64(len(want)) {
				t.Errorf("nproc in the load saw %v CPUs, want %d (%s)", got, len(want), load)
			}
		}
	}
}

// Within an existing affinity mask: benchbook started by taskset on one
// CPU plans within it, says placement is not possible on 1 core, places
// nothing, and its redis stays on that CPU.
func TestPlacementOneCore(t *testing.T) {
	if os.Getenv("BENCHBOOK_PLACEMENT_CHILD") == "" {
		needRedis(t)
		allowed := needTwoCPUs(t)
		if _, err := exec.LookPath("taskset"); err != nil {
			t.Skip("taskset is not installed (util-linux)")
		}
		last := strconv.Itoa(allowed[len(allowed)-1])
		cmd := exec.Command("taskset", "-c", last, os.Args[0], "-test.run=^TestPlacementOneCore$", "-test.v")
		cmd.Env = append(os.Environ(), "BENCHBOOK_PLACEMENT_CHILD="+last)
		out, err := cmd.CombinedOutput()
		t.Logf("under taskset -c %s:\n%s", last, out)
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestPlacementOneCore")) {
			t.Fatalf("the run under taskset failed: %v", err)
		}
		return
	}
	cpu := os.Getenv("BENCHBOOK_PLACEMENT_CHILD")
	nb, store := writeNotebook(t, t.TempDir(), placementNotebook("auto"))
	var out bytes.Buffer
	opt := runOpts(&out)
	var redis map[int]string
	opt.Trace = func(ev string) {
		if ev == "load-started" && redis == nil {
			redis = threadCPUs(t, childNamed("redis-server"))
		}
	}
	if _, err := Run(context.Background(), nb, store, opt); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "tp: placement auto: placement: not possible on 1 core\n") {
		t.Errorf("progress does not say placement is not possible:\n%s", out.String())
	}
	f := mustLoad(t, store, "tp")
	want := &results.Placement{Mode: "auto", Allowed: cpu, Note: "placement: not possible on 1 core"}
	if !reflect.DeepEqual(f.Env.Placement, want) {
		t.Errorf("placement %+v, want %+v", f.Env.Placement, want)
	}
	if !allOn(redis, cpu) {
		t.Errorf("redis threads %v, want all on the one CPU %s", redis, cpu)
	}
}

// The Linux micro-VM under qemu TCG, placed for real: qemu's vCPU thread
// (its id from QMP query-cpus-fast, asked by the test itself) and every
// other qemu thread on the system under test's CPU, benchbook's threads
// on the load's, while the load runs.
func TestPlacementMicroVM(t *testing.T) {
	needVM(t)
	allowed := needTwoCPUs(t)
	sut, ld := allowed[:(len(allowed)+1)/2], allowed[(len(allowed)+1)/2:]
	src := strings.Replace(vmNotebook, "requests = 300", `test_time = "3s"`, 1)
	src = strings.Replace(src, "repeat = 2", "repeat = 1", 1)
	nb, store := writeNotebook(t, t.TempDir(), src)
	var out bytes.Buffer
	opt := vmOpts(t, &out, t.TempDir())
	var mu sync.Mutex
	var vcpu, qemu, bench map[int]string
	opt.Trace = func(ev string) {
		if ev != "load-started" {
			return
		}
		time.AfterFunc(time.Second, func() {
			mu.Lock()
			defer mu.Unlock()
			pid := childNamed("qemu-system-x86")
			qemu, bench = threadCPUs(t, pid), threadCPUs(t, os.Getpid())
			vcpu = map[int]string{}
			tids, err := testVCPUThreads(pid)
			if err != nil {
				t.Errorf("query-cpus-fast: %v", err)
			}
			for _, tid := range tids {
				if s, err := placement.ThreadCPUs(pid, tid); err == nil {
					vcpu[tid] = s.String()
				}
			}
		})
	}
	if _, err := Run(context.Background(), nb, store, opt); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("vCPU threads %v, qemu's threads %v, benchbook's %v\n%s", vcpu, qemu, bench, out.String())
	one := strconv.Itoa(sut[0])
	if len(vcpu) != 1 || !allOn(vcpu, one) {
		t.Errorf("the vCPU thread: %v, want on CPU %s", vcpu, one)
	}
	if !allOn(qemu, sut.String()) {
		t.Errorf("qemu's threads: %v, want all on %s", qemu, sut)
	}
	if !allOn(bench, ld.String()) {
		t.Errorf("benchbook's threads during the load: %v, want all on %s", bench, ld)
	}
	f := mustLoad(t, store, "tp")
	g := f.Guest("linux")
	if want := fmt.Sprintf("vCPU 0 on CPU %s, qemu's other threads on %s", one, sut.Describe()); g.Facts["placement"] != want {
		t.Errorf("fact placement %q, want %q", g.Facts["placement"], want)
	}
}

// testVCPUThreads asks qemu pid, over the QMP socket on its command line,
// for its vCPU threads.
func testVCPUThreads(pid int) ([]int, error) {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil, err
	}
	args := strings.Split(string(cmdline), "\x00")
	sock := ""
	for i, a := range args {
		if a == "-qmp" && i+1 < len(args) {
			sock, _, _ = strings.Cut(strings.TrimPrefix(args[i+1], "unix:"), ",")
		}
	}
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	r.ReadString('\n')
	fmt.Fprintln(conn, `{"execute":"qmp_capabilities"}`)
	r.ReadString('\n')
	fmt.Fprintln(conn, `{"execute":"query-cpus-fast"}`)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var reply struct {
			Return []struct {
				Thread int `json:"thread-id"`
			} `json:"return"`
		}
		if json.Unmarshal(line, &reply) == nil && reply.Return != nil {
			var tids []int
			for _, c := range reply.Return {
				tids = append(tids, c.Thread)
			}
			return tids, nil
		}
	}
}

// A busy loop beside the repeats, in a process that is not benchbook's:
// every repeat is flagged busy, in the results and in the progress line.
func TestBusyRepeatFlagged(t *testing.T) {
	needRedis(t)
	src := strings.Replace(hostNotebook, "requests = 300", `test_time = "1s"`, 1)
	nb, store := writeNotebook(t, t.TempDir(), src)
	// An orphan: its parent shell exits at once, so it is nobody's of ours
	// -- unless this test process is a subreaper (proctest makes it one for
	// other tests), which would adopt it: that is switched off meanwhile.
	var reaper uintptr
	unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&reaper)), 0, 0, 0)
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	loop, err := exec.Command("sh", "-c", "(exec sh -c 'while :; do :; done') >/dev/null 2>&1 & echo $!").Output()
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, reaper, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(loop)))
	if err != nil || pid <= 1 {
		t.Fatalf("loop pid %q", loop)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	var out bytes.Buffer
	if _, err := Run(context.Background(), nb, store, runOpts(&out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Log(out.String())
	f := mustLoad(t, store, "tp")
	for i, r := range f.Guest("host").Points[0].Repeats {
		if r.Noise == nil || r.Noise.Busy == "" || r.Noise.OthersPct < 20 {
			t.Errorf("repeat %d beside a busy loop: noise %+v, want it flagged busy", i+1, r.Noise)
		}
	}
	if n := strings.Count(out.String(), "; BUSY machine: others used "); n != 2 {
		t.Errorf("%d progress lines flag the machine busy, want 2:\n%s", n, out.String())
	}
	if busy, sampled := f.BusyRepeats(); busy != 2 || sampled != 2 {
		t.Errorf("BusyRepeats = %d of %d, want 2 of 2", busy, sampled)
	}
}

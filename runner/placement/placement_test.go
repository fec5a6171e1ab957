package placement

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		in   string
		want Set
		str  string
		bad  bool
	}{
		{in: "", want: nil, str: ""},
		{in: "0", want: Set{0}, str: "0"},
		{in: "0-1\n", want: Set{0, 1}, str: "0-1"},
		{in: "3,0-1,2", want: Set{0, 1, 2, 3}, str: "0-3"},
		{in: "0,2,4-5, 7", want: Set{0, 2, 4, 5, 7}, str: "0,2,4-5,7"},
		{in: "1,1", want: Set{1}, str: "1"},
		{in: "3-1", bad: true},
		{in: "a", bad: true},
		{in: "-1", bad: true},
		{in: "0,", bad: true},
		{in: "99999", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseSet(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseSet(%q) error %v, want error %v", tt.in, err, tt.bad)
			continue
		}
		if tt.bad {
			continue
		}
		if !reflect.DeepEqual(got, tt.want) || got.String() != tt.str {
			t.Errorf("ParseSet(%q) = %v (%q), want %v (%q)", tt.in, got, got.String(), tt.want, tt.str)
		}
	}
}

func TestCores(t *testing.T) {
	tests := []struct {
		dir     string
		allowed Set
		want    []Set
	}{
		{"epyc-2", Set{0, 1}, []Set{{0}, {1}}},
		{"smt-4", Set{0, 1, 2, 3}, []Set{{0, 2}, {1, 3}}},
		{"smt-4", Set{1, 2, 3}, []Set{{1, 3}, {2}}}, // a cpuset of three of them
		{"smt-1", Set{0, 1}, []Set{{0, 1}}},
		{"missing", Set{0, 1}, []Set{{0}, {1}}}, // no topology: each CPU its own core
	}
	for _, tt := range tests {
		got := Cores(os.DirFS(filepath.Join("testdata", tt.dir)), tt.allowed)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Cores(%s, %v) = %v, want %v", tt.dir, tt.allowed, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	two := []Set{{0}, {1}}
	tests := []struct {
		name, spec string
		allowed    Set
		cores      []Set
		sut, load  Set
		text       string // Plan.String, or the error
	}{
		{"1 core", "auto", Set{0}, []Set{{0}}, nil, nil, "placement: not possible on 1 core"},
		{"2 cores", "auto", Set{0, 1}, two, Set{0}, Set{1}, "system under test on CPU 0, load on CPU 1"},
		{"default is auto", "", Set{0, 1}, two, Set{0}, Set{1}, "system under test on CPU 0, load on CPU 1"},
		{"a cpuset of 2 of 8", "auto", Set{4, 6}, []Set{{4}, {6}}, Set{4}, Set{6}, "system under test on CPU 4, load on CPU 6"},
		{"3 cores", "auto", Set{0, 1, 2}, []Set{{0}, {1}, {2}}, Set{0, 1}, Set{2}, "system under test on CPUs 0-1, load on CPU 2"},
		{"SMT pairs stay together", "auto", Set{0, 1, 2, 3}, []Set{{0, 2}, {1, 3}}, Set{0, 2}, Set{1, 3}, "system under test on CPUs 0,2, load on CPUs 1,3"},
		{"one SMT core", "auto", Set{0, 1}, []Set{{0, 1}}, Set{0}, Set{1}, "system under test on CPU 0, load on CPU 1 (both sides are SMT siblings of one physical core)"},
		{"none", "none", Set{0, 1}, two, nil, nil, "placement: none"},
		{"explicit", "load=0,sut=1", Set{0, 1}, two, Set{1}, Set{0}, "system under test on CPU 1, load on CPU 0"},
		{"explicit lists", "sut=0,2,load=1,3", Set{0, 1, 2, 3}, nil, Set{0, 2}, Set{1, 3}, "system under test on CPUs 0,2, load on CPUs 1,3"},
		{"explicit ranges", "sut=0-1,load=2-3", Set{0, 1, 2, 3}, nil, Set{0, 1}, Set{2, 3}, "system under test on CPUs 0-1, load on CPUs 2-3"},
		{"outside the mask", "sut=0,load=3", Set{0, 1}, two, nil, nil, `placement "sut=0,load=3": load CPU 3 is not among the CPUs benchbook may use (0-1)`},
		{"overlap", "sut=0-1,load=1", Set{0, 1}, two, nil, nil, `placement "sut=0-1,load=1": both sides have CPU 1: they must be disjoint`},
		{"one side", "sut=0", Set{0, 1}, two, nil, nil, `placement "sut=0": name the CPUs of both sides, sut=CPUS,load=CPUS`},
		{"twice", "sut=0,sut=1", Set{0, 1}, two, nil, nil, `placement "sut=0,sut=1": sut is named twice`},
		{"no side", "0,1", Set{0, 1}, two, nil, nil, `placement "0,1": want auto, none or sut=CPUS,load=CPUS (like "sut=0,load=1")`},
		{"unknown side", "sut=0,guest=1", Set{0, 1}, two, nil, nil, `placement "sut=0,guest=1": "guest" is no side: want sut=CPUS,load=CPUS`},
	}
	for _, tt := range tests {
		p, err := plan(tt.spec, tt.allowed, tt.cores)
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if got != tt.text || !reflect.DeepEqual(p.SUT, tt.sut) || !reflect.DeepEqual(p.Load, tt.load) {
			t.Errorf("%s: plan(%q) = %v / %v %q, want %v / %v %q", tt.name, tt.spec, p.SUT, p.Load, got, tt.sut, tt.load, tt.text)
		}
	}
}

func needCPUs(t *testing.T, n int) Set {
	t.Helper()
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < n {
		t.Skipf("benchbook may use %d CPUs (%s); the test needs %d", len(allowed), allowed, n)
	}
	return allowed
}

// A thread pinned with SetThread says so in /proc, and so does a child
// forked from it; RestoreThread gives it the initial mask back.
func TestSetThreadAndInherit(t *testing.T) {
	allowed := needCPUs(t, 2)
	last := Set{allowed[len(allowed)-1]}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := unix.Gettid()
	if err := SetThread(0, last); err != nil {
		t.Fatal(err)
	}
	defer RestoreThread(0)
	if got, err := ThreadCPUs(os.Getpid(), tid); err != nil || !reflect.DeepEqual(got, last) {
		t.Errorf("thread's CPUs = %v, %v; want %v", got, err, last)
	}
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := AllowedList(out); !reflect.DeepEqual(got, last) {
		t.Errorf("a child forked from the pinned thread: %q, want %v", out, last)
	}
	if err := RestoreThread(0); err != nil {
		t.Fatal(err)
	}
	if got, _ := ThreadCPUs(os.Getpid(), tid); !reflect.DeepEqual(got, allowed) {
		t.Errorf("restored thread's CPUs = %v, want %v", got, allowed)
	}
}

// PinProcess moves every thread, also those started while it holds, and
// its restore moves them all back.
func TestPinProcess(t *testing.T) {
	allowed := needCPUs(t, 2)
	last := Set{allowed[len(allowed)-1]}
	restore, err := PinProcess(last)
	if err != nil {
		t.Fatal(err)
	}
	// A thread made while pinned: a goroutine locked to a new thread.
	started, stop := make(chan int), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		started <- unix.Gettid()
		<-stop
	}()
	fresh := <-started
	defer close(stop)
	check := func(want Set, when string) {
		tids, err := Threads(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		var wrong []string
		for _, tid := range tids {
			if got, err := ThreadCPUs(os.Getpid(), tid); err == nil && !reflect.DeepEqual(got, want) {
				wrong = append(wrong, strconv.Itoa(tid)+":"+got.String())
			}
		}
		if len(wrong) > 0 {
			t.Errorf("%s: threads not on %v: %s (the fresh one is %d)", when, want, strings.Join(wrong, " "), fresh)
		}
	}
	check(last, "pinned")
	restore()
	restore() // once only
	check(allowed, "restored")
}

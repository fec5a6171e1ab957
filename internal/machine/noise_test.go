package machine

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/results"
)

func TestCPUFacts(t *testing.T) {
	tests := []struct {
		dir                               string
		governor, boost, smt, mitigations string
	}{
		{"ci-epyc", "unknown", "unknown", "not supported",
			"vulnerable: spec_rstack_overflow, spec_store_bypass; mitigated: meltdown, spectre_v1, spectre_v2; not affected: 14"},
		{"laptop-intel", "powersave", "on", "on",
			"mitigated: l1tf, mds, meltdown, spec_store_bypass, spectre_v1, spectre_v2; unknown: mmio_stale_data; not affected: 1"},
		{"server-acpi", "performance on CPUs 0-1, schedutil on CPUs 2-3, unknown on CPU 4", "off", "off",
			"kernel booted with mitigations=off; vulnerable: meltdown, spectre_v1, spectre_v2; not affected: 1"},
		{"missing", "unknown", "unknown", "unknown", "unknown"},
	}
	for _, tt := range tests {
		g, b, s, m := CPUFacts(os.DirFS(filepath.Join("testdata", tt.dir)))
		got := []string{g, b, s, m}
		want := []string{tt.governor, tt.boost, tt.smt, tt.mitigations}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.dir, got, want)
		}
	}
}

func TestParseProcFiles(t *testing.T) {
	stat, _ := os.ReadFile("testdata/ci-epyc/proc/stat")
	ct, err := parseProcStat(stat)
	if err != nil || ct.user == 0 || ct.idle == 0 {
		t.Errorf("captured /proc/stat: %+v, %v", ct, err)
	}
	tests := []struct {
		in   string
		want cpuTimes
		bad  bool
	}{
		{in: "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n", want: cpuTimes{1, 2, 3, 4, 5, 6, 7, 8}},
		{in: "cpu 10 0 5\n", bad: true},                                          // fewer than four columns
		{in: "cpu  4 0 2 100 0 0 0\n", want: cpuTimes{4, 0, 2, 100, 0, 0, 0, 0}}, // no steal column
		{in: "intr 1 2\n", bad: true},
		{in: "cpu  x 0 0 0 0\n", bad: true},
	}
	for _, tt := range tests {
		got, err := parseProcStat([]byte(tt.in))
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("parseProcStat(%q) = %+v, %v", tt.in, got, err)
		}
	}
	for in, want := range map[string]float64{"3.15 3.88 4.43 3/135 21182\n": 3.15, "0.00 0.01 0.05 1/80 7": 0} {
		if got, err := parseLoadavg([]byte(in)); err != nil || got != want {
			t.Errorf("parseLoadavg(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseLoadavg([]byte("")); err == nil {
		t.Error("parseLoadavg accepted an empty file")
	}
}

func TestParsePidStat(t *testing.T) {
	tests := []struct {
		in   string
		want pidStat
		bad  bool
	}{
		// captured: a cat reading its own stat
		{in: "24836 (cat) R 24795 24795 17545 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 1086834 3133440 416 18446744073709551615", want: pidStat{24836, 24795, 0}},
		{in: "1 (process_api) S 0 0 0 0 -1 4194560 104879 130224382 0 22890 2567 6668 887304 538679 10 -10 16 0", want: pidStat{1, 0, 2567 + 6668 + 887304 + 538679}},
		{in: "7 (a) (b) R 3 7 7 0 -1 0 0 0 0 0 5 6 7 8 20 0 1 0", want: pidStat{7, 3, 26}},
		{in: "7 (x) R 3 7 7 0 -1 0 0 0 0 0 5 6", bad: true},
		{in: "garbage", bad: true},
	}
	for _, tt := range tests {
		got, err := parsePidStat([]byte(tt.in))
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("parsePidStat(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// Two samples of a small process tree, 2 s apart (see testdata/README).
func TestBetween(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		extra []int
		want  results.RepeatNoise
	}{
		// ours: 165 ticks with libvirt's qemu; all: 221; others 56 in 2 s.
		{"libvirt's qemu is ours", []int{300}, results.RepeatNoise{LoadBefore: 0.52, LoadAfter: 1.27, OthersPct: 28, StealPct: 6,
			Busy: "others used 28 % of a core; the hypervisor stole 6 % of a core"}},
		// Without it, qemu's 50 ticks are others'.
		{"qemu counted as others", nil, results.RepeatNoise{LoadBefore: 0.52, LoadAfter: 1.27, OthersPct: 53, StealPct: 6,
			Busy: "others used 53 % of a core; the hypervisor stole 6 % of a core"}},
	}
	for _, tt := range tests {
		a := takeSample(os.DirFS("testdata/tree-before"), 100, tt.extra, t0)
		b := takeSample(os.DirFS("testdata/tree-after"), 100, tt.extra, t0.Add(2*time.Second))
		got := Between(a, b)
		if got == nil || *got != tt.want {
			t.Errorf("%s: %+v, want %+v (samples %+v %+v)", tt.name, got, tt.want, a, b)
		}
	}
}

// The busy rule, on samples made up: thresholds and the floor of ticks.
func TestBusyRule(t *testing.T) {
	t0 := time.Now()
	at := func(d time.Duration, busy, ours, steal uint64) Sample {
		return Sample{At: t0.Add(d), Busy: busy, Ours: ours, Steal: steal}
	}
	tests := []struct {
		name string
		a, b Sample
		busy string
	}{
		{"quiet", at(0, 0, 0, 0), at(time.Second, 110, 100, 0), ""}, // others 10 %
		{"at the threshold", at(0, 0, 0, 0), at(time.Second, 120, 100, 0), "others used 20 % of a core"},
		{"a loop beside", at(0, 0, 0, 0), at(2*time.Second, 400, 200, 0), "others used 100 % of a core"},
		{"too short to tell", at(0, 0, 0, 0), at(20*time.Millisecond, 4, 0, 0), ""}, // 200 % but 4 ticks
		{"steal", at(0, 0, 0, 0), at(10*time.Second, 1000, 1000, 60), "the hypervisor stole 6 % of a core"},
		{"ours above the total by rounding", at(0, 0, 0, 0), at(time.Second, 100, 101, 0), ""},
	}
	for _, tt := range tests {
		got := Between(tt.a, tt.b)
		if got == nil || got.Busy != tt.busy {
			t.Errorf("%s: %+v, want busy %q", tt.name, got, tt.busy)
		}
	}
	if Between(Sample{Err: os.ErrNotExist}, at(time.Second, 1, 1, 0)) != nil {
		t.Error("a failed sample judged a window")
	}
}

// On this machine: the CPU time of a busy loop in a child of benchbook
// counts as benchbook's own, that of a loop benchbook is not the parent
// of does not. Each loop's own time is read from the kernel, so others'
// work on this shared machine does not change the verdict.
func TestTakeSampleOnThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	// A child: its time is in our cutime once it is reaped.
	a := TakeSample(nil)
	child := exec.Command("timeout", "1", "sh", "-c", "while :; do :; done")
	child.Run() // timeout ends it with status 124
	b := TakeSample(nil)
	loop := ticksOf(child.ProcessState.UserTime() + child.ProcessState.SystemTime())
	if a.Err != nil || b.Err != nil {
		t.Fatal(a.Err, b.Err)
	}
	if got := b.Ours - a.Ours; got+2 < loop {
		t.Errorf("a child's loop of %d ticks: benchbook's own time grew by %d", loop, got)
	}

	// An orphan: the subshell's parent exits at once, so init adopts it.
	out, err := exec.Command("sh", "-c", "(exec sh -c 'while :; do :; done') >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(out))
	if n, err := strconv.Atoi(pid); err == nil && n > 1 {
		defer syscall.Kill(n, syscall.SIGKILL)
	}
	a = TakeSample(nil)
	time.Sleep(900 * time.Millisecond)
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Skipf("the orphan loop ended early: %v", err)
	}
	b = TakeSample(nil)
	st, err := parsePidStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid == os.Getpid() {
		t.Fatalf("the loop %s is still benchbook's child", pid)
	}
	ours, others := b.Ours-a.Ours, (b.Busy-a.Busy)-min(b.Busy-a.Busy, b.Ours-a.Ours)
	t.Logf("orphan loop %s: %d ticks in all; benchbook's own grew by %d, others' by %d; %+v", pid, st.ticks, ours, others, Between(a, b))
	if st.ticks >= 10 && ours > st.ticks/2 {
		t.Errorf("an orphan loop of %d ticks counted as benchbook's own: it grew by %d", st.ticks, ours)
	}
}

func ticksOf(d time.Duration) uint64 { return uint64(d / (time.Second / clockTicks)) }

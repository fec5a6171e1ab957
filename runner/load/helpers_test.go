package load

import (
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/notebook"
)

// needProgram skips when prog cannot be on this machine. redis-benchmark is
// a Debian package (redis-tools) and must be installed; memtier_benchmark is
// in no Debian release, so only its absence is a reason to skip.
func needProgram(t testing.TB, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		if prog == memtierProg {
			t.Skipf("%s not on PATH (see benchbook doctor)", prog)
		}
		t.Fatalf("%s not on PATH: apt-get install -y redis-tools", prog)
	}
}

// sharedTestdata returns shared/testdata/<sub>, found by walking up from the
// package directory: the recorded tool outputs live beside the repository,
// not in it.
func sharedTestdata(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "testdata", sub)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("shared/testdata/%s not found beside the repository: recorded tool outputs are needed", sub)
		}
		dir = parent
	}
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// childrenNamed lists the pids of this process' children (alive or zombie)
// whose command name starts with name.
func childrenNamed(t testing.TB, name string) []int {
	t.Helper()
	children, err := proctest.ListChildren()
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, c := range children {
		if strings.HasPrefix(c.Comm, name) {
			pids = append(pids, c.Pid)
		}
	}
	return pids
}

// runSane runs s with tool against addr within 20 s, fails t on an error,
// and checks the measurement is sane for s.
func runSane(t *testing.T, tool, addr string, s Spec) Measurement {
	t.Helper()
	return runSaneWithin(t, 20*time.Second, tool, addr, s)
}

// runSaneWithin is runSane for runs that may take up to limit.
func runSaneWithin(t *testing.T, limit time.Duration, tool, addr string, s Spec) Measurement {
	t.Helper()
	m, err := runWithin(context.Background(), t, limit, tool, addr, s)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, m, s)
	return m
}

// runWithin runs l and fails the test if it takes longer than limit.
func runWithin(ctx context.Context, t *testing.T, limit time.Duration, tool, addr string, s Spec) (Measurement, error) {
	t.Helper()
	l, err := New(tool)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := l.Run(ctx, Target{Addr: addr}, s)
	if took := time.Since(start); took > limit {
		t.Errorf("%s: Run took %s, want under %s", tool, took, limit)
	}
	return m, err
}

// checkSane checks figures every successful run must satisfy.
func checkSane(t *testing.T, m Measurement, s Spec) {
	t.Helper()
	s = s.WithDefaults()
	if m.Totals.Ops <= 0 || m.Totals.OpsPerSec <= 0 || m.Duration <= 0 {
		t.Fatalf("no work measured: ops %d, ops/s %g, duration %s", m.Totals.Ops, m.Totals.OpsPerSec, m.Duration)
	}
	if got := m.Sets.Ops + m.Gets.Ops; got != m.Totals.Ops {
		t.Errorf("sets %d + gets %d != totals %d", m.Sets.Ops, m.Gets.Ops, m.Totals.Ops)
	}
	if s.TestTime == 0 {
		if want := int64(s.Threads * s.Clients * s.Requests); m.Totals.Ops != want {
			t.Errorf("totals ops %d, want %d", m.Totals.Ops, want)
		}
	}
	// SET share near the ratio's.
	want := float64(s.Ratio.Set) / float64(s.Ratio.Set+s.Ratio.Get)
	got := float64(m.Sets.Ops) / float64(m.Totals.Ops)
	if got < want-0.02 || got > want+0.02 {
		t.Errorf("SET share %.3f, want %.3f (sets %d, gets %d)", got, want, m.Sets.Ops, m.Gets.Ops)
	}
	for name, st := range map[string]Stats{"totals": m.Totals, "sets": m.Sets, "gets": m.Gets} {
		if st.Ops == 0 {
			continue
		}
		if !(st.LatencyAvg > 0 && st.LatencyP50 > 0 && st.LatencyP50 <= st.LatencyP99 && st.LatencyP99 <= st.LatencyMax) {
			t.Errorf("%s latencies out of order: avg %g p50 %g p99 %g max %g", name, st.LatencyAvg, st.LatencyP50, st.LatencyP99, st.LatencyMax)
		}
		if st.LatencyAvg > st.LatencyMax {
			t.Errorf("%s avg %g > max %g", name, st.LatencyAvg, st.LatencyMax)
		}
		for i := 1; i < len(st.Percentiles); i++ {
			a, b := st.Percentiles[i-1], st.Percentiles[i]
			if !(a.P < b.P && a.LatencyUs <= b.LatencyUs) {
				t.Errorf("%s percentiles not ascending at %v, %v", name, a, b)
			}
		}
	}
	if len(m.Command) == 0 || m.ToolVersion == "" {
		t.Errorf("command %q, version %q", m.Command, m.ToolVersion)
	}
}

// checkFuzzed fails a fuzz target's input whose measurement has a metric
// that is NaN, negative, above most (math.Inf(1): no bound) or not among
// declared, or a latency spectrum that is not ascending.
func checkFuzzed(t *testing.T, m Measurement, declared []notebook.Metric, most float64) {
	t.Helper()
	for name, v := range m.Metrics {
		if v != v || v < 0 || v > most {
			t.Fatalf("metric %s = %g", name, v)
		}
		if !slices.ContainsFunc(declared, func(x notebook.Metric) bool { return x.Name == name }) {
			t.Fatalf("metric %q is not declared", name)
		}
	}
	for i := 1; i < len(m.Percentiles); i++ {
		a, b := m.Percentiles[i-1], m.Percentiles[i]
		if !(a.P < b.P && a.LatencyUs <= b.LatencyUs) {
			t.Fatalf("spectrum not ascending at %v, %v", a, b)
		}
	}
}

// mustRun runs the load values against target; the run must succeed.
func mustRun(t *testing.T, target Target, values notebook.Values) Measurement {
	t.Helper()
	m, err := Run(context.Background(), target, values)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkTimeout runs the load values, whose timeout is 1s, against target:
// the tool must be killed at its timeout and say so, stop within the time
// given (no child of it holding its output open), and leave no process
// that left finds.
func checkTimeout(t *testing.T, target Target, values notebook.Values, within time.Duration, left func() []int) {
	t.Helper()
	start := time.Now()
	_, err := Run(context.Background(), target, values)
	if err == nil || !strings.Contains(err.Error(), "killed after its timeout of 1s") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if took := time.Since(start); took > within {
		t.Errorf("took %s to stop, more than %s: did a child outlive the tool, holding its output open?", took, within)
	}
	if pids := left(); len(pids) > 0 {
		t.Errorf("children left: %v", pids)
	}
}

// captured reads a tool's output recorded by testdata/TOOL/capture.sh:
// testdata/TOOL/NAME.out, and NAME.err where the script kept stderr too
// (nil when it did not).
func captured(t testing.TB, tool, name string) (stdout, stderr []byte) {
	t.Helper()
	stdout, err := os.ReadFile(filepath.Join("testdata", tool, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, _ = os.ReadFile(filepath.Join("testdata", tool, name+".err"))
	return stdout, stderr
}

// needTool fails the test when prog, a load tool that Debian packages
// under its own name, is missing: make setup installs every one of them,
// so its absence here is a broken machine, not a reason to skip.
func needTool(t testing.TB, prog string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/" + prog); err != nil {
		t.Fatalf("%s not installed: apt-get install -y %s (make setup)", prog, prog)
	}
}

// checkArgv fails t on err, or when argv joined by spaces is not want.
func checkArgv(t *testing.T, argv []string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("argv\n got %s\nwant %s", got, want)
	}
}

// toolValues is a load table of tool: defaults, then the key/value pairs
// kv on top.
func toolValues(tool string, defaults notebook.Values, kv ...any) notebook.Values {
	v := notebook.Values{"tool": tool}
	maps.Copy(v, defaults)
	for i := 0; i < len(kv); i += 2 {
		v[kv[i].(string)] = kv[i+1]
	}
	return v
}

// recordedOutputs are the outputs recorded under testdata/DIR/*.out, the
// seeds of a tool's fuzz target.
func recordedOutputs(f *testing.F, dir string) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.out"))
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// runFails runs a load that must fail: an error naming every one of want,
// and no figures.
func runFails(t *testing.T, target Target, values notebook.Values, want []string) error {
	t.Helper()
	m, err := Run(context.Background(), target, values)
	if err == nil {
		t.Fatalf("Run succeeded: %v", m.Metrics)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nwant it to contain %q", err, w)
		}
	}
	if len(m.Metrics) != 0 {
		t.Errorf("a failed run has figures: %v", m.Metrics)
	}
	return err
}

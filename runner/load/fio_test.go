package load

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/notebook"
)

// The fio tool against the real fio, on a scratch folder of the test's: a
// 1-2 s job each, psync (the synchronous engine every kernel has), files
// of a few MB.

// fioValues is a load table of the fio tool.
func fioValues(kv ...any) notebook.Values {
	return toolValues(ToolFio, nil, kv...)
}

func TestFioRun(t *testing.T) {
	needTool(t, "fio")
	tests := []struct {
		name   string
		values notebook.Values
		dirs   []string // the directions with figures
	}{
		{"randread", fioValues("rw", "randread", "size", "8M", "runtime", "1s", "time_based", true), []string{"read"}},
		{"randrw two jobs", fioValues("rw", "randrw", "size", "4M", "numjobs", int64(2), "rwmixread", int64(70), "runtime", "1s", "time_based", true), []string{"read", "write"}},
		{"write with fsync, by size", fioValues("rw", "write", "bs", "64k", "size", "8M", "fsync", int64(16)), []string{"write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := mustRun(t, Target{Dir: dir}, tt.values)
			checkFio(t, m, tt.dirs)
			if files, _ := os.ReadDir(dir); len(files) == 0 {
				t.Errorf("no file in the scratch folder %s: fio worked elsewhere", dir)
			}
			if !slices.Contains(m.Command, "--directory="+dir) {
				t.Errorf("command %q: want the scratch folder as --directory", m.Command)
			}
		})
	}
}

// checkFio checks figures every fio run must satisfy.
func checkFio(t *testing.T, m Measurement, dirs []string) {
	t.Helper()
	if m.Tool != ToolFio || m.ToolVersion == "" || len(m.Command) == 0 || m.Command[1] != "--output-format=json+" {
		t.Errorf("tool %q, version %q, command %q", m.Tool, m.ToolVersion, m.Command)
	}
	if m.Duration <= 0 || m.CPU <= 0 {
		t.Errorf("duration %s, cpu %s", m.Duration, m.CPU)
	}
	var sum float64
	for _, d := range fioDirections {
		_, has := m.Metrics[d+"_iops"]
		if has != slices.Contains(dirs, d) {
			t.Errorf("%s figures present: %v, want %v (metrics %v)", d, has, !has, m.Metrics)
			continue
		}
		if !has {
			continue
		}
		sum += m.Metrics[d+"_iops"]
		if m.Metrics[d+"_iops"] <= 0 || m.Metrics[d+"_bw"] <= 0 {
			t.Errorf("%s: iops %g, bw %g", d, m.Metrics[d+"_iops"], m.Metrics[d+"_bw"])
		}
		// Percentiles are fio's bucket values, which can be up to 1/64
		// above the exact max.
		lat := []float64{m.Metrics[d+"_clat_p50"], m.Metrics[d+"_clat_p90"], m.Metrics[d+"_clat_p99"], m.Metrics[d+"_clat_p999"]}
		peak := m.Metrics[d+"_clat_max"]
		if lat[0] <= 0 || !slices.IsSorted(lat) || lat[3] > peak*(1+1.0/64) {
			t.Errorf("%s latencies p50..p99.9, max not ascending: %v, %g", d, lat, peak)
		}
		if mean := m.Metrics[d+"_clat_mean"]; mean <= 0 || mean > peak {
			t.Errorf("%s mean %g, max %g", d, mean, peak)
		}
	}
	if got := m.Metrics["iops"]; got != sum {
		t.Errorf("iops %g, want the sum of the directions, %g", got, sum)
	}
	checkSpectrum(t, m.Percentiles)
	for name := range m.Metrics {
		if !slices.ContainsFunc(fioMetrics, func(x notebook.Metric) bool { return x.Name == name }) {
			t.Errorf("metric %q is not declared", name)
		}
	}
}

func checkSpectrum(t *testing.T, ps []Percentile) {
	t.Helper()
	if len(ps) < 5 || ps[0].P != 0 || ps[len(ps)-1].P != 100 {
		t.Fatalf("spectrum %v: want points from 0 to 100", ps)
	}
	for i := 1; i < len(ps); i++ {
		if !(ps[i-1].P < ps[i].P && ps[i-1].LatencyUs <= ps[i].LatencyUs) {
			t.Errorf("spectrum not ascending at %v, %v", ps[i-1], ps[i])
		}
	}
}

// A job file beside the notebook runs as it is, in the scratch folder; its
// two jobs (no group_reporting) are added up.
func TestFioJobFile(t *testing.T) {
	needTool(t, "fio")
	nbDir, dir := t.TempDir(), t.TempDir()
	job := "[global]\nioengine=psync\nsize=2M\nruntime=1\ntime_based\n[reader]\nrw=randread\nfilename=r.dat\n[writer]\nrw=randwrite\nfilename=w.dat\n"
	if err := os.WriteFile(filepath.Join(nbDir, "two.fio"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mustRun(t, Target{Dir: dir, NotebookDir: nbDir}, fioValues("job_file", "two.fio"))
	checkFio(t, m, []string{"read", "write"})
	for _, f := range []string{"r.dat", "w.dat"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the job file's %s is not in the scratch folder: %v", f, err)
		}
	}
}

// Every way a fio run can go wrong fails the repeat with what fio said.
func TestFioFails(t *testing.T) {
	needTool(t, "fio")
	nbDir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(nbDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("noio.fio", "[nothing]\nfilename=nothing.dat\nsize=1M\nrw=read\ncreate_only=1\n")
	write("stonewall.fio", "[global]\nioengine=psync\nsize=1M\n[first]\nrw=read\n[second]\nstonewall\nrw=write\n")
	tests := []struct {
		name   string
		values notebook.Values
		setup  func(dir string)
		want   []string
	}{
		{
			name: "a file name under a regular file", values: fioValues("size", "1M", "filename", "notadir/file"),
			setup: func(dir string) { os.WriteFile(filepath.Join(dir, "notadir"), nil, 0o644) },
			want:  []string{`job "benchbook" failed with error 20 (not a directory)`, "fio: pid=0, err=20/file:filesetup.c", "error=Not a directory"},
		},
		{
			name: "a read of /dev/null", values: fioValues("rw", "read", "size", "1M", "filename", "/dev/null"),
			want: []string{"failed with error 5 (input/output error)", "err=5/file:backend.c", "error=Input/output error"},
		},
		{name: "no I/O", values: fioValues("job_file", "noio.fio"), want: []string{`job "nothing" did no I/O`}},
		{name: "groups one after another", values: fioValues("job_file", "stonewall.fio"), want: []string{"runs jobs one after another", "give each group a load of its own"}},
		{name: "size below the block size", values: fioValues("bs", "8k", "size", "4k"), want: []string{"exit status 1", "fio: size too small"}},
		{name: "job file and job keys", values: fioValues("job_file", "noio.fio", "rw", "read"), want: []string{"give rw or job_file, not both"}},
		{name: "no such job file", values: fioValues("job_file", "nope.fio"), want: []string{"job_file: no file", "nope.fio"}},
		{name: "a job file out of the notebook's folder", values: fioValues("job_file", "../x.fio"), want: []string{"leaves the notebook's folder"}},
		{name: "a directory out of the scratch folder", values: fioValues("directory", "../elsewhere"), want: []string{`directory "../elsewhere": a relative path is inside the scratch folder`}},
		{name: "time_based without runtime", values: fioValues("time_based", true), want: []string{"time_based needs a runtime"}},
		{name: "a bad block size", values: fioValues("bs", "4x"), want: []string{`bs "4x": want a block size like`}},
		{name: "a misspelt key", values: fioValues("iodepht", int64(4)), want: []string{`unknown key "iodepht" (did you mean "iodepth"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(dir)
			}
			runFails(t, Target{Dir: dir, NotebookDir: nbDir}, tt.values, tt.want)
			if left := childrenNamed(t, "fio"); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

// A fio that runs past its timeout is killed with its jobs (fio forks one
// process per job), and says so.
func TestFioTimeout(t *testing.T) {
	needTool(t, "fio")
	dir := t.TempDir()
	checkTimeout(t, Target{Dir: dir}, fioValues("size", "1M", "numjobs", int64(2), "runtime", "60s", "time_based", true, "timeout", "1s"),
		2500*time.Millisecond, func() []int { return childrenNamed(t, "fio") })
	if left := processesIn(t, dir); len(left) > 0 {
		t.Errorf("processes still working in the scratch folder: %v", left)
	}
}

// processesIn lists the processes whose working directory is dir: a tool's
// children that left its process group (fio's job processes call setsid)
// and so are nobody's children once it is killed.
func processesIn(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == dir {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			out = append(out, e.Name()+" "+strings.TrimSpace(string(comm)))
		}
	}
	return out
}

// TestFioParseCaptured: the recorded outputs give figures or the error
// fio reported, and percentiles computed from the json+ bins are the ones
// fio printed for the same I/Os.
func TestFioParseCaptured(t *testing.T) {
	tests := []struct {
		name string
		dirs []string
		want string // error
	}{
		{name: "randread", dirs: []string{"read"}},
		{name: "randrw-2jobs", dirs: []string{"read", "write"}},
		{name: "seqwrite-fsync", dirs: []string{"write"}},
		{name: "jobfile-2jobs", dirs: []string{"read", "write"}},
		{name: "jobfile-stonewall", want: "one after another"},
		{name: "noio", want: "did no I/O"},
		{name: "badname", want: "error 20 (not a directory); stderr: file:filesetup.c:455, func=fstat, error=Not a directory | fio: pid=0, err=20"},
		{name: "eacces", want: `job "benchbook" failed with error 13 (permission denied); stderr: fio: pid=0, err=13/file:filesetup.c:150, func=unlink, error=Permission denied`},
		{name: "devnull", want: "error 5 (input/output error): fio: pid="},
		{name: "badopt", want: "no JSON in its output"},
		{name: "toosmall", want: "no JSON in its output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr := captured(t, "fio", tt.name)
			out, err := parseFioJSON(stdout)
			if err == nil {
				err = out.judge(stderr)
			}
			if testutil.ExpectErr(t, err, tt.want) {
				return
			}
			var m Measurement
			out.fill(&m)
			m.Tool, m.Command, m.CPU = ToolFio, []string{"fio", "--output-format=json+"}, 1
			checkFio(t, m, tt.dirs)
			if m.ToolVersion != "3.33" {
				t.Errorf("version %q", m.ToolVersion)
			}
			if len(out.Jobs) != 1 {
				return
			}
			for _, d := range tt.dirs {
				dir := map[string]fioDir{"read": out.Jobs[0].Read, "write": out.Jobs[0].Write}[d]
				if m.Metrics[d+"_iops"] != dir.IOPS {
					t.Errorf("%s iops %g, fio says %g", d, m.Metrics[d+"_iops"], dir.IOPS)
				}
				for _, p := range []float64{50, 90, 99, 99.9} {
					key := strconv.FormatFloat(p, 'f', 6, 64)
					var s fioLatSum
					s.addDir(dir.Clat)
					got, _ := s.percentile(p)
					if want := dir.Clat.Percentile[key]; got != want {
						t.Errorf("%s p%s from the bins %g, fio printed %g", d, key, got, want)
					}
				}
			}
		})
	}
}

// FuzzFioJSON covers fio's json+ output and the judgement of a run: seeded
// with every recorded output, good and failed. Whatever the bytes, a run
// gives declared, finite figures and an ascending spectrum, or an error.
func FuzzFioJSON(f *testing.F) {
	for _, b := range recordedOutputs(f, "fio") {
		f.Add(b)
	}
	f.Add([]byte(`{"jobs":[{"jobname":"x","read":{"total_ios":1,"iops":1,"clat_ns":{"N":1,"min":1,"max":2,"mean":1.5,"bins":{"1":1}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := parseFioJSON(data)
		if err == nil {
			err = out.judge(nil)
		}
		if err != nil {
			return
		}
		var m Measurement
		out.fill(&m)
		if len(m.Metrics) == 0 {
			t.Fatal("a judged run with no figures")
		}
		checkFuzzed(t, m, fioMetrics, math.Inf(1))
	})
}

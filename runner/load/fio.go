package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// ToolFio is fio, the flexible I/O tester (Debian fio).
const ToolFio = "fio"

const fioProg = "fio"

// FioSpec declares the keys of a fio load: one job described by keys, run
// as `fio --output-format=json+ --name=benchbook --rw=... --group_reporting`,
// or a job file beside the notebook, run as it is (in the scratch folder,
// so that its relative file names land there).
type FioSpec struct {
	Tool    string `key:"tool" required:"" doc:"the load generator"`
	JobFile string `key:"job_file" doc:"a fio job file, relative to the notebook's folder, run as it is in the scratch folder; the job keys (rw to rwmixread) are then not allowed"`

	RW        string        `key:"rw" default:"randread" oneof:"read|write|randread|randwrite|rw|readwrite|randrw" excludes:"job_file" doc:"the I/O pattern, as fio's rw"`
	BS        string        `key:"bs" default:"4k" pattern:"^[1-9][0-9]*([kKmMgG]([iI]?[bB])?)?$" help:"want a block size like \"4k\", \"64k\" or \"1M\" (fio's units: k = 1024)" excludes:"job_file" doc:"block size of each I/O"`
	Size      string        `key:"size" default:"64M" pattern:"^[1-9][0-9]*([kKmMgGtT]([iI]?[bB])?)?$" help:"want a size like \"64M\" or \"1G\" (fio's units: M = 1024 k)" excludes:"job_file" doc:"bytes of I/O of each job, and the size of its file"`
	IODepth   int           `key:"iodepth" default:"1" min:"1" max:"65536" excludes:"job_file" doc:"I/Os kept in flight (the synchronous engines, psync included, cap it at 1)"`
	NumJobs   int           `key:"numjobs" default:"1" min:"1" max:"1024" excludes:"job_file" doc:"jobs running the same I/O at once, each on its own file; figures are of all of them"`
	IOEngine  string        `key:"ioengine" default:"psync" oneof:"psync|sync|pvsync|pvsync2|libaio|io_uring|posixaio|mmap|null" excludes:"job_file" doc:"how fio issues I/O"`
	Direct    bool          `key:"direct" default:"false" excludes:"job_file" doc:"O_DIRECT: bypass the page cache (tmpfs refuses it)"`
	Fsync     int           `key:"fsync" default:"0" min:"0" excludes:"job_file" doc:"fsync the file after this many writes; 0: never"`
	Runtime   time.Duration `key:"runtime" min:"1ms" excludes:"job_file" doc:"stop after this long; without it a job ends when it has done size bytes"`
	TimeBased bool          `key:"time_based" default:"false" excludes:"job_file" doc:"run for the whole runtime, going over the file again as often as it takes"`
	RampTime  time.Duration `key:"ramp_time" min:"0s" excludes:"job_file" doc:"run this long before measuring; its I/O is not counted"`
	Directory string        `key:"directory" default:"{dir}" excludes:"job_file" doc:"where the job's files are: {dir} is the repeat's scratch folder, a relative path is inside it"`
	Filename  string        `key:"filename" excludes:"job_file" doc:"one file (or device) for every job instead of a file per job, in directory when relative"`
	RWMixRead int           `key:"rwmixread" default:"50" min:"0" max:"100" excludes:"job_file" doc:"percentage of reads in a mixed pattern (rw, randrw)"`

	At          string        `key:"at" oneof:"host|guest" doc:"where its programs run: guest (inside a builtin:linux VM guest, over its exec port: the default on one) or host (this machine: the default for every other guest)"`
	Timeout     time.Duration `key:"timeout" min:"1s" doc:"kill fio after this long (default: ramp_time + runtime + 1m, or 10m without a runtime)"`
	Description string        `key:"description" noparam:"" doc:"shown in the report"`
}

// fioDirections are the directions fio reports that benchbook gives figures
// for; trims count in iops but have no figures of their own.
var fioDirections = []string{"read", "write"}

// fioMetrics: rates per direction and the completion latency (fio's clat,
// the time from submission to completion), converted from fio's
// nanoseconds to microseconds like every latency benchbook stores.
var fioMetrics = func() []notebook.Metric {
	out := []notebook.Metric{{Name: "iops", Unit: "IO/s", Better: notebook.BetterHigher, Doc: "I/Os per second, all directions", Timeline: true}}
	for _, d := range fioDirections {
		of := " of " + d + "s"
		out = append(out,
			notebook.Metric{Name: d + "_iops", Unit: "IO/s", Better: notebook.BetterHigher, Doc: d + "s per second", Timeline: true},
			notebook.Metric{Name: d + "_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "bytes " + map[string]string{"read": "read", "write": "written"}[d] + " per second", Timeline: true},
			notebook.Metric{Name: d + "_clat_mean", Unit: "µs", Better: notebook.BetterLower, Doc: "mean completion latency" + of},
			notebook.Metric{Name: d + "_clat_p50", Unit: "µs", Better: notebook.BetterLower, Doc: "median completion latency" + of, Timeline: true},
			notebook.Metric{Name: d + "_clat_p90", Unit: "µs", Better: notebook.BetterLower, Doc: "90th percentile of completion latency" + of},
			notebook.Metric{Name: d + "_clat_p99", Unit: "µs", Better: notebook.BetterLower, Doc: "99th percentile of completion latency" + of, Timeline: true},
			notebook.Metric{Name: d + "_clat_p999", Unit: "µs", Better: notebook.BetterLower, Doc: "99.9th percentile of completion latency" + of},
			notebook.Metric{Name: d + "_clat_max", Unit: "µs", Better: notebook.BetterLower, Doc: "highest completion latency" + of},
		)
	}
	return out
}()

// check refuses what the key declarations cannot say: a time-based job
// with no time.
func (s FioSpec) check() error {
	if s.TimeBased && s.Runtime == 0 {
		return errors.New("time_based needs a runtime: give runtime = \"30s\", or leave time_based out to run until size is done")
	}
	return nil
}

func fioVersion(ctx context.Context) (string, error) {
	return toolVersion(ctx, fioProg, trimPrefix("fio-")) // "fio-3.33"
}

// fioRun runs one fio job (or job file) and judges it: a job fio reports an
// error for, a non-zero exit, or a job that did no I/O fails the repeat.
func fioRun(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	m := Measurement{Tool: ToolFio}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("fio: %w", err) }
	s, path, dir, done, err := decodeInScratch[FioSpec](t, v, ToolFio, fioProg)
	if err != nil {
		return fail(err)
	}
	defer done()
	argv, mkdir, err := fioArgv(path, s, dir, t.NotebookDir)
	if err != nil {
		return fail(err)
	}
	tf := toolFiles{mkdir: mkdir}
	if s.JobFile == "" {
		// The job file runs as it is; the job of keys records a timeline.
		argv = slices.Insert(argv, len(argv)-1, fioHistArgs(dir)...)
		tf.collect = []string{fioHistGlob(dir)}
	}
	if t.Guest != nil && s.JobFile != "" {
		// The guest cannot see the notebook's folder: the job file goes
		// into the guest's scratch folder, where it runs.
		job := argv[len(argv)-1]
		b, err := os.ReadFile(job)
		if err != nil {
			return fail(fmt.Errorf("job_file: %w", err))
		}
		argv[len(argv)-1] = dir + "/" + filepath.Base(job)
		tf.write = map[string][]byte{argv[len(argv)-1]: b}
	}
	m.Command = argv
	timeout := s.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	res, err := runTool(ctx, t, argv, dir, tf)
	m.CPU = res.cpu()
	if ctx.Err() != nil {
		return fail(describeProcErr(ctx, err, timeout, res.stderr))
	}
	out, perr := parseFioJSON(res.stdout)
	if perr == nil {
		perr = out.judge(res.stderr)
	}
	switch {
	case perr != nil && out.jobError():
		return fail(perr) // fio's own words are the most precise
	case err != nil:
		return fail(fmt.Errorf("%w%s%s", err, fioNotes(out.preamble), stderrHint(res.stderr)))
	case perr != nil:
		return fail(fmt.Errorf("%w%s", perr, stderrHint(res.stderr)))
	}
	out.fill(&m)
	if m.Timeline, err = fioTimelineOf(res, m.Duration); err != nil {
		return fail(err)
	}
	if m.ToolVersion == "" {
		m.ToolVersion, _ = fioVersion(ctx)
	}
	return m, nil
}

func (s FioSpec) timeout() time.Duration {
	switch {
	case s.Timeout > 0:
		return s.Timeout
	case s.Runtime > 0:
		return s.RampTime + s.Runtime + slack
	}
	return defaultHostTimeout
}

// fioArgv is the command line of s, its files in dir, and the folders
// under dir it needs made first.
func fioArgv(path string, s FioSpec, dir, notebookDir string) (argv, mkdir []string, err error) {
	// --thread: fio's job processes leave its process group (they call
	// setsid), so killing a fio that overran its timeout would leave them
	// running for their whole runtime; as threads of one process they end
	// with it, and its CPU time is theirs.
	argv = []string{path, "--output-format=json+", "--thread"}
	if s.JobFile != "" {
		job, err := besideNotebook("job_file", s.JobFile, notebookDir)
		if err != nil {
			return nil, nil, err
		}
		return append(argv, job), nil, nil
	}
	argv = append(argv,
		"--name=benchbook",
		"--rw="+s.RW,
		"--bs="+s.BS,
		"--size="+s.Size,
		"--iodepth="+strconv.Itoa(s.IODepth),
		"--numjobs="+strconv.Itoa(s.NumJobs),
		"--ioengine="+s.IOEngine,
		"--direct="+fioBool(s.Direct),
	)
	if s.Fsync > 0 {
		argv = append(argv, "--fsync="+strconv.Itoa(s.Fsync))
	}
	if s.Runtime > 0 {
		argv = append(argv, "--runtime="+fioTime(s.Runtime))
	}
	if s.TimeBased {
		argv = append(argv, "--time_based")
	}
	if s.RampTime > 0 {
		argv = append(argv, "--ramp_time="+fioTime(s.RampTime))
	}
	if s.RW == "rw" || s.RW == "readwrite" || s.RW == "randrw" {
		argv = append(argv, "--rwmixread="+strconv.Itoa(s.RWMixRead))
	}
	argv = append(argv, "--group_reporting")
	where, err := inScratch("directory", s.Directory, dir)
	if err != nil {
		return nil, nil, err
	}
	if s.Filename == "" {
		// Relative directories are benchbook's to make; absolute ones are
		// the notebook's (a mounted scratch disk) and must exist.
		if where != dir && strings.HasPrefix(where, dir+string(os.PathSeparator)) {
			mkdir = append(mkdir, where)
		}
		return append(argv, "--directory="+fioEscape(where)), mkdir, nil
	}
	file, err := inScratch("filename", s.Filename, where)
	if err != nil {
		return nil, nil, err
	}
	return append(argv, "--filename="+fioEscape(file)), nil, nil
}

func fioBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// fioTime writes d in fio's time syntax, to the millisecond.
func fioTime(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}

// fioEscape escapes the colons fio would read as separating file names.
func fioEscape(p string) string { return strings.ReplaceAll(p, ":", `\:`) }

// fioOutput is what benchbook reads of fio's json+ output.
type fioOutput struct {
	Version string   `json:"fio version"`
	Jobs    []fioJob `json:"jobs"`
	// preamble is what fio printed before its JSON: notes ("note: both
	// iodepth >= 1 and synchronous I/O engine are selected") and, for some
	// errors, its "fio: pid=..." line.
	preamble []string
}

type fioJob struct {
	Name       string `json:"jobname"`
	GroupID    int    `json:"groupid"`
	Error      int    `json:"error"`
	JobRuntime int64  `json:"job_runtime"` // ms
	Read       fioDir `json:"read"`
	Write      fioDir `json:"write"`
	Trim       fioDir `json:"trim"`
}

// fioDir is one direction of one job (or group).
type fioDir struct {
	IOBytes  int64   `json:"io_bytes"`
	BWBytes  float64 `json:"bw_bytes"`
	IOPS     float64 `json:"iops"`
	Runtime  int64   `json:"runtime"` // ms
	TotalIOs int64   `json:"total_ios"`
	Clat     fioLat  `json:"clat_ns"`
}

// fioLat is a latency distribution in nanoseconds. Bins (json+ only) are
// fio's histogram: bucket value -> count.
type fioLat struct {
	Min        float64            `json:"min"`
	Max        float64            `json:"max"`
	Mean       float64            `json:"mean"`
	N          int64              `json:"N"`
	Percentile map[string]float64 `json:"percentile"`
	Bins       map[string]int64   `json:"bins"`
}

// parseFioJSON reads fio's --output-format=json+ output: the JSON document
// after whatever lines fio printed first.
func parseFioJSON(stdout []byte) (fioOutput, error) {
	var out fioOutput
	start := -1
	for rest := stdout; len(rest) > 0; {
		line, next, _ := bytes.Cut(rest, []byte("\n"))
		if l := bytes.TrimSpace(line); len(l) > 0 && l[0] == '{' {
			start = len(stdout) - len(rest)
			break
		} else if len(l) > 0 {
			out.preamble = append(out.preamble, string(l))
		}
		rest = next
	}
	if start < 0 {
		return out, errors.New("no JSON in its output")
	}
	dec := json.NewDecoder(bytes.NewReader(stdout[start:]))
	if err := dec.Decode(&out); err != nil {
		return out, fmt.Errorf("reading its JSON output: %w", err)
	}
	if len(out.Jobs) == 0 {
		return out, errors.New("its output names no job")
	}
	return out, out.sane()
}

// sane refuses figures no fio can have printed, so that what is stored is
// either a measurement or an error.
func (o fioOutput) sane() error {
	for _, j := range o.Jobs {
		for _, d := range []fioDir{j.Read, j.Write, j.Trim} {
			for name, x := range map[string]float64{"iops": d.IOPS, "bw_bytes": d.BWBytes, "clat min": d.Clat.Min, "clat max": d.Clat.Max, "clat mean": d.Clat.Mean} {
				if x < 0 {
					return fmt.Errorf("job %q: negative %s %g", j.Name, name, x)
				}
			}
			if d.IOBytes < 0 || d.TotalIOs < 0 || d.Runtime < 0 || d.Clat.N < 0 {
				return fmt.Errorf("job %q: negative counts", j.Name)
			}
			if d.Clat.Min > d.Clat.Max {
				return fmt.Errorf("job %q: clat min %g above max %g", j.Name, d.Clat.Min, d.Clat.Max)
			}
			for k, n := range d.Clat.Bins {
				v, err := strconv.ParseFloat(k, 64)
				if err != nil || v < 0 || math.IsInf(v, 0) || n < 0 {
					return fmt.Errorf("job %q: latency bin %q = %d", j.Name, k, n)
				}
			}
		}
	}
	return nil
}

func (o fioOutput) jobError() bool {
	return slices.ContainsFunc(o.Jobs, func(j fioJob) bool { return j.Error != 0 })
}

// judge fails a run fio reported an error for, a run of jobs that ran one
// after another (their rates cannot be added), and a run that did no I/O.
func (o fioOutput) judge(stderr []byte) error {
	for _, j := range o.Jobs {
		if j.Error != 0 {
			return fmt.Errorf("job %q failed with error %d (%s)%s%s", j.Name, j.Error, syscall.Errno(j.Error), fioNotes(o.preamble), stderrHint(stderr))
		}
	}
	for _, j := range o.Jobs[1:] {
		if j.GroupID != o.Jobs[0].GroupID {
			return fmt.Errorf("the job file runs jobs one after another (groups %d and %d: stonewall or new_group); benchbook adds the rates of jobs that run together, so give each group a load of its own", o.Jobs[0].GroupID, j.GroupID)
		}
	}
	var ios int64
	for _, j := range o.Jobs {
		ios += j.Read.TotalIOs + j.Write.TotalIOs + j.Trim.TotalIOs
	}
	if ios == 0 {
		return fmt.Errorf("job %q did no I/O (create_only? a rate or thinktime that allowed none within runtime?); figures of nothing would be zeros, not a measurement", o.Jobs[0].Name)
	}
	return nil
}

// fioNotes quotes the "fio: ..." lines fio printed before its JSON.
func fioNotes(preamble []string) string {
	var notes []string
	for _, l := range preamble {
		if strings.HasPrefix(l, "fio: ") {
			notes = append(notes, l)
		}
	}
	if len(notes) == 0 {
		return ""
	}
	return ": " + strings.Join(notes, " | ")
}

// fill puts the figures of a judged run into m.
func (o fioOutput) fill(m *Measurement) {
	if v := strings.TrimPrefix(o.Version, "fio-"); v != "" {
		m.ToolVersion = v
	}
	m.Metrics = map[string]float64{}
	var all fioLatSum
	var iops float64
	for _, d := range fioDirections {
		agg := o.direction(d)
		if agg.ios == 0 {
			continue // a direction with no I/O has no figures, not zeros
		}
		iops += agg.iops
		m.Metrics[d+"_iops"] = agg.iops
		m.Metrics[d+"_bw"] = agg.bw
		m.Metrics[d+"_clat_mean"] = agg.lat.mean() / 1000
		m.Metrics[d+"_clat_max"] = agg.lat.max / 1000
		for name, p := range map[string]float64{"p50": 50, "p90": 90, "p99": 99, "p999": 99.9} {
			if v, ok := agg.lat.percentile(p); ok {
				m.Metrics[d+"_clat_"+name] = v / 1000
			}
		}
		all.add(agg.lat)
	}
	trim := o.direction("trim")
	m.Metrics["iops"] = iops + trim.iops
	m.Percentiles = all.spectrum()
	for _, j := range o.Jobs {
		rt := j.JobRuntime
		for _, d := range []fioDir{j.Read, j.Write, j.Trim} {
			rt = max(rt, d.Runtime)
		}
		m.Duration = max(m.Duration, time.Duration(rt)*time.Millisecond)
	}
}

// fioAgg is one direction over every job.
type fioAgg struct {
	ios      int64
	iops, bw float64
	lat      fioLatSum
}

// direction adds up one direction of the jobs. One job (or group, with
// group_reporting) is taken as fio says it; for several, rates are their
// I/O over the longest runtime, as fio's group_reporting computes them.
func (o fioOutput) direction(name string) fioAgg {
	var a fioAgg
	var bytes, runtime int64
	for _, j := range o.Jobs {
		d := map[string]fioDir{"read": j.Read, "write": j.Write, "trim": j.Trim}[name]
		a.ios += d.TotalIOs
		bytes += d.IOBytes
		runtime = max(runtime, d.Runtime)
		a.lat.addDir(d.Clat)
		if len(o.Jobs) == 1 {
			a.iops, a.bw = d.IOPS, d.BWBytes
		}
	}
	if len(o.Jobs) > 1 && runtime > 0 {
		a.iops = float64(a.ios) * 1000 / float64(runtime)
		a.bw = float64(bytes) * 1000 / float64(runtime)
	}
	return a
}

// fioLatSum merges latency distributions: their json+ bins add up exactly,
// so percentiles of several jobs or directions are as fio would compute
// them over all their I/Os.
type fioLatSum struct {
	n        int64
	sum      float64 // of mean*N
	min, max float64
	bins     map[float64]int64
	// single is the one distribution merged, whose own percentiles stand
	// when it has no bins (fio's plain json output).
	single *fioLat
	count  int
}

func (s *fioLatSum) addDir(l fioLat) {
	if l.N == 0 {
		return
	}
	one := fioLatSum{n: l.N, sum: l.Mean * float64(l.N), min: l.Min, max: l.Max, single: &l, count: 1}
	for k, c := range l.Bins {
		v, err := strconv.ParseFloat(k, 64)
		if err != nil {
			continue // refused by sane
		}
		if one.bins == nil {
			one.bins = map[float64]int64{}
		}
		one.bins[v] += c
	}
	s.add(one)
}

func (s *fioLatSum) add(o fioLatSum) {
	if o.n == 0 {
		return
	}
	if s.n == 0 || o.min < s.min {
		s.min = o.min
	}
	s.max = max(s.max, o.max)
	s.n += o.n
	s.sum += o.sum
	s.count += o.count
	s.single = o.single
	for v, c := range o.bins {
		if s.bins == nil {
			s.bins = map[float64]int64{}
		}
		s.bins[v] += c
	}
}

func (s fioLatSum) mean() float64 {
	if s.n == 0 {
		return 0
	}
	return s.sum / float64(s.n)
}

// percentile is the p-th percentile in nanoseconds, computed from the bins
// as fio computes its own: the value of the first bucket at which the
// running count reaches p % of all. Like fio's, it is a bucket's value,
// within 1/64 of the latencies in the bucket: a high percentile can be a
// little above the exact max.
func (s fioLatSum) percentile(p float64) (float64, bool) {
	if len(s.bins) == 0 {
		if s.count == 1 && s.single != nil {
			v, ok := s.single.Percentile[strconv.FormatFloat(p, 'f', 6, 64)]
			return v, ok
		}
		return 0, false
	}
	values := sortedKeys(s.bins)
	var total int64
	for _, v := range values {
		total += s.bins[v]
	}
	if total == 0 {
		return 0, false
	}
	threshold := p / 100 * float64(total)
	var cum int64
	for _, v := range values {
		cum += s.bins[v]
		if float64(cum) >= threshold {
			return v, true
		}
	}
	return s.max, true
}

// fioSpectrum are the points of a fio latency spectrum: fio's own
// percentile list, from the min to the max.
var fioSpectrum = []float64{1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

// spectrum is the latency spectrum in microseconds, for percentile plots:
// from the exact min to the exact max, each point at least the one before.
func (s fioLatSum) spectrum() []Percentile {
	if s.n == 0 {
		return nil
	}
	out := []Percentile{{P: 0, LatencyUs: s.min / 1000}}
	for _, p := range fioSpectrum {
		v, ok := s.percentile(p)
		if !ok {
			continue
		}
		v = min(max(v/1000, out[len(out)-1].LatencyUs), s.max/1000)
		out = append(out, Percentile{P: p, LatencyUs: v})
	}
	return append(out, Percentile{P: 100, LatencyUs: max(s.max/1000, out[len(out)-1].LatencyUs)})
}

func sortedKeys(m map[float64]int64) []float64 {
	keys := make([]float64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// ToolSysbench is sysbench (Debian sysbench): its cpu, memory and fileio
// tests.
const ToolSysbench = "sysbench"

const sysbenchProg = "sysbench"

// SysbenchSpec declares the keys of a sysbench load. The options of one
// test (cpu_, memory_, file_) are refused with another: a typo would
// otherwise measure sysbench's defaults.
type SysbenchSpec struct {
	Tool    string        `key:"tool" required:"" doc:"the load generator"`
	Test    string        `key:"test" default:"cpu" oneof:"cpu|memory|fileio" doc:"the sysbench test: cpu (primes), memory (block copies) or fileio (file I/O in the scratch folder)"`
	Threads int           `key:"threads" default:"1" min:"1" max:"1024" doc:"threads running events at once"`
	Time    time.Duration `key:"time" default:"10s" min:"1s" step:"1s" doc:"how long the test runs, in whole seconds"`
	Events  int           `key:"events" default:"0" min:"0" doc:"stop after this many events; 0: only time stops the test"`

	CPUMaxPrime int `key:"cpu_max_prime" when:"test=cpu" default:"10000" min:"3" max:"1000000000" doc:"cpu: each event finds the primes up to this number"`

	MemoryBlockSize  string `key:"memory_block_size" when:"test=memory" default:"1K" pattern:"^[1-9][0-9]*[KMGTkmgt]?$" help:"want a size like \"1K\", \"128M\" or \"1G\"" doc:"memory: bytes each event writes or reads"`
	MemoryTotalSize  string `key:"memory_total_size" when:"test=memory" default:"100G" pattern:"^[1-9][0-9]*[KMGTkmgt]?$" help:"want a size like \"1K\", \"128M\" or \"1G\"" doc:"memory: stop once this much is transferred"`
	MemoryOper       string `key:"memory_oper" when:"test=memory" default:"write" oneof:"read|write|none" doc:"memory: the operation of each event"`
	MemoryAccessMode string `key:"memory_access_mode" when:"test=memory" default:"seq" oneof:"seq|rnd" doc:"memory: sequential or random access"`

	FileTotalSize  string `key:"file_total_size" when:"test=fileio" default:"128M" pattern:"^[1-9][0-9]*[KMGTkmgt]?$" help:"want a size like \"1K\", \"128M\" or \"1G\"" doc:"fileio: the size of all files, laid out in the scratch folder before the test"`
	FileNum        int    `key:"file_num" when:"test=fileio" default:"128" min:"1" max:"100000" doc:"fileio: how many files"`
	FileTestMode   string `key:"file_test_mode" when:"test=fileio" default:"rndrw" oneof:"seqwr|seqrewr|seqrd|rndrd|rndwr|rndrw" doc:"fileio: the I/O pattern"`
	FileBlockSize  int    `key:"file_block_size" when:"test=fileio" default:"16384" min:"1" max:"1073741824" doc:"fileio: bytes of each I/O"`
	FileExtraFlags string `key:"file_extra_flags" when:"test=fileio" oneof:"sync|dsync|direct" doc:"fileio: flags the files are opened with"`
	FileFsyncFreq  int    `key:"file_fsync_freq" when:"test=fileio" default:"100" min:"0" doc:"fileio: fsync after this many requests; 0: never"`

	At          string        `key:"at" oneof:"host|guest" doc:"where its programs run: guest (inside a builtin:linux VM guest, over its exec port: the default on one) or host (this machine: the default for every other guest)"`
	Timeout     time.Duration `key:"timeout" min:"1s" doc:"kill the test after this long (default: time + 1m; laying out and removing fileio's files have 10m each)"`
	Description string        `key:"description" noparam:"" doc:"shown in the report"`
}

// sysbenchMetrics: sysbench prints latencies in milliseconds; benchbook
// stores them in microseconds, like every latency.
var sysbenchMetrics = []notebook.Metric{
	{Name: "events_per_sec", Unit: "events/s", Better: notebook.BetterHigher, Doc: "events per second, as sysbench prints them (cpu, memory); fileio prints none: events over total time"},
	{Name: "latency_min", Unit: "µs", Better: notebook.BetterLower, Doc: "shortest event"},
	{Name: "latency_avg", Unit: "µs", Better: notebook.BetterLower, Doc: "mean event latency (sysbench's sum of latencies over its events)"},
	{Name: "latency_p95", Unit: "µs", Better: notebook.BetterLower, Doc: "95th percentile of event latency, from sysbench's histogram"},
	{Name: "latency_max", Unit: "µs", Better: notebook.BetterLower, Doc: "longest event"},
	{Name: "memory_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "memory: bytes transferred per second"},
	{Name: "reads_per_sec", Unit: "ops/s", Better: notebook.BetterHigher, Doc: "fileio: reads per second"},
	{Name: "writes_per_sec", Unit: "ops/s", Better: notebook.BetterHigher, Doc: "fileio: writes per second"},
	{Name: "fsyncs_per_sec", Unit: "ops/s", Better: notebook.BetterHigher, Doc: "fileio: fsyncs per second"},
	{Name: "read_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "fileio: bytes read per second"},
	{Name: "write_bw", Unit: "bytes/s", Better: notebook.BetterHigher, Doc: "fileio: bytes written per second"},
}

func sysbenchVersion(ctx context.Context) (string, error) {
	return toolVersion(ctx, sysbenchProg, trimPrefix("sysbench ")) // "sysbench 1.0.20"
}

// sysbenchRun runs one sysbench test; fileio lays out its files in the
// scratch folder first and removes them after, outside the measurement.
func sysbenchRun(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	m := Measurement{Tool: ToolSysbench}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("sysbench: %w", err) }
	s, path, dir, done, err := decodeInScratch[SysbenchSpec](t, v, ToolSysbench, sysbenchProg)
	if err != nil {
		return fail(err)
	}
	defer done()
	run := s.argv(path, "run")
	m.Command = run
	if s.Test != "fileio" {
		return sysbenchMeasure(ctx, t, dir, s, m)
	}
	prepare, cleanup := s.argv(path, "prepare"), s.argv(path, "cleanup")
	m.Commands = [][]string{prepare, run, cleanup}
	if err := sysbenchStep(ctx, t, dir, prepare); err != nil {
		return fail(fmt.Errorf("laying out the files (prepare): %w", err))
	}
	m, err = sysbenchMeasure(ctx, t, dir, s, m)
	// The files go on every path: the next repeat lays out its own.
	if cerr := sysbenchStep(context.WithoutCancel(ctx), t, dir, cleanup); cerr != nil && err == nil {
		return fail(fmt.Errorf("removing the files (cleanup): %w", cerr))
	}
	return m, err
}

// sysbenchMeasure runs the measured step, m.Command, and reads its report.
func sysbenchMeasure(ctx context.Context, t Target, dir string, s SysbenchSpec, m Measurement) (Measurement, error) {
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("sysbench: %w", err) }
	timeout := s.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	res, err := runTool(ctx, t, m.Command, dir, toolFiles{})
	m.CPU = res.cpu()
	if ctx.Err() != nil {
		return fail(describeProcErr(ctx, err, timeout, res.stderr))
	}
	out, perr := parseSysbench(res.stdout)
	switch {
	case err != nil:
		return fail(fmt.Errorf("%w%s%s", err, sysbenchFatal(res.stdout), stderrHint(res.stderr)))
	case perr != nil:
		return fail(fmt.Errorf("%w%s", perr, stderrHint(res.stderr)))
	}
	out.fill(&m)
	if m.ToolVersion == "" {
		m.ToolVersion, _ = sysbenchVersion(ctx)
	}
	return m, nil
}

func (s SysbenchSpec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return s.Time + slack
}

// argv is the command line of one step (prepare, run, cleanup) of s.
func (s SysbenchSpec) argv(path, step string) []string {
	argv := []string{path, s.Test}
	opt := func(name, value string) { argv = append(argv, "--"+name+"="+value) }
	if step == "run" {
		opt("threads", strconv.Itoa(s.Threads))
		opt("time", strconv.FormatInt(int64(s.Time/time.Second), 10))
		opt("events", strconv.Itoa(s.Events))
		opt("percentile", "95")
		opt("histogram", "on")
	}
	switch s.Test {
	case "cpu":
		opt("cpu-max-prime", strconv.Itoa(s.CPUMaxPrime))
	case "memory":
		opt("memory-block-size", s.MemoryBlockSize)
		opt("memory-total-size", s.MemoryTotalSize)
		opt("memory-oper", s.MemoryOper)
		opt("memory-access-mode", s.MemoryAccessMode)
	case "fileio":
		opt("file-total-size", s.FileTotalSize)
		opt("file-num", strconv.Itoa(s.FileNum))
		if s.FileExtraFlags != "" {
			opt("file-extra-flags", s.FileExtraFlags)
		}
		if step == "run" {
			opt("file-test-mode", s.FileTestMode)
			opt("file-block-size", strconv.Itoa(s.FileBlockSize))
			opt("file-fsync-freq", strconv.Itoa(s.FileFsyncFreq))
		}
	}
	return append(argv, step)
}

// sysbenchStep runs fileio's prepare or cleanup.
func sysbenchStep(ctx context.Context, t Target, dir string, argv []string) error {
	timeout := defaultHostTimeout
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	res, err := runTool(ctx, t, argv, dir, toolFiles{})
	if err == nil {
		if fatal := sysbenchFatal(res.stdout); fatal != "" {
			err = errors.New("it failed")
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return describeProcErr(ctx, err, timeout, res.stderr)
		}
		return fmt.Errorf("%w%s%s", err, sysbenchFatal(res.stdout), stderrHint(res.stderr))
	}
	return nil
}

// sysbenchFatal quotes the FATAL lines sysbench printed (on its standard
// output), with the WARNING lines that follow them ("Did you forget to run
// the prepare step?").
func sysbenchFatal(stdout []byte) string {
	var lines []string
	for _, l := range strings.Split(string(stdout), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "FATAL:") || len(lines) > 0 && strings.HasPrefix(l, "WARNING:") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return ": " + strings.Join(lines, " | ")
}

// sysbenchOutput is what benchbook reads of sysbench's report. Latencies
// are in milliseconds, as sysbench prints them.
type sysbenchOutput struct {
	version   string
	events    int64
	totalTime float64 // seconds
	rate      float64 // events (cpu) or operations (memory) per second, as printed; 0 when not
	latency   map[string]float64
	histogram []sysbenchBucket
	memoryMiB float64 // memory: MiB/sec
	fileio    map[string]float64
}

type sysbenchBucket struct {
	ms    float64
	count int64
}

// sysbenchLatencyKeys are the lines of its "Latency (ms):" section.
var sysbenchLatencyKeys = []string{"min", "avg", "max", "95th percentile", "sum"}

// parseSysbench reads the report of `sysbench TEST ... run`: a text meant
// for people, read line by line; a FATAL line or a report without its
// general statistics is an error.
func parseSysbench(stdout []byte) (sysbenchOutput, error) {
	out := sysbenchOutput{latency: map[string]float64{}, fileio: map[string]float64{}}
	if fatal := sysbenchFatal(stdout); fatal != "" {
		return out, errors.New("it failed" + fatal)
	}
	section := ""
	var errs []error
	num := func(what, s string) float64 {
		f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "s"), 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			errs = append(errs, fmt.Errorf("%s: not a number: %q", what, s))
			return 0
		}
		return f
	}
	for i, raw := range strings.Split(string(stdout), "\n") {
		line := strings.TrimSpace(raw)
		if i == 0 && strings.HasPrefix(line, "sysbench ") {
			out.version, _, _ = strings.Cut(strings.TrimPrefix(line, "sysbench "), " ")
			continue
		}
		if b, ok := parseSysbenchBucket(line); ok {
			out.histogram = append(out.histogram, b)
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			out.parseFreeLine(line, num)
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if value == "" {
			section = key
			continue
		}
		switch {
		case key == "events per second":
			out.rate = num(key, value)
		case key == "total time":
			out.totalTime = num(key, value)
		case key == "total number of events":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("%s: not a count: %q", key, value))
			}
			out.events = n
		case section == "Latency (ms)" && slices.Contains(sysbenchLatencyKeys, key):
			out.latency[key] = num("latency "+key, value)
		case section == "File operations" || section == "Throughput":
			out.fileio[key] = num(key, value)
		case key == "Total operations":
			// "Total operations: 2172221 (2166309.93 per second)"
			if _, rate, ok := strings.Cut(value, "("); ok {
				out.rate = num(key, strings.TrimSuffix(rate, " per second)"))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	return out, out.sane()
}

// parseFreeLine reads the lines of the form "2121.31 MiB transferred
// (2115.54 MiB/sec)".
func (o *sysbenchOutput) parseFreeLine(line string, num func(string, string) float64) {
	if !strings.Contains(line, "MiB transferred (") {
		return
	}
	_, rate, _ := strings.Cut(line, "(")
	o.memoryMiB = num("MiB/sec", strings.TrimSuffix(rate, " MiB/sec)"))
}

// parseSysbenchBucket reads one line of its latency histogram,
// "0.023 |****      349".
func parseSysbenchBucket(line string) (sysbenchBucket, bool) {
	value, rest, ok := strings.Cut(line, " |")
	if !ok {
		return sysbenchBucket{}, false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return sysbenchBucket{}, false
	}
	ms, err1 := strconv.ParseFloat(strings.TrimSpace(value), 64)
	count, err2 := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err1 != nil || err2 != nil || ms < 0 || count < 0 || math.IsNaN(ms) || math.IsInf(ms, 0) {
		return sysbenchBucket{}, false
	}
	return sysbenchBucket{ms: ms, count: count}, true
}

// sane makes sure a report holds a measurement.
func (o sysbenchOutput) sane() error {
	switch {
	case o.totalTime == 0 && o.events == 0:
		return errors.New("no results in its output (no \"General statistics\")")
	case o.events == 0:
		return errors.New("no event completed")
	case o.totalTime == 0:
		return errors.New("its report has events but no total time")
	}
	for _, k := range []string{"min", "avg", "max", "sum"} {
		if _, ok := o.latency[k]; !ok {
			return fmt.Errorf("its report has no latency %s", k)
		}
	}
	if o.latency["min"] > o.latency["max"] {
		return fmt.Errorf("latency min %g above max %g", o.latency["min"], o.latency["max"])
	}
	return nil
}

// fill puts the figures of a parsed report into m, in microseconds.
func (o sysbenchOutput) fill(m *Measurement) {
	m.ToolVersion = o.version
	m.Duration = time.Duration(o.totalTime * float64(time.Second))
	lat := func(ms float64) float64 { return ms * 1000 }
	rate := o.rate
	if rate == 0 {
		rate = float64(o.events) / o.totalTime
	}
	low, high := o.latency["min"], o.latency["max"]
	m.Metrics = map[string]float64{
		"events_per_sec": rate,
		"latency_min":    lat(low),
		// The printed avg has two decimals of a millisecond; the sum over
		// the events is the same mean, to the microsecond.
		"latency_avg": lat(o.latency["sum"] / float64(o.events)),
		"latency_max": lat(high),
	}
	if p, ok := o.percentile(95); ok {
		m.Metrics["latency_p95"] = lat(p)
	} else if p, ok := o.latency["95th percentile"]; ok {
		m.Metrics["latency_p95"] = lat(p)
	}
	if o.memoryMiB > 0 {
		m.Metrics["memory_bw"] = o.memoryMiB * (1 << 20)
	}
	for key, name := range map[string]string{"reads/s": "reads_per_sec", "writes/s": "writes_per_sec", "fsyncs/s": "fsyncs_per_sec"} {
		if v, ok := o.fileio[key]; ok {
			m.Metrics[name] = v
		}
	}
	for key, name := range map[string]string{"read, MiB/s": "read_bw", "written, MiB/s": "write_bw"} {
		if v, ok := o.fileio[key]; ok {
			m.Metrics[name] = v * (1 << 20)
		}
	}
	m.Percentiles = o.spectrum()
}

// percentile is the p-th percentile of the histogram in milliseconds, as
// sysbench computes its own: the first bucket at which the running count
// reaches p % of the events, rounded to a whole event.
func (o sysbenchOutput) percentile(p float64) (float64, bool) {
	var total int64
	for _, b := range o.histogram {
		total += b.count
	}
	if total == 0 {
		return 0, false
	}
	want := int64(math.Floor(float64(total)*p/100 + 0.5))
	var cum int64
	for _, b := range o.histogram {
		cum += b.count
		if cum >= want {
			return b.ms, true
		}
	}
	return o.histogram[len(o.histogram)-1].ms, true
}

// spectrum is the latency spectrum in microseconds, from the histogram,
// between the printed min and max.
func (o sysbenchOutput) spectrum() []Percentile {
	if len(o.histogram) == 0 {
		return nil
	}
	low, high := o.latency["min"]*1000, o.latency["max"]*1000
	out := []Percentile{{P: 0, LatencyUs: low}}
	for _, p := range fioSpectrum {
		if v, ok := o.percentile(p); ok {
			out = append(out, Percentile{P: p, LatencyUs: min(max(v*1000, out[len(out)-1].LatencyUs), high)})
		}
	}
	return append(out, Percentile{P: 100, LatencyUs: max(high, out[len(out)-1].LatencyUs)})
}

// Package load drives a load into a system under test and reports what it
// measured in one shape, whichever tool produced it: flat metrics under the
// names each tool declares, with their units and better directions.
//
// Each tool is one entry of registry: the struct whose key tags declare
// its notebook keys, its metrics, and its run function. The three redis
// tools share the [Spec]: "builtin" (a Go RESP generator that needs
// nothing installed), "redis-benchmark" (Debian redis-tools) and "memtier"
// (memtier_benchmark, when it is on PATH). External tools are run as child
// processes in their own process group, bounded by a timeout and the
// context, and always killed and reaped before Run returns.
package load

import (
	"context"
	"fmt"
	"github.com/benchbook/benchbook/runner/guestexec"
	"net"
	"os/exec"
	"reflect"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/runner/placement"
)

// Tool names accepted by [New] and [Spec.Tool].
const (
	ToolBuiltin        = "builtin"
	ToolRedisBenchmark = "redis-benchmark"
	ToolMemtier        = "memtier"
)

// tool is one load generator: what a notebook may say of it (its keys,
// declared by the struct it decodes them into), the metrics it produces,
// and how to run it. A new tool is one more entry of registry and a file of
// its own.
type tool struct {
	name    string
	doc     string
	spec    any // the struct whose key tags declare the tool's keys
	metrics []notebook.Metric
	// primary is the metric a cell's verdicts and adaptive repeats judge
	// by default.
	primary string
	run     func(ctx context.Context, t Target, v notebook.Values) (Measurement, error)
	version func(context.Context) (string, error)
	// inside is whether the tool runs inside a VM guest that can run it
	// (its at key): insideByDefault, insideAsked (only with at =
	// "guest"), or never (the zero value: it runs in benchbook).
	inside insideRule
}

// insideRule says when a tool runs inside the guest.
type insideRule int

const (
	insideNever     insideRule = iota
	insideAsked                // redis-benchmark: the network path is what it measures by default
	insideByDefault            // the tools that need no server
)

// registry lists the tools in the order users see them in messages.
var registry = []tool{
	{
		name: ToolBuiltin, spec: Spec{}, metrics: redisMetrics, primary: "ops_per_sec",
		doc:     "benchbook's own redis load generator, in Go: nothing to install, the same on every machine",
		run:     redisRun(ToolBuiltin),
		version: func(context.Context) (string, error) { return BuiltinVersion, nil },
	},
	{
		name: ToolRedisBenchmark, spec: Spec{}, metrics: redisMetrics, primary: "ops_per_sec",
		doc:     "redis-benchmark from Debian's redis-tools, SETs and GETs as separate tests",
		run:     redisRun(ToolRedisBenchmark),
		version: redisBenchmarkVersion,
		inside:  insideAsked,
	},
	{
		name: ToolMemtier, spec: Spec{}, metrics: redisMetrics, primary: "ops_per_sec",
		doc:     "memtier_benchmark, when it is on PATH",
		run:     redisRun(ToolMemtier),
		version: memtierVersion,
	},
	{
		name: ToolFio, spec: FioSpec{}, metrics: fioMetrics, primary: "iops",
		doc:     "fio, the flexible I/O tester (Debian fio): one job described by keys, or a job file beside the notebook",
		run:     fioRun,
		version: fioVersion,
		inside:  insideByDefault,
	},
	{
		name: ToolSysbench, spec: SysbenchSpec{}, metrics: sysbenchMetrics, primary: "events_per_sec",
		doc:     "sysbench's cpu, memory and fileio tests (Debian sysbench)",
		run:     sysbenchRun,
		version: sysbenchVersion,
		inside:  insideByDefault,
	},
	{
		name: ToolCommand, spec: CommandSpec{}, metrics: commandMetrics, primary: "wall_ms",
		doc:     "any command, timed per run as hyperfine does, with figures read from its output",
		run:     commandRun,
		version: commandVersion,
		inside:  insideByDefault,
	},
	{
		name: ToolWrk, spec: WrkSpec{}, metrics: wrkMetrics, primary: "requests_per_sec",
		doc:     "wrk, the HTTP benchmarking tool (Debian wrk): GETs of one path over connections kept open, or what a Lua script beside the notebook asks",
		run:     wrkRun,
		version: wrkVersion,
	},
	{
		name: ToolIperf3, spec: Iperf3Spec{}, metrics: iperf3Metrics, primary: "received_bits_per_sec",
		doc:     "iperf3's client (Debian iperf3), TCP or UDP, against an iperf3 server a guest runs",
		run:     iperf3Run,
		version: iperf3Version,
	},
}

// InGuest reports whether a load table's tool runs inside a VM guest that
// can run it: the tools that need no server do unless at = "host";
// redis-benchmark only with at = "guest" (against the guest's own redis;
// by default it measures through the network path).
func InGuest(values notebook.Values) bool {
	tl, _ := lookupTool(values.String("tool"))
	switch at := values.String("at"); tl.inside {
	case insideByDefault:
		return at != "host"
	case insideAsked:
		return at == "guest"
	}
	return false
}

// CanRunInside reports whether a load table's tool can run inside a guest
// at all (at = "guest").
func CanRunInside(values notebook.Values) bool {
	tl, _ := lookupTool(values.String("tool"))
	return tl.inside != insideNever
}

// Tools lists every tool name, in the order users see them in messages.
var Tools = func() []string {
	names := make([]string, len(registry))
	for i, t := range registry {
		names[i] = t.name
	}
	return names
}()

func lookupTool(name string) (tool, error) {
	if name == "" {
		name = ToolBuiltin
	}
	for _, t := range registry {
		if t.name == name {
			return t, nil
		}
	}
	return tool{}, unknownToolError(name)
}

// Decls declares every tool's keys, for notebook validation, the docs and
// the JSON schema (the runner's catalog test writes them out).
func Decls() []notebook.Decl {
	out := make([]notebook.Decl, len(registry))
	for i, t := range registry {
		keys := notebook.KeysOf(t.spec)
		for j := range keys {
			if keys[j].Name == "tool" {
				keys[j].OneOf = Tools
			}
		}
		out[i] = notebook.Decl{Name: t.name, Doc: t.doc, Keys: keys, Metrics: t.metrics}
	}
	return out
}

// Decode makes the Spec of a load table whose params are resolved (as
// notebook.Notebook.LoadValues gives it): each value checked as `benchbook
// check` checks it, defaults filled in, and the rules between keys applied.
func Decode(values map[string]any) (Spec, error) {
	var s Spec
	if err := notebook.Decode(values, &s); err != nil {
		return Spec{}, err
	}
	s = s.WithDefaults()
	return s, s.Validate()
}

// Run runs the tool a load table names (its "tool" key; builtin when it
// has none) once against t. values are the table with its params
// resolved, as notebook.Notebook.LoadValues gives them.
func Run(ctx context.Context, t Target, values notebook.Values) (Measurement, error) {
	tl, err := lookupTool(values.String("tool"))
	if err != nil {
		return Measurement{}, err
	}
	if len(t.CPUs) > 0 {
		restore, err := placement.PinProcess(t.CPUs)
		if err != nil {
			return Measurement{}, fmt.Errorf("place the load: %w", err)
		}
		defer restore()
	}
	return tl.run(ctx, t, values)
}

// Check decodes values as the tool they name would before a run, and
// returns the tool's name: a cell fails at once on a value no run could
// use, instead of after other guests' repeats.
func Check(values notebook.Values) (string, error) {
	tl, err := lookupTool(values.String("tool"))
	if err != nil {
		return "", err
	}
	if _, isRedis := tl.spec.(Spec); isRedis {
		_, err := Decode(values)
		return tl.name, err
	}
	spec := reflect.New(reflect.TypeOf(tl.spec)).Interface()
	return tl.name, notebook.Decode(values, spec)
}

// Target is what a load runs against.
type Target struct {
	Addr string // host:port of the server under load, e.g. "127.0.0.1:6379"
	// Netns is the network namespace the load runs in ("" for this one):
	// a guest on a private bridge is reachable only from there.
	Netns string
	// Dir is a fresh scratch folder for this repeat, removed after it: where
	// loads that need no server (fio, sysbench fileio, a command) work. The
	// notebook refers to it as {dir}.
	Dir string
	// NotebookDir is the notebook's folder, where files a load names (a fio
	// job file, a wrk Lua script) are found.
	NotebookDir string
	// Progress, when set, is called from another goroutine about twice a
	// second during a run and once at its end, for live display.
	Progress func(Progress)
	// CPUs, when set, are the CPUs the load runs on: Run moves every
	// thread of benchbook there for the run (a builtin load's goroutines
	// run on whichever of them the Go runtime picks, so pinning some
	// threads would not hold them), and the tools it starts inherit them.
	// Empty: not placed.
	CPUs placement.Set
	// Guest, when set, runs the load's programs inside the guest (at =
	// "guest": fio, sysbench, command), with the same argv as here, over
	// the guest's exec port; Dir is then a folder in the guest, and a
	// program is looked up on the guest's PATH.
	Guest GuestExec
}

// GuestExec runs a program inside a guest: a guestexec.Client.
type GuestExec interface {
	Exec(ctx context.Context, req guestexec.Request) (guestexec.Reply, error)
}

// lookPath is where a tool's program is: on this machine's PATH, or by
// its name alone inside the guest, whose init looks it up.
func (t Target) lookPath(prog string) (string, error) {
	if t.Guest != nil {
		return prog, nil
	}
	return exec.LookPath(prog)
}

// decodeTool is how an external tool's run starts: its keys decoded into
// its spec S, the spec's own check (the rules between keys that the
// declarations cannot say) when it has one, and its program prog found
// where the load runs. prog is also the Debian package that installs it.
func decodeTool[S any](t Target, v notebook.Values, prog string) (s S, path string, err error) {
	if err := notebook.Decode(v, &s); err != nil {
		return s, "", err
	}
	if c, ok := any(s).(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return s, "", err
		}
	}
	path, err = t.lookPath(prog)
	if err != nil {
		return s, "", fmt.Errorf("not on PATH (apt-get install %s; see benchbook doctor): %w", prog, err)
	}
	return s, path, nil
}

// decodeInScratch is decodeTool for a tool that works in a scratch folder:
// dir is the folder, and done removes it (when it is not the target's).
func decodeInScratch[S any](t Target, v notebook.Values, tool, prog string) (s S, path, dir string, done func(), err error) {
	if s, path, err = decodeTool[S](t, v, prog); err != nil {
		return s, "", "", nil, err
	}
	if dir, done, err = scratch(t, tool); err != nil {
		return s, "", "", nil, err
	}
	return s, path, dir, done, nil
}

// dial connects to the target from its namespace.
func (t Target) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return netns.Dial(ctx, t.Netns, t.Addr)
}

// wrap makes argv run in the target's namespace.
func (t Target) wrap(argv []string) []string {
	if t.Netns == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", t.Netns}, argv...)
}

// Load is one load generator.
type Load interface {
	// Run applies s (after [Spec.WithDefaults] and [Spec.Validate]) to t.
	// On error the Measurement may still hold partial figures (e.g. Errors).
	Run(ctx context.Context, t Target, s Spec) (Measurement, error)
}

// New returns the redis generator called name ("" means builtin), which
// runs from a Spec; Run runs any tool from a load table's values.
func New(name string) (Load, error) {
	switch name {
	case "", ToolBuiltin:
		return builtin{}, nil
	case ToolRedisBenchmark:
		return redisBenchmark{}, nil
	case ToolMemtier:
		return memtier{}, nil
	}
	return nil, fmt.Errorf("load tool %q does not run from a redis Spec: want one of %s", name, strings.Join(redisTools, ", "))
}

// redisTools are the tools that run from a Spec.
var redisTools = []string{ToolBuiltin, ToolRedisBenchmark, ToolMemtier}

func unknownToolError(tool string) error {
	return fmt.Errorf("unknown load tool %q: want one of %s", tool, strings.Join(Tools, ", "))
}

// Available reports whether tool can run here and its version. builtin is
// always available; the others must be on PATH.
func Available(name string) (version string, err error) {
	t, err := lookupTool(name)
	if err != nil {
		return "", err
	}
	return t.version(context.Background())
}

// Measurement is what one run measured. Figures a tool does not report are
// zero (see each tool's notes on [New]'s implementations).
type Measurement struct {
	Tool        string `json:"tool"`
	ToolVersion string `json:"tool_version"`
	// Command is the argv that was run. For builtin it is a descriptive argv
	// (it runs in-process). When a tool ran more than one process (redis-
	// benchmark with a ratio other than 1:1 runs SET and GET separately)
	// Command is the first and Commands holds them all.
	Command  []string   `json:"command"`
	Commands [][]string `json:"commands,omitempty"`
	// Duration covers the measured phase only (no warmup, no connecting).
	Duration time.Duration `json:"duration"`
	Totals   Stats         `json:"totals"`
	Sets     Stats         `json:"sets"`
	Gets     Stats         `json:"gets"`
	// Errors counts server error replies plus connection errors.
	Errors int64 `json:"errors"`
	// FirstError is the first error reply, e.g. "-OOM command not allowed
	// when used memory > 'maxmemory'.", when the tool tells (builtin does).
	FirstError string `json:"first_error,omitempty"`
	// CPU is the user+system CPU time of the generator's processes (external
	// tools only; zero for builtin, which shares the caller's process).
	CPU time.Duration `json:"cpu,omitempty"`
	// Metrics are the figures under the names the tool declares
	// ("ops_per_sec", "gets.latency_p99", "read_iops"...), as results
	// store them.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Percentiles is the latency spectrum of all requests, ascending by P,
	// for percentile plots (empty when the tool gives none).
	Percentiles []Percentile `json:"percentiles,omitempty"`
	// Timeline is the measured phase second by second (builtin, fio and
	// memtier; nil for the other tools).
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Spectrum is the latency spectrum of all requests: Percentiles, or for
// the redis tools the totals'.
func (m Measurement) Spectrum() []Percentile {
	if len(m.Percentiles) > 0 {
		return m.Percentiles
	}
	return m.Totals.Percentiles
}

// Stats are the figures of one kind of request (or all of them). Latencies
// are in microseconds.
type Stats struct {
	Ops         int64   `json:"ops"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	KBPerSec    float64 `json:"kb_per_sec"` // bytes sent + received, 1 KB = 1024 bytes
	Hits        int64   `json:"hits"`
	Misses      int64   `json:"misses"`
	LatencyAvg  float64 `json:"latency_avg_us"`
	LatencyP50  float64 `json:"latency_p50_us"`
	LatencyP90  float64 `json:"latency_p90_us"`
	LatencyP99  float64 `json:"latency_p99_us"`
	LatencyP999 float64 `json:"latency_p999_us"`
	LatencyMax  float64 `json:"latency_max_us"`
	// Percentiles is the latency spectrum, ascending by P, for percentile
	// plots. It holds what the tool gives, at least 50, 75, 90, 99, 99.9,
	// 99.99 and 100 where available.
	Percentiles []Percentile `json:"percentiles,omitempty"`
}

// Percentile is one point of a latency spectrum: P percent of requests took
// at most LatencyUs microseconds.
type Percentile struct {
	P         float64 `json:"p"`
	LatencyUs float64 `json:"latency_us"`
}

// Progress is a live snapshot handed to [Spec.Progress].
type Progress struct {
	Warmup    bool          // true while in the warmup phase
	Elapsed   time.Duration // since the current phase began
	Ops       int64         // requests answered so far in this phase
	OpsPerSec float64       // rate over the last interval
}

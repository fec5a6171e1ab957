// Package load drives redis with a load generator and reports what it
// measured in one shape, whichever tool produced it.
//
// Three tools share the [Spec]: "builtin" (a Go RESP generator that needs
// nothing installed), "redis-benchmark" (Debian redis-tools) and "memtier"
// (memtier_benchmark, when it is on PATH). The external tools are run as
// child processes in their own process group, bounded by [Spec.Timeout] and
// the context, and always killed and reaped before Run returns.
package load

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/notebook"
)

// Tool names accepted by [New] and [Spec.Tool].
const (
	ToolBuiltin        = "builtin"
	ToolRedisBenchmark = "redis-benchmark"
	ToolMemtier        = "memtier"
)

// tool is one load generator: what a notebook may say of it (its keys,
// declared by the Spec it runs from) and how to run it. A new tool is one
// more entry of registry and a file of its own.
type tool struct {
	name    string
	doc     string
	spec    any // the struct whose key tags declare the tool's keys
	new     func() Load
	version func(context.Context) (string, error)
}

// registry lists the tools in the order users see them in messages.
var registry = []tool{
	{
		name: ToolBuiltin, spec: Spec{},
		doc:     "benchbook's own redis load generator, in Go: nothing to install, the same on every machine",
		new:     func() Load { return builtin{} },
		version: func(context.Context) (string, error) { return BuiltinVersion, nil },
	},
	{
		name: ToolRedisBenchmark, spec: Spec{},
		doc:     "redis-benchmark from Debian's redis-tools, SETs and GETs as separate tests",
		new:     func() Load { return redisBenchmark{} },
		version: redisBenchmarkVersion,
	},
	{
		name: ToolMemtier, spec: Spec{},
		doc:     "memtier_benchmark, when it is on PATH",
		new:     func() Load { return memtier{} },
		version: memtierVersion,
	},
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
		out[i] = notebook.Decl{Name: t.name, Doc: t.doc, Keys: keys}
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

// Target is the redis server under load.
type Target struct {
	Addr string // host:port, e.g. "127.0.0.1:6379"
	// Netns is the network namespace the load runs in ("" for this one):
	// a guest on a private bridge is reachable only from there.
	Netns string
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

// New returns the generator for tool ("" means builtin).
func New(name string) (Load, error) {
	t, err := lookupTool(name)
	if err != nil {
		return nil, err
	}
	return t.new(), nil
}

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

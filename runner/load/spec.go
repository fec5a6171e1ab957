package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec describes one load, the same for the three redis tools. Its key
// tags are the declaration of the notebook keys of a [loads.NAME] table
// (see notebook.KeysOf): their types, defaults, ranges and docs, from which
// validation, the docs' key tables and the typed Spec the runner gets all
// come. Zero values of a Spec made in Go mean the default written in the
// tag; [Spec.WithDefaults] fills them in.
type Spec struct {
	Tool    string `json:"tool,omitempty" toml:"tool" key:"tool" default:"builtin" doc:"the load generator"`
	Threads int    `json:"threads,omitempty" toml:"threads" key:"threads" default:"1" min:"1" max:"1024" doc:"generator threads"`
	// Clients is per thread (memtier's meaning), so a run opens
	// Threads*Clients connections.
	Clients  int           `json:"clients,omitempty" toml:"clients" key:"clients" default:"50" min:"1" max:"100000" doc:"connections per thread, as memtier counts them"`
	Requests int           `json:"requests,omitempty" toml:"requests" key:"requests" default:"10000" min:"1" excludes:"test_time" doc:"requests per connection (the default applies when test_time is not set)"`
	TestTime time.Duration `json:"test_time,omitempty" toml:"test_time" key:"test_time" min:"1ms" doc:"run each connection this long instead of a request count"`
	// Ratio: requests follow it in a fixed cycle (1 SET then 10 GETs), as
	// memtier does.
	Ratio    Ratio `json:"ratio,omitzero" toml:"ratio" key:"ratio" default:"1:10" pattern:"^([0-9]+:[0-9]*[1-9][0-9]*|[0-9]*[1-9][0-9]*:[0-9]+)$" help:"want SET:GET like \"1:10\", with counts >= 0 and not both 0" doc:"mix of SET and GET commands, SET:GET"`
	DataSize int   `json:"data_size,omitempty" toml:"data_size" key:"data_size" default:"32" min:"1" max:"536870912" doc:"value size of SETs in bytes (at most redis' proto-max-bulk-len, 512 MiB)"`
	Pipeline int   `json:"pipeline,omitempty" toml:"pipeline" key:"pipeline" default:"1" min:"1" max:"100000" doc:"requests sent on a connection before reading their replies"`
	// KeyPattern: R random uniform, S sequential, G gaussian around the
	// middle of the range, P sequential over a slice of the range owned by
	// each client.
	KeyPattern string `json:"key_pattern,omitempty" toml:"key_pattern" key:"key_pattern" default:"R:R" pattern:"^[RSGP]:[RSGP]$" help:"want SET:GET letters among R (random), S (sequential), G (gaussian), P (parallel), like \"R:R\"" doc:"key pattern of SETs and GETs, in memtier's letters: R random, S sequential, G gaussian, P parallel"`
	// KeyMinimum and KeyMaximum bound key numbers, inclusive; keys are named
	// "memtier-<n>" as memtier names them.
	KeyMinimum int           `json:"key_minimum,omitempty" toml:"key_minimum" key:"key_minimum" default:"0" min:"0" atmost:"key_maximum" doc:"smallest key number"`
	KeyMaximum int           `json:"key_maximum,omitempty" toml:"key_maximum" key:"key_maximum" default:"10000000" min:"0" doc:"largest key number"`
	Warmup     time.Duration `json:"warmup,omitempty" toml:"warmup" key:"warmup" min:"0s" doc:"load sent this long before measuring; its figures are discarded"`
	// Rate makes the builtin load an open loop (builtin_open.go): requests
	// sent on a schedule, latency from the intended send time.
	Rate int `json:"rate,omitempty" toml:"rate" key:"rate" min:"1" max:"100000000" doc:"requests per second in total, spread over the connections and sent on a schedule (an open loop; latency runs from each request's intended send time, as wrk2 measures); builtin only; default: a closed loop, each connection sending as soon as its replies are in"`
	// Seed: every value, 0 included, gives the same keys on every run.
	Seed int64 `json:"seed,omitempty" toml:"seed" key:"seed" doc:"seed of the builtin generator's key choice"`
	// Timeout bounds the whole run (connecting, warmup, measuring). The
	// default is generous: warmup + test time + 1 minute, or for a request
	// count, warmup + 1 minute + one second per 1000 requests.
	Timeout time.Duration `json:"timeout,omitempty" toml:"timeout" key:"timeout" min:"1s" doc:"bound of one run (connecting, warmup, measuring); default: warmup + test_time + 1 minute, or for a request count warmup + 1 minute + 1 s per 1000 requests"`

	// At = "guest" runs redis-benchmark inside a builtin:linux VM guest,
	// against the guest's own redis over its loopback.
	At string `json:"at,omitempty" toml:"at" key:"at" oneof:"host|guest" doc:"where the load runs: host (this machine, through the guest's network path: the default) or guest (redis-benchmark only: inside a builtin:linux VM guest, against its own redis over loopback, a baseline without the network)"`

	// Description is the notebook's words about the load, for reports.
	Description string `json:"-" toml:"-" key:"description" noparam:"" doc:"shown in the report"`

	// Progress, when set, is called from another goroutine about twice a
	// second during a run and once at its end, for live display. It is not
	// part of the description of a load, so it is never serialised.
	Progress func(Progress) `json:"-" toml:"-"`
}

// Defaults of a Spec.
const (
	DefaultThreads    = 1
	DefaultClients    = 50
	DefaultRequests   = 10000
	DefaultDataSize   = 32
	DefaultPipeline   = 1
	DefaultKeyPattern = "R:R"
	DefaultKeyMaximum = 10000000
)

// DefaultRatio is the SET:GET ratio used when none is given.
var DefaultRatio = Ratio{Set: 1, Get: 10}

// forTool is s as tool runs it: with its defaults, and checked.
func (s Spec) forTool(tool string) (Spec, error) {
	s.Tool = tool
	s = s.WithDefaults()
	return s, s.Validate()
}

// WithDefaults returns s with every zero field set to its default.
func (s Spec) WithDefaults() Spec {
	if s.Tool == "" {
		s.Tool = ToolBuiltin
	}
	if s.Threads == 0 {
		s.Threads = DefaultThreads
	}
	if s.Clients == 0 {
		s.Clients = DefaultClients
	}
	if s.Requests == 0 && s.TestTime == 0 {
		s.Requests = DefaultRequests
	}
	if s.Ratio == (Ratio{}) {
		s.Ratio = DefaultRatio
	}
	if s.DataSize == 0 {
		s.DataSize = DefaultDataSize
	}
	if s.Pipeline == 0 {
		s.Pipeline = DefaultPipeline
	}
	if s.KeyPattern == "" {
		s.KeyPattern = DefaultKeyPattern
	}
	if s.KeyMaximum == 0 {
		s.KeyMaximum = DefaultKeyMaximum
	}
	if s.Timeout == 0 {
		s.Timeout = s.defaultTimeout()
	}
	return s
}

// defaultTimeout is generous on purpose: it exists to stop a hung tool, not
// to judge a slow guest (a TCG-emulated VM can serve only a few thousand
// requests a second).
func (s Spec) defaultTimeout() time.Duration {
	d := s.Warmup + time.Minute
	if s.TestTime > 0 {
		return d + s.TestTime
	}
	total := int64(max(s.Threads, 1)) * int64(max(s.Clients, 1)) * int64(max(s.Requests, 0))
	if s.Rate > 0 {
		d += time.Duration(total/int64(s.Rate)) * time.Second
	}
	return d + time.Duration(total/1000)*time.Second
}

// Limits that keep a typo from asking for something absurd.
const (
	maxConnections = 100000
	maxDataSize    = 512 << 20 // redis' default proto-max-bulk-len
	maxPipeline    = 100000
)

// Validate reports every problem of s (after defaults) at once.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch s.Tool {
	case ToolBuiltin, ToolRedisBenchmark, ToolMemtier:
	default:
		errs = append(errs, fmt.Errorf("unknown load tool %q: want one of %s", s.Tool, strings.Join(redisTools, ", ")))
	}
	if s.At == "guest" && s.Tool != ToolRedisBenchmark {
		bad("at = \"guest\": only redis-benchmark runs inside a guest (the %s load runs in benchbook, on this machine); use tool = \"redis-benchmark\"", s.Tool)
	}
	if s.Threads < 1 {
		bad("threads %d: want at least 1", s.Threads)
	}
	if s.Clients < 1 {
		bad("clients %d: want at least 1", s.Clients)
	}
	if s.Threads >= 1 && s.Clients >= 1 && s.Threads*s.Clients > maxConnections {
		bad("threads*clients %d: want at most %d connections", s.Threads*s.Clients, maxConnections)
	}
	switch {
	case s.Requests < 0:
		bad("requests %d: want a positive count", s.Requests)
	case s.TestTime < 0:
		bad("test_time %s: want a positive duration", s.TestTime)
	case s.Requests > 0 && s.TestTime > 0:
		bad("requests %d and test_time %s: set only one of them", s.Requests, s.TestTime)
	case s.Requests == 0 && s.TestTime == 0:
		bad("neither requests nor test_time is set")
	}
	if err := s.Ratio.validate(); err != nil {
		errs = append(errs, err)
	}
	if s.DataSize < 1 || s.DataSize > maxDataSize {
		bad("data_size %d: want 1 to %d bytes", s.DataSize, maxDataSize)
	}
	if s.Pipeline < 1 || s.Pipeline > maxPipeline {
		bad("pipeline %d: want 1 to %d", s.Pipeline, maxPipeline)
	}
	if _, _, err := parseKeyPattern(s.KeyPattern); err != nil {
		errs = append(errs, err)
	}
	if s.KeyMinimum < 0 || s.KeyMaximum < s.KeyMinimum {
		bad("key range %d..%d: want 0 <= key_minimum <= key_maximum", s.KeyMinimum, s.KeyMaximum)
	}
	if s.Warmup < 0 {
		bad("warmup %s: want a positive duration", s.Warmup)
	}
	switch {
	case s.Rate < 0:
		bad("rate %d: want requests per second > 0", s.Rate)
	case s.Rate > 0 && s.Tool != ToolBuiltin:
		bad("rate %d: only the builtin tool sends on a schedule; %s runs a closed loop (drop rate, or use tool = \"builtin\")", s.Rate, s.Tool)
	}
	if s.Timeout < 0 {
		bad("timeout %s: want a positive duration", s.Timeout)
	}
	return errors.Join(errs...)
}

// Ratio is a SET:GET ratio, written "1:10".
type Ratio struct {
	Set, Get int
}

// ParseRatio parses "SET:GET", e.g. "1:10" or "0:1" (only GETs).
func ParseRatio(text string) (Ratio, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(text), ":")
	set, err1 := strconv.Atoi(a)
	get, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Ratio{}, fmt.Errorf("ratio %q: want SET:GET like \"1:10\"", text)
	}
	r := Ratio{Set: set, Get: get}
	if err := r.validate(); err != nil {
		return Ratio{}, err
	}
	return r, nil
}

func (r Ratio) validate() error {
	if r.Set < 0 || r.Get < 0 || r.Set+r.Get == 0 {
		return fmt.Errorf("ratio %q: want SET:GET with counts >= 0 and not both 0, like \"1:10\"", r.String())
	}
	return nil
}

func (r Ratio) String() string { return strconv.Itoa(r.Set) + ":" + strconv.Itoa(r.Get) }

// MarshalText writes the ratio as "1:10", the form notebooks and results use.
func (r Ratio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "1:10".
func (r *Ratio) UnmarshalText(text []byte) error {
	v, err := ParseRatio(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// parseKeyPattern splits "R:R" into its SET and GET letters.
func parseKeyPattern(p string) (set, get byte, err error) {
	valid := func(c byte) bool { return strings.IndexByte("RSGP", c) >= 0 }
	if len(p) != 3 || p[1] != ':' || !valid(p[0]) || !valid(p[2]) {
		return 0, 0, fmt.Errorf("key_pattern %q: want SET:GET letters among R (random), S (sequential), G (gaussian), P (parallel), like \"R:R\"", p)
	}
	return p[0], p[2], nil
}

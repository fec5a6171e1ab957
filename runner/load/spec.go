package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec describes one load, the same for every tool. Zero values mean the
// default written on each field; [Spec.WithDefaults] fills them in.
type Spec struct {
	// Tool is "builtin" (default), "redis-benchmark" or "memtier".
	Tool string `json:"tool,omitempty" toml:"tool"`
	// Threads is the number of generator threads; default 1.
	Threads int `json:"threads,omitempty" toml:"threads"`
	// Clients is the number of connections per thread (memtier's meaning),
	// so a run opens Threads*Clients connections; default 50.
	Clients int `json:"clients,omitempty" toml:"clients"`
	// Requests is the number of requests per client. It excludes TestTime;
	// when neither is set it defaults to 10000.
	Requests int `json:"requests,omitempty" toml:"requests"`
	// TestTime runs each client for this long instead of a request count.
	TestTime time.Duration `json:"test_time,omitempty" toml:"test_time"`
	// Ratio is SET:GET, default 1:10. Requests follow it in a fixed cycle
	// (1 SET then 10 GETs), as memtier does.
	Ratio Ratio `json:"ratio,omitzero" toml:"ratio"`
	// DataSize is the value size of SETs in bytes; default 32.
	DataSize int `json:"data_size,omitempty" toml:"data_size"`
	// Pipeline is the number of requests sent before reading replies;
	// default 1.
	Pipeline int `json:"pipeline,omitempty" toml:"pipeline"`
	// KeyPattern is memtier's SET:GET key pattern: R random uniform,
	// S sequential, G gaussian around the middle of the range, P sequential
	// over a slice of the range owned by each client. Default "R:R".
	KeyPattern string `json:"key_pattern,omitempty" toml:"key_pattern"`
	// KeyMinimum and KeyMaximum bound key numbers, inclusive; keys are named
	// "memtier-<n>" as memtier names them. Defaults 0 and 10000000.
	KeyMinimum int `json:"key_minimum,omitempty" toml:"key_minimum"`
	KeyMaximum int `json:"key_maximum,omitempty" toml:"key_maximum"`
	// Warmup runs the load this long before measuring; its results are
	// discarded. Default none.
	Warmup time.Duration `json:"warmup,omitempty" toml:"warmup"`
	// Seed seeds builtin's key choice; every value, 0 included, gives the
	// same keys on every run.
	Seed int64 `json:"seed,omitempty" toml:"seed"`
	// Timeout bounds the whole run (connecting, warmup, measuring). The
	// default is generous: warmup + test time + 1 minute, or for a request
	// count, warmup + 1 minute + one second per 1000 requests.
	Timeout time.Duration `json:"timeout,omitempty" toml:"timeout"`

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
		errs = append(errs, unknownToolError(s.Tool))
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

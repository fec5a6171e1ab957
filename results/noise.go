package results

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// NoiseSchema is the version of a noise floor file.
const NoiseSchema = 1

// Noise is a machine's noise floor: how far its figures scatter when
// nothing changes, per load tool and metric, as `benchbook calibrate`
// measured it with an A/A test (one guest against an identical copy of
// itself, repeats interleaved). Differences under what this scatter
// explains are noise on that machine, whatever a test says.
//
// It is kept per machine (benchbook calibrate writes it), and a run copies
// the part its cell's tool has into its results file (File.NoiseFloor), so a
// report rendered elsewhere, years later, still says what its figures
// were worth where they were measured.
type Noise struct {
	Schema  int                  `json:"schema"`
	Machine string               `json:"machine"` // an opaque id of the machine (a hash: no host name)
	Tools   map[string]ToolNoise `json:"tools"`   // load tool -> what calibrate measured of it
}

// ToolNoise is one load tool's A/A test.
type ToolNoise struct {
	Calibrated time.Time `json:"calibrated"`
	Benchbook  string    `json:"benchbook,omitempty"`
	// What was measured: the notebook's cell and guest ("host", a
	// "process"), or benchbook's own when calibrate was given none.
	Notebook string `json:"notebook,omitempty"`
	Cell     string `json:"cell,omitempty"`
	Guest    string `json:"guest"`
	Kind     string `json:"kind"`
	Repeats  int    `json:"repeats"` // per side of the A/A test
	// Metrics are the floors per metric of the tool.
	Metrics map[string]MetricNoise `json:"metrics"`
}

// MetricNoise is the A/A test of one metric.
type MetricNoise struct {
	// Spread is the noise floor: the relative standard deviation of one
	// repeat (0.02 is 2 %), the larger of CV and |Change|: a difference
	// between two identical guests is noise too.
	Spread float64 `json:"spread"`
	Median float64 `json:"median"` // of both sides together
	CV     float64 `json:"cv"`     // pooled coefficient of variation of the two sides
	Change float64 `json:"aa_change"`
	P      float64 `json:"aa_p"` // Mann-Whitney p of one side against the other
}

// Calibrate computes a metric's noise floor from the two sides of an A/A
// test. Sides of fewer than two values, or a median of 0, have no
// relative spread: ok is false.
func Calibrate(a, b []float64) (m MetricNoise, ok bool) {
	sa, sb := Summarize(a), Summarize(b)
	m.Median = Summarize(append(slices.Clone(a), b...)).Median
	if sa.N < 2 || sb.N < 2 || sa.Median == 0 || m.Median == 0 {
		return m, false
	}
	m.CV = PooledCV(sa, sb)
	m.Change = (sb.Median - sa.Median) / sa.Median
	_, m.P = MannWhitneyU(a, b)
	m.Spread = math.Max(m.CV, math.Abs(m.Change))
	return m, true
}

// PooledCV is the coefficient of variation of two samples pooled by their
// degrees of freedom; 0 when neither has two values.
func PooledCV(a, b Summary) float64 {
	df := max(a.N-1, 0) + max(b.N-1, 0)
	if df == 0 {
		return 0
	}
	ss := float64(max(a.N-1, 0))*a.CV*a.CV + float64(max(b.N-1, 0))*b.CV*b.CV
	return math.Sqrt(ss / float64(df))
}

// Spread is the noise floor of metric: the largest of the tools' that
// measured it, 0 when none did (or n is nil).
func (n *Noise) Spread(metric string) float64 {
	if n == nil {
		return 0
	}
	s := 0.0
	for _, t := range n.Tools {
		if m, ok := t.Metrics[metric]; ok {
			s = math.Max(s, m.Spread)
		}
	}
	return s
}

// For is the part of n about tools, or nil when n knows none of them: what
// a run of a cell with these tools stores.
func (n *Noise) For(tools []string) *Noise {
	if n == nil {
		return nil
	}
	out := &Noise{Schema: n.Schema, Machine: n.Machine, Tools: map[string]ToolNoise{}}
	for _, t := range tools {
		if tn, ok := n.Tools[t]; ok {
			out.Tools[t] = tn
		}
	}
	if len(out.Tools) == 0 {
		return nil
	}
	return out
}

// NoiseSpread is the noise floor of metric on the machine that produced f,
// 0 when unknown.
func (f *File) NoiseSpread(metric string) float64 { return f.NoiseFloor.Spread(metric) }

// Calibration is when and on what the floor of metric was measured, for a
// report's note; ok is false when f has none.
func (f *File) Calibration(metric string) (t ToolNoise, ok bool) {
	if f.NoiseFloor == nil {
		return ToolNoise{}, false
	}
	for _, name := range slices.Sorted(maps.Keys(f.NoiseFloor.Tools)) {
		if tn := f.NoiseFloor.Tools[name]; tn.Metrics[metric].Spread > 0 {
			return tn, true
		}
	}
	return ToolNoise{}, false
}

// EncodeNoise is the stored form of a noise floor file: indented JSON,
// keys in a fixed order, a trailing newline.
func EncodeNoise(n *Noise) ([]byte, error) {
	if err := n.check(); err != nil {
		return nil, err
	}
	c := *n
	if c.Schema == 0 {
		c.Schema = NoiseSchema
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("encode noise floor: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeNoise reads a noise floor file; name is for errors.
func DecodeNoise(name string, data []byte) (*Noise, error) {
	var n Noise
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w (benchbook calibrate writes it anew)", name, err)
	}
	if n.Schema != NoiseSchema {
		return nil, fmt.Errorf("%s: noise floor schema %d, this benchbook reads %d: run benchbook calibrate again", name, n.Schema, NoiseSchema)
	}
	return &n, nil
}

// check refuses figures JSON cannot hold.
func (n *Noise) check() error {
	if n == nil {
		return nil
	}
	for _, tool := range slices.Sorted(maps.Keys(n.Tools)) {
		ms := n.Tools[tool].Metrics
		for _, name := range slices.Sorted(maps.Keys(ms)) {
			m := ms[name]
			for _, x := range []float64{m.Spread, m.Median, m.CV, m.Change, m.P} {
				if err := finite("noise floor of "+tool, fmt.Sprintf("metric %q", name), x); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

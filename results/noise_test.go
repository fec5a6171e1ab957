package results

import (
	"math"
	"strings"
	"testing"
	"time"
)

// An A/A test's floor is the pooled spread of its sides, or the
// difference between them when that is larger.
func TestCalibrate(t *testing.T) {
	a := []float64{100, 102, 98, 101, 99}
	b := []float64{101, 99, 100, 103, 97}
	m, ok := Calibrate(a, b)
	if !ok || math.Abs(m.CV-0.0198) > 0.001 || m.Spread != m.CV || m.Change != 0 || m.P < 0.5 || m.Median != 100 {
		t.Errorf("Calibrate: %+v %v", m, ok)
	}
	shifted := scaled(1.1, b...)
	m, _ = Calibrate(a, shifted)
	if math.Abs(m.Change-0.1) > 1e-9 || m.Spread != m.Change || m.P >= Alpha {
		t.Errorf("a drifting A/A test: %+v, want a spread of its 10 %% change", m)
	}
	if _, ok := Calibrate([]float64{1}, b); ok {
		t.Error("one repeat calibrated")
	}
	if _, ok := Calibrate([]float64{0, 0, 0}, []float64{0, 0, 0}); ok {
		t.Error("a median of 0 calibrated")
	}
}

func noiseFloor() *Noise {
	return &Noise{Schema: NoiseSchema, Machine: "0123456789ab", Tools: map[string]ToolNoise{
		"builtin": {Calibrated: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), Guest: "host", Kind: "process", Repeats: 10,
			Metrics: map[string]MetricNoise{OpsPerSec: {Spread: 0.021}, LatencyAvg: {Spread: 0.03}}},
		"fio": {Guest: "vm", Kind: "qemu", Repeats: 10, Metrics: map[string]MetricNoise{"iops": {Spread: 0.05}, LatencyAvg: {Spread: 0.04}}},
	}}
}

// A run keeps the floor of its tools only; a metric's floor is the
// largest its tools show.
func TestNoiseFor(t *testing.T) {
	n := noiseFloor()
	if got := n.For([]string{"builtin"}); len(got.Tools) != 1 || got.Machine != n.Machine || got.Spread("iops") != 0 || got.Spread(OpsPerSec) != 0.021 {
		t.Errorf("For(builtin) = %+v", got)
	}
	if got := n.For([]string{"wrk"}); got != nil {
		t.Errorf("For(wrk) = %+v, want nil", got)
	}
	if s := n.Spread(LatencyAvg); s != 0.04 {
		t.Errorf("Spread(latency_avg) = %g, want the larger, 0.04", s)
	}
	var none *Noise
	if none.Spread(OpsPerSec) != 0 || none.For([]string{"builtin"}) != nil {
		t.Error("a nil floor knows something")
	}
}

// A floor file round-trips; a results file stores its floor and refuses
// one JSON cannot hold.
func TestNoiseEncode(t *testing.T) {
	n := noiseFloor()
	data, err := EncodeNoise(n)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeNoise("floor.json", data)
	if err != nil || back.Tools["builtin"].Metrics[OpsPerSec].Spread != 0.021 || !strings.HasSuffix(string(data), "}\n") {
		t.Fatalf("round trip: %+v %v\n%s", back, err, data)
	}
	if _, err := DecodeNoise("floor.json", []byte(`{"schema": 2}`)); err == nil || !strings.Contains(err.Error(), "run benchbook calibrate again") {
		t.Errorf("a newer floor: %v", err)
	}

	s := Store{Dir: t.TempDir()}
	f := sampleFile()
	f.NoiseFloor = n.For([]string{"builtin"})
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(f.Cell)
	if err != nil || got.NoiseSpread(OpsPerSec) != 0.021 {
		t.Fatalf("load: %v, spread %g", err, got.NoiseSpread(OpsPerSec))
	}
	if cal, ok := got.Calibration(OpsPerSec); !ok || cal.Repeats != 10 || cal.Kind != "process" {
		t.Errorf("Calibration = %+v, %v", cal, ok)
	}
	bad := n.For([]string{"builtin"})
	bad.Tools["builtin"].Metrics["x"] = MetricNoise{Spread: math.NaN()}
	f.NoiseFloor = bad
	if err := s.Save(f); err == nil || !strings.Contains(err.Error(), `noise floor of builtin: metric "x"`) {
		t.Errorf("a NaN floor: %v", err)
	}
}

package load

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

func TestParseRatio(t *testing.T) {
	tests := []struct {
		in      string
		want    Ratio
		wantErr string
	}{
		{in: "1:10", want: Ratio{1, 10}},
		{in: " 1:1 ", want: Ratio{1, 1}},
		{in: "0:1", want: Ratio{0, 1}},
		{in: "5:0", want: Ratio{5, 0}},
		{in: "1:x", wantErr: `ratio "1:x": want SET:GET like "1:10"`},
		{in: "10", wantErr: `ratio "10": want SET:GET like "1:10"`},
		{in: "", wantErr: `ratio "": want SET:GET`},
		{in: "0:0", wantErr: `not both 0`},
		{in: "-1:3", wantErr: `counts >= 0`},
	}
	for _, tt := range tests {
		got, err := ParseRatio(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRatio(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRatio(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRatioText(t *testing.T) {
	var v struct{ Ratio Ratio }
	if err := json.Unmarshal([]byte(`{"Ratio":"2:7"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Ratio != (Ratio{2, 7}) {
		t.Fatalf("decoded %v, want 2:7", v.Ratio)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"Ratio":"2:7"}` {
		t.Fatalf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"Ratio":"a:b"}`), &v); err == nil {
		t.Fatal("decoding a bad ratio succeeded")
	}
}

func TestWithDefaults(t *testing.T) {
	got := Spec{}.WithDefaults()
	want := Spec{
		Tool: "builtin", Threads: 1, Clients: 50, Requests: 10000, Ratio: Ratio{1, 10},
		DataSize: 32, Pipeline: 1, KeyPattern: "R:R", KeyMaximum: 10000000,
		Timeout: time.Minute + 500*time.Second,
	}
	if got.Progress != nil || !specEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if again := got.WithDefaults(); !specEqual(again, got) {
		t.Errorf("WithDefaults is not idempotent: %+v", again)
	}
	timed := Spec{TestTime: 10 * time.Second, Warmup: 2 * time.Second}.WithDefaults()
	if timed.Requests != 0 || timed.Timeout != 72*time.Second {
		t.Errorf("test_time defaults: requests %d, timeout %s", timed.Requests, timed.Timeout)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func specEqual(a, b Spec) bool {
	a.Progress, b.Progress = nil, nil
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Spec)
		want []string // substrings, all of which must appear
	}{
		{"unknown tool", func(s *Spec) { s.Tool = "wrk" }, []string{`unknown load tool "wrk": want one of builtin, redis-benchmark, memtier`}},
		{"threads", func(s *Spec) { s.Threads = -1 }, []string{"threads -1"}},
		{"clients", func(s *Spec) { s.Clients = -3 }, []string{"clients -3"}},
		{"exclusive", func(s *Spec) { s.TestTime = time.Second }, []string{"set only one of them"}},
		{"ratio", func(s *Spec) { s.Ratio = Ratio{-1, 2} }, []string{`ratio "-1:2"`}},
		{"data size", func(s *Spec) { s.DataSize = -5 }, []string{"data_size -5"}},
		{"pipeline", func(s *Spec) { s.Pipeline = -1 }, []string{"pipeline -1"}},
		{"key pattern", func(s *Spec) { s.KeyPattern = "R:X" }, []string{`key_pattern "R:X"`}},
		{"key range", func(s *Spec) { s.KeyMinimum, s.KeyMaximum = 10, 5 }, []string{"key range 10..5"}},
		{"all at once", func(s *Spec) { s.Threads, s.Pipeline = -1, -1 }, []string{"threads -1", "pipeline -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{}.WithDefaults()
			tt.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tool := range append([]string{""}, redisTools...) {
		if _, err := New(tool); err != nil {
			t.Errorf("New(%q): %v", tool, err)
		}
	}
	// The other tools run from a load table's values (Run), not a Spec.
	if _, err := New(ToolFio); err == nil || !strings.Contains(err.Error(), "does not run from a redis Spec") {
		t.Errorf("New(fio) error = %v", err)
	}
	_, err := New("wrk")
	if err == nil || !strings.Contains(err.Error(), "builtin, redis-benchmark, memtier") {
		t.Errorf("New(wrk) error = %v, want the three tools listed", err)
	}
	if v, err := Available("builtin"); err != nil || v != BuiltinVersion {
		t.Errorf("Available(builtin) = %q, %v", v, err)
	}
	if _, err := Available("ab"); err == nil || !strings.Contains(err.Error(), `unknown load tool "ab"`) {
		t.Errorf("Available(ab) error = %v, want an unknown tool", err)
	}
}

func TestAvailableRedisBenchmark(t *testing.T) {
	needProgram(t, "redis-benchmark")
	v, err := Available("redis-benchmark")
	if err != nil {
		t.Fatal(err)
	}
	if v == "" || strings.ContainsAny(v, " \n") || v[0] < '0' || v[0] > '9' {
		t.Errorf("version %q, want like 7.0.15", v)
	}
}

func TestSpecJSONOmitsProgress(t *testing.T) {
	s := Spec{Progress: func(Progress) {}}.WithDefaults()
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(out)), "progress") {
		t.Errorf("Progress serialised: %s", out)
	}
}

// A load's timeout key reaches the Spec the tool runs with; without it the
// generous default applies.
func TestDecodeTimeout(t *testing.T) {
	s, err := Decode(notebook.Values{"timeout": "90s", "requests": int64(10)})
	if err != nil || s.Timeout != 90*time.Second {
		t.Fatalf("timeout = 90s: %v, %v", s.Timeout, err)
	}
	s, err = Decode(notebook.Values{"requests": int64(10)})
	if err != nil || s.Timeout != s.defaultTimeout() {
		t.Fatalf("no timeout: %v, want the default %v (%v)", s.Timeout, s.defaultTimeout(), err)
	}
	if _, err := Decode(notebook.Values{"timeout": "10ms"}); err == nil || !strings.Contains(err.Error(), `timeout = "10ms": want at least 1s`) {
		t.Fatalf("timeout = 10ms: %v", err)
	}
}

package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/notebook"
	"github.com/rogpeppe/go-internal/diff"
	"golang.org/x/sys/unix"
)

var t0 = time.Date(2014, 11, 2, 10, 0, 0, 0, time.UTC)

// sampleFile is a cell with a process guest that ran, a VM guest swept over
// two points and an optional guest that was skipped.
func sampleFile() *File {
	rep := func(i int, ops, p99 float64) Repeat {
		return Repeat{
			Index:   i,
			Started: t0.Add(time.Duration(i) * 10 * time.Second),
			Seconds: 2.5 + float64(i)/10,
			Metrics: map[string]float64{
				OpsPerSec: ops, LatencyP99: p99, LatencyAvg: p99 / 4,
				"sets.ops_per_sec": ops / 11, "gets.ops_per_sec": ops * 10 / 11,
			},
			Percentiles: []Percentile{{50, p99 / 5}, {99, p99}, {99.9, p99 * 1.5}},
			Log:         fmt.Sprintf("logs/throughput.host.p0.r%d.log", i),
		}
	}
	f := &File{
		Schema:    SchemaVersion,
		Notebook:  "x.toml",
		Cell:      "throughput",
		InputHash: "sha256:0123456789abcdef",
		Started:   t0,
		Finished:  t0.Add(95 * time.Second),
		Env: Env{
			CPUModel: "Intel(R) Xeon(R) CPU E5-2680 v2 @ 2.80GHz", Cores: 2, MemoryBytes: 8 << 30,
			Kernel: "6.1.0-18-amd64", OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64",
			GoVersion: "go1.26.0", Benchbook: "v0.1.0", Virtualization: "none", Container: "none",
			Tools: map[string]string{"redis-server": "7.0.15", "memtier_benchmark": "2.1.0"},
		},
		Params: map[string]any{"clients": int64(50), "ratio": "1:10", "warm": true, "scale": 0.5},
		Guests: []Guest{
			{
				Name: "host", Kind: "process", Status: StatusOK,
				Facts:    map[string]string{"redis_version": "7.0.15"},
				Commands: []string{"redis-server --port 40001 --save '' --appendonly no", "benchbook-load --ratio 1:10 </dev/null && true"},
				Points: []Point{{Repeats: []Repeat{
					rep(0, 120000.5, 410), rep(1, 118000.25, 450), rep(2, 121000, 400),
				}}},
			},
			{
				Name: "linux", Kind: "qemu", Status: StatusOK,
				Facts: map[string]string{"accel": "tcg", "qemu_version": "8.2.2", "network": "user"},
				Points: []Point{
					{Params: map[string]any{"clients": int64(1)}, Repeats: []Repeat{rep(0, 9000, 120), rep(1, 9100, 118)}},
					{Params: map[string]any{"clients": int64(8)}, Repeats: []Repeat{rep(0, 30000, 800), rep(1, 26000, 950)}},
				},
			},
			{Name: "osv", Kind: "libvirt", Status: StatusSkipped, Reason: "image images/osv-redis.qcow2 not found (optional guest)"},
		},
	}
	f.Summarize()
	return f
}

func TestGolden(t *testing.T) {
	got, err := Encode(sampleFile())
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "sample.json"), got)
	if !bytes.HasSuffix(got, []byte("}\n")) || bytes.HasSuffix(got, []byte("\n\n")) {
		t.Error("want exactly one trailing newline")
	}
	if !bytes.Contains(got, []byte("\n  \"schema\": 1,\n")) {
		t.Error("want 2-space indentation")
	}
	if bytes.Contains(got, []byte(`\u0026`)) || bytes.Contains(got, []byte(`\u003c`)) {
		t.Error("command lines are HTML-escaped")
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a, err := Encode(sampleFile())
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := Encode(sampleFile())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("same File, different bytes")
		}
	}
	// A local time zone must not change what is stored.
	f := sampleFile()
	f.Started = f.Started.In(time.FixedZone("CET", 3600))
	c, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, c) {
		t.Errorf("a time zone changed the bytes:\n%s", diff.Diff("UTC", a, "another zone", c))
	}
}

func TestRoundTrip(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "x.results")} // Save creates it
	orig := sampleFile()
	if err := s.Save(orig); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(s.Path("throughput"))
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load("throughput")
	if err != nil {
		t.Fatal(err)
	}
	// Loading gives the canonical form: empty lists instead of nil.
	if want := normalize(orig); !reflect.DeepEqual(loaded, &want) {
		t.Errorf("loaded file differs from saved one:\n got %+v\nwant %+v", loaded, &want)
	}
	if v := loaded.Params["clients"]; v != int64(50) {
		t.Errorf("params clients = %#v, want int64(50)", v)
	}
	if v := loaded.Params["scale"]; v != 0.5 {
		t.Errorf("params scale = %#v, want 0.5", v)
	}

	s2 := Store{Dir: t.TempDir()}
	if err := s2.Save(loaded); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(s2.Path("throughput"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("save, load, save changed the bytes:\n%s", diff.Diff("first save", first, "second save", second))
	}
	fi, err := os.Stat(s.Path("throughput"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	assertNoTemp(t, s.Dir)
}

func TestEmptyListsStoredAsEmpty(t *testing.T) {
	f := &File{Cell: "c", Guests: []Guest{{Name: "g", Kind: "process", Status: StatusOK, Points: []Point{{Repeats: []Repeat{{}}}}}}}
	data, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"schema": 1`, `"metrics": {}`, `"summary": {}`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("encoding lacks %s:\n%s", want, data)
		}
	}
	if bytes.Contains(data, []byte("null")) {
		t.Errorf("encoding has null:\n%s", data)
	}
	if f.Schema != 0 || f.Guests[0].Points[0].Repeats[0].Metrics != nil {
		t.Error("Encode modified its argument")
	}
}

func TestSaveRefusesNonFinite(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*File)
		want   string
	}{
		{"NaN metric", func(f *File) { f.Guests[0].Points[0].Repeats[1].Metrics["gets.latency_p99"] = math.NaN() },
			`guest "host": point 0: repeat 1: metric "gets.latency_p99" is NaN`},
		{"Inf metric", func(f *File) { f.Guests[1].Points[1].Repeats[0].Metrics[OpsPerSec] = math.Inf(1) },
			`guest "linux": point 1: repeat 0: metric "ops_per_sec" is +Inf`},
		{"NaN summary", func(f *File) {
			s := f.Guests[0].Points[0].Summary[LatencyP99]
			s.Stddev = math.NaN()
			f.Guests[0].Points[0].Summary[LatencyP99] = s
		}, `stddev of metric "latency_p99" is NaN`},
		{"Inf percentile", func(f *File) { f.Guests[0].Points[0].Repeats[0].Percentiles[2].LatencyUs = math.Inf(-1) },
			`latency of percentile 99.9 is -Inf`},
		{"NaN seconds", func(f *File) { f.Guests[0].Points[0].Repeats[2].Seconds = math.NaN() }, `repeat 2: seconds is NaN`},
		{"NaN param", func(f *File) { f.Params["scale"] = math.NaN() }, `param "scale" is NaN`},
		{"NaN sweep param", func(f *File) { f.Guests[1].Points[0].Params["x"] = []any{1.0, math.Inf(1)} }, `param "x"[1] is +Inf`},
		{"bad status", func(f *File) { f.Guests[2].Status = "gone" }, `guest "osv": status "gone"`},
		{"no guest name", func(f *File) { f.Guests[2].Name = "" }, `guest without a name`},
		{"bad schema", func(f *File) { f.Schema = 2 }, `schema 2, want 1`},
		{"bad cell id", func(f *File) { f.Cell = "../etc" }, `cell id "../etc"`},
		{"failure set", func(f *File) { f.Failure = "boom" }, `use SaveFailure`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			if err := s.Save(sampleFile()); err != nil {
				t.Fatal(err)
			}
			old := readFile(t, s.Path("throughput"))
			f := sampleFile()
			tt.modify(f)
			err := s.Save(f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Save error = %v, want one containing %q", err, tt.want)
			}
			if got := readFile(t, s.Path("throughput")); !bytes.Equal(got, old) {
				t.Error("a refused Save changed the stored file")
			}
			assertNoTemp(t, s.Dir)
		})
	}
}

func TestSaveReadOnlyDirKeepsOldFile(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Save(sampleFile()); err != nil {
		t.Fatal(err)
	}
	fail := sampleFile()
	fail.Failure = "redis-server exited: status 1"
	if err := s.SaveFailure(fail); err != nil {
		t.Fatal(err)
	}
	old, oldFail := readFile(t, s.Path("throughput")), readFile(t, s.FailurePath("throughput"))

	makeReadOnly(t, s.Dir)
	f := sampleFile()
	f.InputHash = "sha256:changed"
	err := s.Save(f)
	if err == nil {
		t.Fatal("Save into a read-only directory succeeded")
	}
	if !strings.Contains(err.Error(), `cell "throughput"`) {
		t.Errorf("error %q does not name the cell", err)
	}
	if !bytes.Equal(readFile(t, s.Path("throughput")), old) {
		t.Error("failed Save changed the good result")
	}
	if !bytes.Equal(readFile(t, s.FailurePath("throughput")), oldFail) {
		t.Error("failed Save touched the failure file")
	}
	if err := s.SaveFailure(fail); err == nil {
		t.Error("SaveFailure into a read-only directory succeeded")
	}
	assertNoTemp(t, s.Dir)
}

// makeReadOnly makes dir refuse new files until the test ends. Root ignores
// permission bits, so for root the directory is made immutable instead.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	const fsImmutableFL = 0x10 // FS_IMMUTABLE_FL of linux/fs.h
	setFlags := func(set bool) error {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer d.Close()
		flags, err := unix.IoctlGetUint32(int(d.Fd()), unix.FS_IOC_GETFLAGS)
		if err != nil {
			return fmt.Errorf("FS_IOC_GETFLAGS: %w", err)
		}
		if set {
			flags |= fsImmutableFL
		} else {
			flags &^= fsImmutableFL
		}
		if err := unix.IoctlSetPointerInt(int(d.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
			return fmt.Errorf("FS_IOC_SETFLAGS: %w", err)
		}
		return nil
	}
	if err := setFlags(true); err != nil {
		t.Skipf("running as root and the file system of %s cannot make a directory immutable: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := setFlags(false); err != nil {
			t.Errorf("clear immutable flag of %s: %v", dir, err)
		}
	})
}

func TestSaveFailureKeepsGoodResult(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if err := s.Save(sampleFile()); err != nil {
		t.Fatal(err)
	}
	good := readFile(t, s.Path("throughput"))

	fail := sampleFile()
	fail.Failure = "guest linux: not ready after 120s"
	fail.Guests[1].Status = StatusFailed
	fail.Guests[1].Reason = "not ready after 120s"
	if err := s.SaveFailure(fail); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, s.Path("throughput")), good) {
		t.Fatal("SaveFailure changed the good result")
	}
	got, err := s.LoadFailure("throughput")
	if err != nil {
		t.Fatal(err)
	}
	if got.Failure != fail.Failure || got.Guests[1].Status != StatusFailed {
		t.Errorf("loaded failure %q, status %q", got.Failure, got.Guests[1].Status)
	}
	if cells, err := s.Cells(); err != nil || !slices.Equal(cells, []string{"throughput"}) {
		t.Errorf("Cells() = %v, %v; want [throughput]", cells, err)
	}
	if cells, err := s.Failures(); err != nil || !slices.Equal(cells, []string{"throughput"}) {
		t.Errorf("Failures() = %v, %v; want [throughput]", cells, err)
	}

	// A later success makes the failure stale.
	if err := s.Save(sampleFile()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadFailure("throughput"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failure file still there after a good Save: %v", err)
	}

	if err := s.SaveFailure(sampleFile()); err == nil || !strings.Contains(err.Error(), "failure is empty") {
		t.Errorf("SaveFailure without a failure: %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	s := ForNotebook(filepath.Join(t.TempDir(), "x.toml"))
	for name, load := range map[string]func(string) (*File, error){"Load": s.Load, "LoadFailure": s.LoadFailure} {
		_, err := load("throughput")
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of a missing cell: %v, want os.ErrNotExist", name, err)
		}
	}
	if cells, err := s.Cells(); err != nil || cells != nil {
		t.Errorf("Cells() of a missing directory = %v, %v", cells, err)
	}
	if _, err := s.Load("../x"); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of an invalid id: %v", err)
	}
}

func TestLoadCorrupt(t *testing.T) {
	good, err := Encode(sampleFile())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		want string // error after "<path>:"
	}{
		{"truncated", "{\n  \"schema\": 1,\n  \"cell\": \"thr",
			`3:15: unexpected end of JSON input (file truncated?)`},
		{"truncated golden", string(good[:len(good)/2]), `unexpected end of JSON input (file truncated?)`},
		{"trailing comma", "{\n  \"schema\": 1,\n}\n",
			`3:1: invalid character '}' looking for beginning of object key string`},
		{"wrong type", "{\n  \"schema\": 1,\n  \"env\": {\"cores\": \"two\"}\n}\n",
			`3:24: json: cannot unmarshal string into Go struct field`},
		{"non-ASCII before error", "{\"cell\": \"héhé\" x}",
			`1:17: invalid character 'x' after object key:value pair`},
		{"garbage after", "{\"schema\": 1, \"cell\": \"throughput\"}\n}\n",
			`2:1: invalid character '}' after top-level value`},
		{"empty", "", `1:1: unexpected end of JSON input`},
		{"older schema", `{"schema": 0, "cell": "throughput"}`, ` schema 0, this benchbook reads schema 1`},
		{"newer schema", `{"schema": 7, "cell": "throughput"}`, ` written by a newer benchbook (schema 7; this one reads up to 1)`},
		{"other cell", `{"schema": 1, "cell": "latency"}`, `holds cell "latency", not "throughput"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Store{Dir: t.TempDir()}
			path := s.Path("throughput")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load("throughput")
			if err == nil {
				t.Fatal("Load accepted a corrupt file")
			}
			if !strings.HasPrefix(err.Error(), path+":") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant %q", err, path+":"+tt.want)
			}
		})
	}

	var de *DecodeError
	var syn *json.SyntaxError
	_, err = Decode("x.json", []byte("{\n  \"schema\": 1,\n}\n"))
	if !errors.As(err, &de) || de.Pos != (notebook.Pos{Line: 3, Col: 1}) || !errors.As(err, &syn) {
		t.Errorf("Decode error %#v, want a *DecodeError at 3:1 wrapping a *json.SyntaxError", err)
	}
}

func TestForNotebook(t *testing.T) {
	tests := []struct{ in, want string }{
		{"notebooks/x.toml", "notebooks/x.results"},
		{"x.toml", "x.results"},
		{"./a/b/redis-unikernels.toml", "a/b/redis-unikernels.results"},
		{"/abs/n.v2.toml", "/abs/n.v2.results"},
		{"noext", "noext.results"},
	}
	for _, tt := range tests {
		if got := ForNotebook(tt.in).Dir; got != tt.want {
			t.Errorf("ForNotebook(%q).Dir = %q, want %q", tt.in, got, tt.want)
		}
	}
	s := ForNotebook("notebooks/x.toml")
	if got := s.Path("tp"); got != "notebooks/x.results/tp.json" {
		t.Errorf("Path = %q", got)
	}
	if got := s.FailurePath("tp"); got != "notebooks/x.results/tp.failed.json" {
		t.Errorf("FailurePath = %q", got)
	}
}

func TestLogPath(t *testing.T) {
	s := ForNotebook("notebooks/x.toml")
	if got, want := s.LogRel("tp", "osv", 1, 2), "logs/tp.osv.p1.r2.log"; got != want {
		t.Errorf("LogRel = %q, want %q", got, want)
	}
	if got, want := s.LogPath("tp", "osv", 1, 2), "notebooks/x.results/logs/tp.osv.p1.r2.log"; got != want {
		t.Errorf("LogPath = %q, want %q", got, want)
	}
	if got, want := s.LogPath("tp", "../../etc/passwd", 0, 0), "notebooks/x.results/logs/tp.______etc_passwd.p0.r0.log"; got != want {
		t.Errorf("LogPath of a hostile name = %q, want %q", got, want)
	}
	if got := s.LogsDir(); got != "notebooks/x.results/logs" {
		t.Errorf("LogsDir = %q", got)
	}
}

func TestCellsListing(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	for _, cell := range []string{"b", "a", "a-b", "z_9"} {
		f := sampleFile()
		f.Cell = cell
		if err := s.Save(f); err != nil {
			t.Fatal(err)
		}
	}
	f := sampleFile()
	f.Cell, f.Failure = "only-failed", "boom"
	if err := s.SaveFailure(f); err != nil {
		t.Fatal(err)
	}
	// Leftovers of a crashed Save and stray files are not cells.
	for _, name := range []string{".a.json.tmp-123", "notes.txt", "x.y.json"} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "d.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	cells, err := s.Cells()
	if err != nil || !slices.Equal(cells, []string{"a", "a-b", "b", "z_9"}) {
		t.Errorf("Cells() = %v, %v", cells, err)
	}
	failed, err := s.Failures()
	if err != nil || !slices.Equal(failed, []string{"only-failed"}) {
		t.Errorf("Failures() = %v, %v", failed, err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

// A results file's decode error is the positioned error notebooks report
// (one type for tools to read), and keeps its cause.
func TestDecodeErrorIsFileError(t *testing.T) {
	_, err := Decode("x.json", []byte("{\n  \"schema\": \"one\"\n}\n"))
	var fe *notebook.Error
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &fe) || fe.File != "x.json" || fe.Pos.Line != 2 || !errors.As(err, &typ) {
		t.Fatalf("Decode error %#v: want a *notebook.Error at line 2 wrapping a *json.UnmarshalTypeError", err)
	}
	if list := notebook.Errors(err); len(list) != 1 || list[0] != fe {
		t.Errorf("notebook.Errors(%v) = %v, want the error itself", err, list)
	}
}

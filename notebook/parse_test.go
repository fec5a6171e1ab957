package notebook

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// base is a minimal valid notebook that test cases extend.
var base = `title = "t"
[params]
clients = 50
ratio = "1:10"
` + redisProcesses("host") + `[loads.mt]
clients = "{clients}"
`

const benchCell = `
[[cells]]
kind = "bench"
id = "tp"
guests = ["host"]
load = "mt"
`

// checkErrors checks the problems err lists against want, in order: as
// many, each beginning with its want; no want, no error at all. It returns
// the problems.
func checkErrors(t *testing.T, err error, want []string) []*Error {
	t.Helper()
	if len(want) == 0 && err != nil {
		t.Fatalf("unexpected errors:\n%v", err)
	}
	got := Errors(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], w)
		}
	}
	return got
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each a full "line:col: message" fragment, in order
	}{
		{
			name: "valid",
			src:  base + benchCell + "[[cells]]\nkind = \"plot\"\nfrom = \"tp\"\n",
		},
		{
			name: "syntax error keeps parser position",
			src:  "title = \"t\"\nx = [1, 2\n",
			want: []string{"x.toml:2:10: TOML syntax: array is incomplete"},
		},
		{
			name: "syntax error column counts characters",
			src:  "title = \"ünïcödé\" x\n",
			want: []string{"x.toml:1:19: TOML syntax:"},
		},
		{
			name: "syntax error after CRLF lines",
			src:  "title = \"t\"\r\n\r\nx = \r\n",
			want: []string{"x.toml:3:5: TOML syntax:"},
		},
		{
			name: "duplicate key points at the second",
			src:  "title = \"t\"\ntitle = \"u\"\n",
			want: []string{"x.toml:2:1: TOML syntax: key title is already defined"},
		},
		{
			name: "cells written inline are refused",
			src:  "title = \"t\"\ncells = [{kind = \"markdown\", text = \"hi\"}]\n",
			want: []string{"x.toml:2:9: cells must be an array of tables ([[cells]])"},
		},
		{
			name: "unknown top-level key with suggestion",
			src:  "summry = \"s\"\n" + base + benchCell,
			want: []string{`x.toml:1:1: unknown key "summry" at the top level (did you mean "summary"?)`},
		},
		{
			name: "unknown key in guest",
			src:  strings.Replace(base, "kind = \"process\"", "kind = \"process\"\ncomand = []", 1) + benchCell,
			want: []string{`x.toml:7:1: unknown key "comand" for a process guest (did you mean "command"?)`},
		},
		{
			name: "a load inside a guest that cannot run it",
			src:  "title = \"t\"\n[guests.host]\nkind = \"process\"\ncommand = [\"redis-server\", \"--port\", \"{port}\"]\n[loads.f]\ntool = \"fio\"\nat = \"guest\"\n[[cells]]\nkind = \"bench\"\nid = \"io\"\nguests = [\"host\"]\nload = \"f\"\n",
			want: []string{`x.toml:7:6: at = "guest" runs the load inside the guest, but guest "host" (cell io) cannot run it: only a guest with kind = "qemu" or "libvirt" and image = "builtin:linux" can`},
		},
		{
			name: "a load inside a remote libvirt guest",
			src:  "title = \"t\"\n[guests.far]\nkind = \"libvirt\"\nuri = \"qemu+ssh://root@far.example/system\"\nimage = \"builtin:linux\"\nnetwork = \"user\"\nready = \"none\"\n[loads.c]\ntool = \"command\"\ncommand = [\"true\"]\nat = \"guest\"\n[[cells]]\nkind = \"bench\"\nid = \"in\"\nguests = [\"far\"]\nload = \"c\"\n",
		},
		{
			name: "unknown key in cell",
			src:  base + benchCell + "repaet = 3\n",
			want: []string{`x.toml:16:1: unknown key "repaet" for a bench cell (did you mean "repeat"?)`},
		},
		{
			name: "wrong type",
			src:  base + benchCell + "repeat = \"five\"\n",
			want: []string{`x.toml:16:10: repeat must be an integer, or a table { min, max, target, budget }, not a string`},
		},
		{
			name: "missing title",
			src:  strings.Replace(base, `title = "t"`, `summary = "s"`, 1) + benchCell,
			want: []string{`x.toml:1:1: missing title`},
		},
		{
			name: "duplicate id",
			src:  base + benchCell + "[[cells]]\nkind = \"markdown\"\nid = \"tp\"\ntext = \"x\"\n",
			want: []string{`x.toml:18:6: duplicate cell id "tp" (first used by the cell at line 11)`},
		},
		{
			name: "dangling from",
			src:  base + benchCell + "[[cells]]\nkind = \"table\"\nfrom = \"tpp\"\n",
			want: []string{`x.toml:18:8: from = "tpp" names no bench cell (did you mean "tp"?)`},
		},
		{
			name: "unknown guest and load",
			src:  base + "[[cells]]\nkind = \"bench\"\nid = \"b\"\nguests = [\"host\", \"vm\"]\nload = \"lt\"\n",
			want: []string{
				`x.toml:13:19: unknown guest "vm"`,
				`x.toml:14:8: unknown load "lt"`,
			},
		},
		{
			name: "undefined param reference",
			src:  strings.Replace(base, `"{port}"]`, `"{port}", "{maxmem}"]`, 1) + benchCell,
			want: []string{`x.toml:7:48: {maxmem} names no param`},
		},
		{
			name: "param of the wrong type",
			src:  strings.Replace(base, `clients = "{clients}"`, `clients = "{ratio}"`, 1) + benchCell,
			want: []string{`x.toml:9:11: clients = "{ratio}": param ratio is a string, but clients must be an integer`},
		},
		{
			name: "param of the wrong type in an array",
			src:  strings.Replace(base, `"--port", "{port}"]`, `"--port", "{clients}"]`, 1) + benchCell,
			want: []string{`x.toml:7:38: command[2] = "{clients}": param clients is an integer, but command[2] must be a string`},
		},
		{
			name: "bad enum",
			src:  base + "tool = \"memtire\"\n" + benchCell,
			want: []string{`x.toml:10:8: tool = "memtire": want one of "builtin", "redis-benchmark", `},
		},
		{
			name: "bad duration and ratio",
			src:  base + "warmup = \"1 sec\"\nratio = \"1/10\"\n" + benchCell,
			want: []string{`x.toml:10:10: warmup = "1 sec": want a duration`, `x.toml:11:9: ratio "1/10": want SET:GET`},
		},
		{
			name: "sweep over unknown param",
			src:  base + benchCell + "sweep = { clinets = [1, 2] }\n",
			want: []string{`x.toml:16:11: sweep over "clinets", which is not a param (did you mean "clients"?)`},
		},
		{
			name: "line plot without sweep",
			src:  base + benchCell + "[[cells]]\nkind = \"plot\"\nfrom = \"tp\"\nstyle = \"line\"\n",
			want: []string{`x.toml:19:9: a line plot needs a bench cell with a sweep`},
		},
		{
			name: "bench cell without id, guests or load",
			src:  base + "[[cells]]\nkind = \"bench\"\n",
			want: []string{"x.toml:10:1: bench cell needs an id", "x.toml:10:1: bench cell 1 needs guests", "x.toml:10:1: bench cell 1 needs load"},
		},
		{
			name: "cell without kind",
			src:  base + "[[cells]]\ntext = \"x\"\n",
			want: []string{`x.toml:10:1: cell 1 has no kind`},
		},
		{
			name: "no cells",
			src:  base,
			want: []string{`x.toml:1:1: no cells`},
		},
		{
			name: "unknown metric in table",
			src:  base + benchCell + "[[cells]]\nkind = \"table\"\nfrom = \"tp\"\nmetrics = [\"ops_per_sec\", \"latncy_p99\"]\nbaseline = \"hots\"\n",
			want: []string{`x.toml:19:27: unknown metric "latncy_p99" (did you mean "latency_p99"?)`, `x.toml:20:12: baseline "hots" is not a guest of bench cell tp (did you mean "host"?)`},
		},
		{
			name: "every problem at once, sorted by position",
			src:  "title = \"t\"\ntagz = [\"a\"]\n[[cells]]\nkind = \"plot\"\nfrom = \"nope\"\n[[cells]]\nkind = \"markdwn\"\n",
			want: []string{
				`x.toml:2:1: unknown key "tagz"`,
				`x.toml:5:8: from = "nope" names no bench cell`,
				`x.toml:7:8: kind = "markdwn": want one of`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.src))
			checkErrors(t, err, tt.want)
		})
	}
}

func TestParseValues(t *testing.T) {
	src := `title = "Redis"
date = 2014-11-02
authors = ["A", "B"]
tags = ["redis"]
unsafe_html = true
[params]
clients = 8
` + redisProcesses("host") + `[loads.mt]
tool = "builtin"
clients = "{clients}"
test_time = "2s"
[[cells]]
kind = "markdown"
text = """
Hello *world*.
"""
[[cells]]
kind = "bench"
id = "tp"
guests = ["host"]
load = "mt"
repeat = 5
sweep = { clients = [1, 4] }
[[cells]]
kind = "plot"
from = "tp"
style = "line"
`
	nb, err := Parse("notebooks/My Notes.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if nb.Slug != "my-notes" || nb.Date.Format("2006-01-02") != "2014-11-02" || !nb.UnsafeHTML {
		t.Errorf("metadata: slug %q date %v unsafe %v", nb.Slug, nb.Date, nb.UnsafeHTML)
	}
	if md := nb.Cells[0]; md.Text != "Hello *world*.\n" || md.TextPos != (Pos{17, 8}) {
		t.Errorf("markdown cell: %q at %v", md.Text, md.TextPos)
	}
	b := nb.Bench("tp")
	if b == nil || b.Repeat != 5 || len(b.Sweep) != 1 || b.Sweep[0].Param != "clients" {
		t.Fatalf("bench cell: %+v", b)
	}
	if plot := nb.Cells[2]; plot.X != "clients" || plot.Y != "ops_per_sec" {
		t.Errorf("plot defaults: x %q y %q", plot.X, plot.Y)
	}
	load, _, err := nb.LoadValues("mt", nb.ParamValues())
	if err != nil || load.Int("clients") != 8 || load.Duration("test_time").Seconds() != 2 {
		t.Errorf("load: %+v %v", load, err)
	}
	g, err := nb.GuestValues("host", map[string]any{"port": 6390})
	if err != nil || fmt.Sprint(g["command"]) != "[redis-server --port 6390]" {
		t.Errorf("guest: %+v %v", g, err)
	}
}

// TestLocalDates checks that TOML's local dates and times mean the same on
// every machine: UTC, not the machine's zone.
func TestLocalDates(t *testing.T) {
	for lit, want := range map[string]string{
		"2014-11-02":                "2014-11-02T00:00:00Z",
		"2014-11-02T10:30:00":       "2014-11-02T10:30:00Z",
		"2014-11-02 10:30:00.5":     "2014-11-02T10:30:00.5Z",
		"2014-11-02T10:30:00+02:00": "2014-11-02T10:30:00+02:00",
	} {
		src := "title = \"t\"\ndate = " + lit + "\n[[cells]]\nkind = \"markdown\"\ntext = \"x\"\n"
		nb, err := Parse("x.toml", []byte(src))
		if err != nil {
			t.Fatalf("date = %s: %v", lit, err)
		}
		if got := nb.Date.Format(time.RFC3339Nano); got != want {
			t.Errorf("date = %s: got %s, want %s", lit, got, want)
		}
	}
}

func TestOverride(t *testing.T) {
	src := base + "threads = 2.5\nverbose = false\n" + benchCell
	src = strings.Replace(src, "[guests.host]", "threads = 2.5\nverbose = false\n[guests.host]", 1)
	src = strings.Replace(src, "[loads.mt]\nclients = \"{clients}\"\nthreads = 2.5\nverbose = false\n", "[loads.mt]\nclients = \"{clients}\"\n", 1)
	tests := []struct {
		set     string
		wantErr string
		check   func(nb *Notebook) bool
	}{
		{"clients=100", "", func(nb *Notebook) bool { return nb.Params["clients"].Value == int64(100) }},
		{"threads=3", "", func(nb *Notebook) bool { return nb.Params["threads"].Value == 3.0 }},
		{"verbose=true", "", func(nb *Notebook) bool { return nb.Params["verbose"].Value == true }},
		{"ratio=1:1", "", func(nb *Notebook) bool { return nb.Params["ratio"].Value == "1:1" }},
		{"clients=many", `-p clients=many: the param is an integer; "many" is not`, nil},
		{"clinets=3", `has no param "clinets" (did you mean "clients"?)`, nil},
		{"clients", "want key=value", nil},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			nb, err := Parse("x.toml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			err = nb.Override([]string{tt.set})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(nb) {
				t.Fatalf("err %v, params %v", err, nb.ParamValues())
			}
		})
	}
}

func TestInputHash(t *testing.T) {
	hash := func(src string, sets ...string) string {
		t.Helper()
		nb, err := Parse("x.toml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if err := nb.Override(sets); err != nil {
			t.Fatal(err)
		}
		return nb.InputHash(nb.Bench("tp"), nil)
	}
	src := strings.Replace(base, "[guests.host]", "unused = 1\n[guests.host]", 1) + benchCell
	h := hash(src)
	if !strings.HasPrefix(h, "sha256:") || len(h) != 71 {
		t.Fatalf("hash %q", h)
	}
	same := []struct{ name, src string }{
		{"prose changes", src + "[[cells]]\nkind = \"markdown\"\ntext = \"new words\"\n"},
		{"comments and layout", strings.ReplaceAll(src, " = ", "=") + "# comment\n"},
		{"guest description", strings.Replace(src, `kind = "process"`, "kind = \"process\"\ndescription = \"d\"", 1)},
	}
	for _, s := range same {
		if got := hash(s.src); got != h {
			t.Errorf("%s: hash changed", s.name)
		}
	}
	if got := hash(src, "unused=2"); got != h {
		t.Errorf("an unreferenced param changed the hash")
	}
	differ := []struct{ name, src string }{
		{"repeat", src + "repeat = 7\n"},
		{"guest command", strings.Replace(src, `"{port}"]`, `"{port}", "--save", ""]`, 1)},
		{"load", strings.Replace(src, "[loads.mt]", "[loads.mt]\npipeline = 4", 1)},
	}
	for _, d := range differ {
		if got := hash(d.src); got == h {
			t.Errorf("%s: hash unchanged", d.name)
		}
	}
	if got := hash(src, "clients=7"); got == h {
		t.Errorf("a referenced param did not change the hash")
	}
}

func TestResolve(t *testing.T) {
	vars := map[string]any{"n": int64(4), "name": "db", "port": 7000}
	tests := []struct {
		in   any
		want any
	}{
		{"{n}", int64(4)},
		{"x{n}y", "x4y"},
		{"--port={port}", "--port=7000"},
		{"{{n}}", "{n}}"},
		{"{missing}", "{missing}"},
		{[]any{"{name}", "{n}"}, []any{"db", int64(4)}},
	}
	for _, tt := range tests {
		got := Resolve(tt.in, vars)
		if !equalAny(got, tt.want) {
			t.Errorf("Resolve(%v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func equalAny(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if !equalAny(as[i], bs[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestErrorsHelper(t *testing.T) {
	_, err := Parse("x.toml", []byte("title = 1\n[[cells]]\nkind = \"markdown\"\ntext = \"\"\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 || list[0].Pos != (Pos{1, 9}) {
		t.Fatalf("got %v", err)
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"CLSF 2014, day 2": "clsf-2014-day-2",
		"unikernels-redis": "unikernels-redis",
		"--x--":            "x",
		"Ünïcode":          "n-code",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClaims(t *testing.T) {
	src := base + benchCell + `[[cells]]
kind = "check"
from = "tp"
claims = ["host.ops_per_sec > 2 * host.latency_p99", "hots.ops_per_sec > 1", "host.ops > 1", "host.ops_per_sec >> 3", "(host.ops_per_sec + 1 > 2"]
`
	nb, err := Parse("x.toml", []byte(src))
	want := []string{
		`x.toml:19:55: claim "hots.ops_per_sec > 1": guest "hots" is not run by bench cell tp (did you mean "host"?)`,
		`x.toml:19:79: claim "host.ops > 1": unknown metric "ops"`,
		`x.toml:19:113: claim "host.ops_per_sec >> 3": unexpected ">": want a number or GUEST.METRIC`,
		`x.toml:19:142: claim "(host.ops_per_sec + 1 > 2": want ) to close the ( at 1`,
	}
	checkErrors(t, err, want)
	c := nb.Cells[len(nb.Cells)-1]
	if len(c.Claims) != 3 || c.Claims[0].Op != ">" || c.Claims[0].Right.String() != "(2 * host.latency_p99)" {
		t.Errorf("claims %+v", c.Claims)
	}
}

func TestParsePoint(t *testing.T) {
	for in, want := range map[string]string{
		"net=tap":             "[{net tap}]",
		"tap":                 "[{ tap}]",
		"fs=xfs, iodepth=32":  "[{fs xfs} {iodepth 32}]",
		"fs = xfs iodepth=32": "[{fs xfs} {iodepth 32}]",
	} {
		if got := fmt.Sprint(ParsePoint(in)); got != want {
			t.Errorf("ParsePoint(%q) = %s, want %s", in, got, want)
		}
	}
}

// Claims on sweep points: each unknown param or value is reported where
// the reference starts, with the closest one.
func TestClaimPoints(t *testing.T) {
	src := base + `[guests.vm]
kind = "process"
command = ["redis-server", "--port", "{port}"]
[[cells]]
kind = "bench"
id = "sw"
guests = ["host", "vm"]
load = "mt"
sweep = { clients = [1, 4], ratio = ["1:10", "1:1"] }
[[cells]]
kind = "check"
from = "sw"
claims = ["host[clients=4].ops_per_sec > host[clients=1].ops_per_sec", "host[4].ops_per_sec > vm[1:1, clients=1].ops_per_sec", "vm[client=4].ops_per_sec > 1", "vm[clients=5].ops_per_sec > 1", "vm[1:11].ops_per_sec > 1", "host[clients=4,clients=1].ops_per_sec > 1"]
`
	nb, err := Parse("x.toml", []byte(src))
	want := []string{
		`x.toml:22:129: claim "vm[client=4].ops_per_sec > 1": bench cell sw does not sweep "client" (did you mean "clients"?) (it sweeps clients = [1, 4], ratio = [1:10, 1:1])`,
		`x.toml:22:161: claim "vm[clients=5].ops_per_sec > 1": bench cell sw does not sweep clients = "5" (did you mean "1"?); it sweeps clients = [1, 4]`,
		`x.toml:22:194: claim "vm[1:11].ops_per_sec > 1": "1:11" is not a value bench cell sw sweeps (did you mean "1:1"?)`,
		`x.toml:22:222: claim "host[clients=4,clients=1].ops_per_sec > 1": sweep point [clients=4,clients=1] names clients twice`,
	}
	checkErrors(t, err, want)
	pins, msg := ResolvePoint(nb.Bench("sw"), "4")
	if msg != "" || fmt.Sprint(pins) != "map[clients:4]" {
		t.Errorf("ResolvePoint(4) = %v, %q", pins, msg)
	}
	if _, msg := ResolvePoint(nb.Bench("sw"), "x"); !strings.Contains(msg, "not a value") {
		t.Errorf("ResolvePoint(x): %q", msg)
	}
}

func TestParseClaim(t *testing.T) {
	tests := []struct{ in, left, op, right, err string }{
		{in: "osv.ops_per_sec > rumprun.ops_per_sec", left: "osv.ops_per_sec", op: ">", right: "rumprun.ops_per_sec"},
		{in: "host.ops_per_sec>=2*osv.ops_per_sec", left: "host.ops_per_sec", op: ">=", right: "(2 * osv.ops_per_sec)"},
		{in: "osv-libvirt.latency_p99 < (host.latency_p99 + 100) / 2", left: "osv-libvirt.latency_p99", op: "<", right: "((host.latency_p99 + 100) / 2)"},
		{in: "a.ops_per_sec - b.ops_per_sec <= 1e3", left: "(a.ops_per_sec - b.ops_per_sec)", op: "<=", right: "1000"},
		{in: "host.ops_per_sec", err: "want a comparison"},
		{in: "host > 1", err: `"host" is not a number, GUEST.METRIC or GUEST[POINT].METRIC`},
		{in: "linux[tap].ops_per_sec < 0.8 * linux[loopback].ops_per_sec", left: "linux[tap].ops_per_sec", op: "<", right: "(0.8 * linux[loopback].ops_per_sec)"},
		{in: "host[clients=4].ops_per_sec>host[ clients = 1 ].ops_per_sec", left: "host[clients=4].ops_per_sec", op: ">", right: "host[clients = 1].ops_per_sec"},
		{in: "vm[fs=xfs, iodepth=32].sets.latency_p99 < 1", left: "vm[fs=xfs, iodepth=32].sets.latency_p99", op: "<", right: "1"},
		{in: "linux[tap.ops_per_sec > 1", err: "needs its ]"},
		{in: "linux[].ops_per_sec > 1", err: "empty sweep point"},
		{in: "linux[tap]ops_per_sec > 1", err: `"linux[tap]ops_per_sec" is not a number`},
		{in: "linux[tap] > 1", err: `"linux[tap]" is not a number`},
		{in: "", err: "ends too early"},
		{in: "1 < 2 < 3", err: `unexpected "<"`},
	}
	for _, tt := range tests {
		c, err := ParseClaim(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || c.Left.String() != tt.left || c.Op != tt.op || c.Right.String() != tt.right {
			t.Errorf("%q: %v %v", tt.in, c, err)
		}
	}
}

// "up to PARAM = VALUE" ends a claim: a knee.
func TestParseClaimUpTo(t *testing.T) {
	c, err := ParseClaim("host.latency_p99 < 1000 up to rate = 3e4")
	if err != nil || c.Left.String() != "host.latency_p99" || c.Right.String() != "1000" || c.UpTo == nil || *c.UpTo != (UpTo{Param: "rate", Value: 30000, At: 30}) {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := ParseClaim("setup.ops_per_sec > 1"); err != nil || c.UpTo != nil {
		t.Errorf("a guest named setup: %+v %v", c, err)
	}
	for in, want := range map[string]string{
		"host.latency_p99 < 1000 up to":             `want a swept param and a number after "up to", like "up to rate = 30000"; got ""`,
		"host.latency_p99 < 1000 up to rate 30000":  `got "rate 30000"`,
		"host.latency_p99 < 1000 up to rate = fast": `got "rate = fast"`,
		"host.latency_p99 < 1000 up to rate = 1e":   `"1e" after "up to rate =" is not a number`,
		"up to rate = 3":                            "ends too early",
	} {
		if _, err := ParseClaim(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// An "up to" names a numeric swept param, with a point at most its value,
// that no reference pins; each mistake is reported at the param.
func TestClaimUpToChecked(t *testing.T) {
	src := base + `[[cells]]
kind = "bench"
id = "sw"
guests = ["host"]
load = "mt"
sweep = { clients = [1, 4], ratio = ["1:10", "1:1"] }
[[cells]]
kind = "check"
from = "sw"
claims = [
  "host.latency_p99 < 1000 up to clients = 4",
  "host.latency_p99 < 1000 up to client = 4",
  "host.latency_p99 < 1000 up to ratio = 4",
  "host.latency_p99 < 1000 up to clients = 0.5",
  "host[clients=1].latency_p99 < 1000 up to clients = 4",
]
[[cells]]
kind = "check"
from = "tp"
claims = ["host.latency_p99 < 1 up to clients = 4"]
` + benchCell
	_, err := Parse("x.toml", []byte(src))
	want := []string{
		`x.toml:21:34: claim "host.latency_p99 < 1000 up to client = 4": "up to client": bench cell sw does not sweep client (did you mean "clients"?) (it sweeps clients = [1, 4], ratio = [1:10, 1:1])`,
		`x.toml:22:34: claim "host.latency_p99 < 1000 up to ratio = 4": "up to ratio" needs numbers, but bench cell sw sweeps ratio over "1:10"`,
		`x.toml:23:34: claim "host.latency_p99 < 1000 up to clients = 0.5": no point of bench cell sw has clients at most 0.5`,
		`x.toml:24:45: claim "host[clients=1].latency_p99 < 1000 up to clients = 4": host[clients=1].latency_p99 pins clients = 1, which "up to clients = 4" ranges over: drop one`,
		`x.toml:29:39: claim "host.latency_p99 < 1 up to clients = 4": "up to clients = ..." limits the sweep points it is judged at, but bench cell tp has no sweep`,
	}
	checkErrors(t, err, want)
}

// One param switches VM guests between launchers; the input hash follows.
func TestKindFromParam(t *testing.T) {
	src := `title = "t"
[params]
launcher = "qemu"
[guests.vm]
kind = "{launcher}"
image = "builtin:linux-redis"
[loads.l]
clients = 1
[[cells]]
kind = "bench"
id = "b"
guests = ["vm"]
load = "l"
`
	nb, err := Parse("x.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	h := nb.InputHash(nb.Bench("b"), nil)
	if err := nb.Override([]string{"launcher=libvirt"}); err != nil {
		t.Fatal(err)
	}
	g, err := nb.GuestValues("vm", nb.ParamValues())
	if err != nil || g.String("kind") != "libvirt" || nb.InputHash(nb.Bench("b"), nil) == h {
		t.Errorf("kind %q err %v", g.String("kind"), err)
	}
	_, err = Parse("x.toml", []byte(strings.Replace(src, `launcher = "qemu"`, `launcher = "xen"`, 1)))
	if err == nil || !strings.Contains(err.Error(), `x.toml:5:8: kind = "{launcher}": param launcher is "xen"`) {
		t.Errorf("err = %v", err)
	}
}

// TestLinePlotXMetric: x of a line plot is a swept param or a metric of
// the cell (the achieved rate of a sweep over the offered one); anything
// else is an error at x naming both.
func TestLinePlotXMetric(t *testing.T) {
	src := func(x string) []byte {
		return []byte(`title = "Knee"
[params]
rate = 1000
` + redisProcesses("host") + `[loads.paced]
tool = "builtin"
rate = "{rate}"
[[cells]]
kind = "bench"
id = "knee"
guests = ["host"]
load = "paced"
sweep = { rate = [1000, 2000] }
[[cells]]
kind = "plot"
from = "knee"
style = "line"
y = "latency_p99"
x = "` + x + `"
`)
	}
	for _, x := range []string{"rate", "ops_per_sec"} {
		if nb, err := Parse("x.toml", src(x)); err != nil {
			t.Errorf("x = %q: %v", x, err)
		} else if nb.Cells[1].X != x {
			t.Errorf("x = %q: got %q", x, nb.Cells[1].X)
		}
	}
	_, err := Parse("x.toml", src("ops_per_sex"))
	want := `x.toml:21:5: x = "ops_per_sex" is neither swept by bench cell knee (it sweeps rate) nor a metric it produces: unknown metric "ops_per_sex" (did you mean "ops_per_sec"?)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

package render

import (
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/golden"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/results"
)

func TestPlacementText(t *testing.T) {
	tests := []struct {
		p    *results.Placement
		want string
	}{
		{nil, ""},
		{&results.Placement{Mode: "auto", Allowed: "0-1", SUT: "0", Load: "1"}, "auto: system under test on CPU 0, load on CPU 1 (of CPUs 0-1)"},
		{&results.Placement{Mode: "explicit", Allowed: "0-7", SUT: "0-3", Load: "4,6"}, "explicit: system under test on CPUs 0-3, load on CPUs 4,6 (of CPUs 0-7)"},
		{&results.Placement{Mode: "auto", Allowed: "0-1", SUT: "0", Load: "1", Note: "both sides are SMT siblings of one physical core"},
			"auto: system under test on CPU 0, load on CPU 1 (of CPUs 0-1); both sides are SMT siblings of one physical core"},
		{&results.Placement{Mode: "auto", Allowed: "3", Note: "placement: not possible on 1 core"}, "auto: not possible on 1 core"},
		{&results.Placement{Mode: "none", Allowed: "0-1"}, "none: not placed"},
	}
	for _, tt := range tests {
		if got := placementText(tt.p); got != tt.want {
			t.Errorf("placementText(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

var noiseNotebook = `title = "noise"
[params]
clients = 4
` + redisProcesses("host", "vm") + `[loads.quick]
tool = "builtin"
clients = "{clients}"
` + nbtest.BenchCell("tp", "quick", 3, "host", "vm") + `sweep = { clients = [4, 8] }
`

// The appendix of a run that recorded the machine's CPU settings, the
// placement and each repeat's noise: the settings and the plan in the
// machine's table, per guest the ranges of the noise and the repeats run
// while the machine was busy, named with their sweep point.
func TestAppendixNoise(t *testing.T) {
	nb := nbtest.Parse(t, noiseNotebook, nil)
	c := nb.Bench("tp")
	started := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	f := &results.File{
		Notebook: "nb.toml", Cell: "tp", InputHash: nb.InputHash(c, nil), Started: started, Finished: started.Add(time.Minute),
		Env: results.Env{CPUModel: "AMD EPYC", Cores: 2, MemoryBytes: 8 << 30, Kernel: "6.1.0", OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64",
			GoVersion: "go1.26", Benchbook: "test", Virtualization: "kvm",
			CPUGovernor: "unknown", CPUBoost: "unknown", SMT: "not supported",
			Mitigations: "vulnerable: spec_rstack_overflow, spec_store_bypass; mitigated: meltdown, spectre_v1, spectre_v2; not affected: 14",
			Placement:   &results.Placement{Mode: "auto", Allowed: "0-1", SUT: "0", Load: "1"}},
	}
	quiet := func(load float64) *results.RepeatNoise {
		return &results.RepeatNoise{LoadBefore: load, LoadAfter: load + 0.1, OthersPct: 3}
	}
	busy := &results.RepeatNoise{LoadBefore: 2.5, LoadAfter: 3.1, OthersPct: 37, Busy: "others used 37 % of a core"}
	stolen := &results.RepeatNoise{LoadBefore: 1, LoadAfter: 1, OthersPct: 4, StealPct: 8, Busy: "the hypervisor stole 8 % of a core"}
	noise := map[string][][]*results.RepeatNoise{
		"host": {{quiet(0.4), busy, quiet(0.5)}, {quiet(0.6), quiet(0.6), stolen}},
		"vm":   {{quiet(0.4), quiet(0.4), quiet(0.4)}, {quiet(0.4), quiet(0.4), quiet(0.4)}},
	}
	for _, g := range c.Guests {
		gr := results.Guest{Name: g, Kind: "process", Status: results.StatusOK, Facts: map[string]string{"placement": "on CPU 0", "load_placement": "on CPU 1"}}
		for pi, clients := range []int64{4, 8} {
			p := results.Point{Params: map[string]any{"clients": clients}}
			for i, n := range noise[g][pi] {
				p.Repeats = append(p.Repeats, results.Repeat{Index: i, Started: started, Seconds: 2, Metrics: map[string]float64{"ops_per_sec": 1000}, Noise: n})
			}
			gr.Points = append(gr.Points, p)
		}
		f.Guests = append(f.Guests, gr)
	}
	f.Summarize()
	md := renderMarkdown(t, nb, Options{Results: memResults{"tp": f}, Version: "test"})
	i := strings.Index(md, "## Reproducibility")
	if i < 0 {
		t.Fatalf("no appendix:\n%s", md)
	}
	golden.Check(t, "testdata/noise-appendix.md", []byte(md[i:]))
	html := renderHTML(t, nb, Options{Results: memResults{"tp": f}, Version: "test"})
	for _, want := range []string{
		"<tr><th scope=\"row\">placement</th><td>auto: system under test on CPU 0, load on CPU 1 (of CPUs 0-1)</td></tr>",
		"<li>busy: 2 of 6 repeats ran while the machine was busy",
		"repeat 2 at clients=4 (others used 37 % of a core), repeat 3 at clients=8 (the hypervisor stole 8 % of a core)</li>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

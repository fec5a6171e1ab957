package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestMain lets the test binary play the builtin child that runOnce
// re-executes (os.Executable is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCompare runs every tool once at two pipeline depths, memtier skipped
// for want of MEMTIER_BENCHMARK, and checks the table, the ratios to
// redis-benchmark and the goal lines.
func TestCompare(t *testing.T) {
	t.Setenv(memtierEnv, "")
	var out, errOut bytes.Buffer
	args := []string{"-requests", "4000", "-clients", "4", "-repeat", "2", "-pipelines", "1,4", "-tools", "builtin,redis-benchmark,memtier,nosuchtool"}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"4000 requests per run", "median of 2 runs per tool, alternating", "ops ÷rb", "spread is (max - min) / median",
		"skipped: set MEMTIER_BENCHMARK", "unknown load tool \"nosuchtool\"",
		"pipeline 1: builtin ops/s >= 1.0x redis-benchmark's:", "pipeline 4: builtin ops/s >= 1.0x redis-benchmark's:",
		"pipeline 4: builtin vs memtier: not measured", "share this machine's",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// Round 2 runs the tools in the reverse order of round 1.
	log := errOut.String()
	if a, b := strings.Index(log, "round 2 redis-benchmark"), strings.Index(log, "round 2 builtin"); a < 0 || b < 0 || a > b {
		t.Errorf("round 2 is not reversed:\n%s", log)
	}
}

func TestParseInts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1,16", []int{1, 16}, true},
		{"8", []int{8}, true},
		{"1,,2", nil, false},
		{"0", nil, false},
		{"x", nil, false},
	} {
		got, err := parseInts(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

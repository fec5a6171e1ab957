package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCompare runs the comparison once, small, and checks the table has
// every line with a ratio.
func TestCompare(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"-n", "1", "-fio-runtime", "1s", "-wrk-duration", "1s", "-iperf3-duration", "1s", "-runs", "2", "-warmup", "0", "-file-mb", "1"}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{"medians of 1 measurements per side", "fio randread 4k", "wrk GET 1 KiB", "iperf3 TCP", "sha256sum of 1 MiB", "true, wall_ms", "hyperfine -N, mean", "overhead per run"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func filepathDir(gomod string) string { return filepath.Dir(strings.TrimSpace(gomod)) }

// runLogs is the glob of the guest logs of a run in progress of
// dir/nb.toml.
func runLogs(dir string) string {
	return filepath.Join(dir, "nb.results", ".run-*", "logs", "*.log")
}

// waitForGuestLog waits up to 20 s for a guest log (a file matching the
// glob pattern) whose contents satisfy ok, and returns its path and those
// contents; if none does, the test fails saying "failure within 20s".
func waitForGuestLog(t *testing.T, pattern string, ok func(log []byte) bool, failure string) (string, []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		logs, _ := filepath.Glob(pattern)
		for _, l := range logs {
			if data, _ := os.ReadFile(l); ok(data) {
				return l, data
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s within 20s", failure)
	return "", nil
}

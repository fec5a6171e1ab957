package main

import (
	"os"
	"path/filepath"
	"strings"
)

// Tests never read the noise floor of the machine they run on: a developer
// who ran benchbook calibrate would otherwise see other verdicts than CI.
// Only the test binary itself is pointed away: when testscript runs it as
// benchbook (os.Args[0] named so), the script's environment is already its
// own (HOME=/no-home), and a script's env XDG_CACHE_HOME=... must reach it.
func init() {
	if strings.HasPrefix(filepath.Base(os.Args[0]), "benchbook") && !strings.HasSuffix(os.Args[0], ".test") {
		return
	}
	os.Setenv("XDG_CACHE_HOME", filepath.Join(os.TempDir(), "benchbook-tests-have-no-noise-floor"))
}

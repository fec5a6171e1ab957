// Package buildinfo says which benchbook this is, for reports, results and
// `benchbook version`.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// version is set at link time by the Makefile
// (-ldflags "-X github.com/benchbook/benchbook/internal/buildinfo.version=v0.1.0").
var version = ""

var once = sync.OnceValue(func() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
})

// Version returns benchbook's version: the link-time value, the module
// version, or "dev" for a plain build from a checkout.
func Version() string { return once() }

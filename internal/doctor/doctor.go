// Package doctor finds the external programs benchbook can use and says how
// to get the missing ones.
package doctor

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Program is an external program benchbook uses.
type Program struct {
	Name    string   // executable name
	Args    []string // arguments that print its version
	Purpose string
	Get     string // how to install it
	// Required programs make doctor fail when missing; the others only
	// limit what can run.
	Required bool
}

// Programs lists every program, in the order doctor prints them.
var Programs = []Program{
	{Name: "redis-server", Args: []string{"--version"}, Purpose: "process guests (the host row) and the Linux micro-VM image", Get: "apt-get install redis-server (or make setup)", Required: true},
	{Name: "redis-benchmark", Args: []string{"--version"}, Purpose: `tool = "redis-benchmark" loads`, Get: "apt-get install redis-tools (or make setup)"},
	{Name: "memtier_benchmark", Args: []string{"--version"}, Purpose: `tool = "memtier" loads`, Get: "not packaged in Debian 12: build it from github.com/RedisLabs/memtier_benchmark (autoreconf -i && ./configure && make) and put it on PATH"},
	{Name: "qemu-system-x86_64", Args: []string{"--version"}, Purpose: `kind = "qemu" guests`, Get: "apt-get install qemu-system-x86"},
	{Name: "qemu-img", Args: []string{"--version"}, Purpose: "disk overlays for VM guests", Get: "apt-get install qemu-utils"},
	{Name: "libvirtd", Args: []string{"--version"}, Purpose: `kind = "libvirt" guests`, Get: "apt-get install libvirt-daemon-system"},
	{Name: "hugo", Args: []string{"version"}, Purpose: "checking the Hugo export", Get: "apt-get install hugo"},
	{Name: "chromium", Args: []string{"--version"}, Purpose: "browser tests of built sites", Get: "apt-get install chromium"},
}

// Finding is what doctor found about one program.
type Finding struct {
	Program
	Path    string // empty when missing
	Version string
	Err     error
}

var versionRE = regexp.MustCompile(`v?=?(\d+\.\d+(\.\d+)?)`)

// Check looks for every program. Each version query is bounded by timeout.
func Check(ctx context.Context, timeout time.Duration) []Finding {
	out := make([]Finding, 0, len(Programs))
	for _, p := range Programs {
		f := Finding{Program: p}
		path, err := exec.LookPath(p.Name)
		if err != nil {
			f.Err = err
			out = append(out, f)
			continue
		}
		f.Path = path
		cctx, cancel := context.WithTimeout(ctx, timeout)
		b, err := exec.CommandContext(cctx, path, p.Args...).CombinedOutput()
		cancel()
		f.Version = versionOf(string(b))
		if f.Version == "" && err != nil {
			f.Err = err
		}
		out = append(out, f)
	}
	return out
}

// versionOf picks the first version-looking number from a --version text.
func versionOf(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if m := versionRE.FindStringSubmatch(first); m != nil {
		return m[1]
	}
	if m := versionRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

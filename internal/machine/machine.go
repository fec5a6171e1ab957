// Package machine collects the facts of the machine a run happens on
// (CPU, memory, kernel, OS, whether it is itself virtualised) into a
// results.Env. It lives apart from results on purpose: finding whether the
// machine is a VM runs systemd-detect-virt, so collecting needs os/exec,
// and results is read by the renderer, which must never reach os/exec (see
// TestRenderSideImportsNoExec). Only the runner side imports this package.
package machine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/benchbook/benchbook/results"
)

// envTimeout bounds the one external program Collect may run.
const envTimeout = 5 * time.Second

// Collect describes the machine this process runs on, within ctx. It never
// fails: what it cannot find stays empty (or "unknown" for the CPU model
// and the CPU settings of CPUFacts), because a missing fact must not cost
// a benchmark run. Tools is left for the runner to fill.
func Collect(ctx context.Context, benchbookVersion string) results.Env {
	e := results.Env{
		Cores:     runtime.NumCPU(),
		Arch:      runtime.GOARCH,
		GoVersion: runtime.Version(),
		Benchbook: benchbookVersion,
		CPUModel:  "unknown",
		OS:        runtime.GOOS,
	}
	cpuinfo, _ := os.ReadFile("/proc/cpuinfo")
	model, hypervisor := parseCPUInfo(cpuinfo)
	if model != "" {
		e.CPUModel = model
	}
	if meminfo, err := os.ReadFile("/proc/meminfo"); err == nil {
		e.MemoryBytes = parseMemTotal(meminfo)
	}
	if e.MemoryBytes == 0 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			e.MemoryBytes = int64(si.Totalram) * int64(si.Unit)
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		e.Kernel = unix.ByteSliceToString(u.Release[:])
		if m := unix.ByteSliceToString(u.Machine[:]); m != "" {
			e.Arch = m
		}
	}
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		if data, err := os.ReadFile(p); err == nil {
			e.OS = parseOSRelease(data)
			break
		}
	}

	e.CPUGovernor, e.CPUBoost, e.SMT, e.Mitigations = CPUFacts(os.DirFS("/"))

	ctx, cancel := context.WithTimeout(ctx, envTimeout)
	defer cancel()
	if v, err := detectVirt(ctx, "--vm"); err == nil {
		e.Virtualization = v
	} else if hypervisor {
		e.Virtualization = "vm"
	} else {
		e.Virtualization = "none"
	}
	if c, err := detectVirt(ctx, "--container"); err == nil {
		e.Container = c
	} else if fileExists("/.dockerenv") {
		e.Container = "docker"
	} else if fileExists("/run/.containerenv") {
		e.Container = "podman"
	}
	return e
}

// detectVirt asks systemd-detect-virt, which knows far more hypervisors and
// containers than a CPU flag can tell. It prints "none" and exits 1 when
// there is none, which is an answer, not an error.
func detectVirt(ctx context.Context, mode string) (string, error) {
	path, err := exec.LookPath("systemd-detect-virt")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	v := strings.TrimSpace(string(out))
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && v == "none") {
		return "", err
	}
	if v == "" {
		return "", errors.New("systemd-detect-virt printed nothing")
	}
	return v, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// parseCPUInfo returns the CPU model and whether the CPU flags say we run
// under a hypervisor. The model key differs per architecture.
func parseCPUInfo(data []byte) (model string, hypervisor bool) {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, seen := fields[k]; !seen {
			fields[k] = v
		}
	}
	for _, k := range []string{"model name", "Processor", "cpu model", "cpu", "uarch", "Hardware"} {
		if v := fields[k]; v != "" {
			model = v
			break
		}
	}
	hypervisor = slices.Contains(strings.Fields(fields["flags"]), "hypervisor")
	return model, hypervisor
}

// parseMemTotal returns MemTotal of /proc/meminfo in bytes, 0 if absent.
func parseMemTotal(data []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			if len(f) >= 3 && strings.EqualFold(f[2], "kB") {
				n *= 1024
			}
			return n
		}
	}
	return 0
}

// parseOSRelease returns PRETTY_NAME of an os-release file, which the spec
// lets default to "Linux". Values are shell-quoted.
func parseOSRelease(data []byte) string {
	vals := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			vals[k] = unquoteShell(v)
		}
	}
	if v := vals["PRETTY_NAME"]; v != "" {
		return v
	}
	if v := strings.TrimSpace(vals["NAME"] + " " + vals["VERSION"]); v != "" {
		return v
	}
	return "Linux"
}

// unquoteShell undoes the quoting os-release allows: "..." with backslash
// escapes, '...' verbatim, or a bare word.
func unquoteShell(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	return v
}

package machine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestCollect(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Collect reads /proc, which exists on Linux only")
	}
	e := Collect(context.Background(), "v-test")
	if e.CPUModel == "" || e.CPUModel == "unknown" {
		t.Errorf("CPU model %q", e.CPUModel)
	}
	if e.Cores != runtime.NumCPU() {
		t.Errorf("cores %d, want runtime.NumCPU() = %d", e.Cores, runtime.NumCPU())
	}
	if e.MemoryBytes <= 0 {
		t.Errorf("memory %d", e.MemoryBytes)
	}
	if e.Kernel == "" || e.Arch == "" || e.OS == "" {
		t.Errorf("kernel %q, arch %q, os %q: want all set", e.Kernel, e.Arch, e.OS)
	}
	if e.GoVersion != runtime.Version() || e.Benchbook != "v-test" {
		t.Errorf("go %q, benchbook %q", e.GoVersion, e.Benchbook)
	}
	if e.Virtualization == "" {
		t.Error("virtualization empty, want \"none\" or a hypervisor")
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if _, hv := parseCPUInfo(data); hv && e.Virtualization == "none" {
			t.Errorf("CPU has the hypervisor flag but virtualization is %q", e.Virtualization)
		}
	}
	t.Logf("%+v", e)
}

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name, data, model string
		hypervisor        bool
	}{
		{"x86 vm", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu vme hypervisor lahf_lm\n\nprocessor\t: 1\nmodel name\t: other\n",
			"Intel(R) Xeon(R) CPU @ 2.20GHz", true},
		{"x86 metal", "model name\t: AMD EPYC 7713 64-Core Processor\nflags\t\t: fpu vme hypervisorx\n", "AMD EPYC 7713 64-Core Processor", false},
		{"old arm", "Processor\t: ARMv7 Processor rev 4 (v7l)\nHardware\t: BCM2835\n", "ARMv7 Processor rev 4 (v7l)", false},
		{"arm64 board", "processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2711\n", "BCM2711", false},
		{"riscv", "processor\t: 0\nisa\t\t: rv64imafdc\nuarch\t\t: sifive,u74-mc\n", "sifive,u74-mc", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model, hv := parseCPUInfo([]byte(tt.data))
			if model != tt.model || hv != tt.hypervisor {
				t.Errorf("got %q, %v; want %q, %v", model, hv, tt.model, tt.hypervisor)
			}
		})
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		data string
		want int64
	}{
		{"MemTotal:       16314628 kB\nMemFree:         1234 kB\n", 16314628 * 1024},
		{"MemFree: 1 kB\n", 0},
		{"MemTotal: lots kB\n", 0},
	}
	for _, tt := range tests {
		if got := parseMemTotal([]byte(tt.data)); got != tt.want {
			t.Errorf("parseMemTotal(%q) = %d, want %d", tt.data, got, tt.want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct{ data, want string }{
		{"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"# comment\nPRETTY_NAME='Single quoted \\\"raw\\\"'\n", `Single quoted \"raw\"`},
		{"PRETTY_NAME=\"Say \\\"hi\\\" \\\\o/ \\$HOME\"\n", `Say "hi" \o/ $HOME`},
		{"PRETTY_NAME=Bare\n", "Bare"},
		{"NAME=Alpine\nVERSION=3.20\n", "Alpine 3.20"},
		{"ID=x\n", "Linux"},
	}
	for _, tt := range tests {
		if got := parseOSRelease([]byte(tt.data)); got != tt.want {
			t.Errorf("parseOSRelease(%q) = %q, want %q", tt.data, got, tt.want)
		}
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil && strings.Contains(string(data), "PRETTY_NAME") {
		if got := parseOSRelease(data); got == "" || strings.ContainsAny(got, "\"'") {
			t.Errorf("this machine's os-release gives %q", got)
		}
	}
}

// Rendering never starts a process (docs/security.md): not only do the
// render packages not import os/exec, nothing they import does, however
// indirectly. The environment collection lives in this package, not in
// results, for this test to hold.
func TestRenderSideImportsNoExec(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go command to list imports with: %v", err)
		}
	}
	const module = "github.com/benchbook/benchbook/"
	for _, pkg := range []string{"render", "render/site", "render/plot", "results", "notebook"} {
		out, err := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, module+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			importer, imports, _ := strings.Cut(line, ": ")
			if importer != "os/exec" && slices.Contains(strings.Fields(imports), "os/exec") {
				t.Errorf("%s reaches os/exec through %s: rendering must never be able to start a process", pkg, importer)
			}
		}
	}
}

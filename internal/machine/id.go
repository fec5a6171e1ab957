package machine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchbook/benchbook/results"
)

// IDEnv names the variable that sets the machine id outright: a CI matrix,
// whose runners are fresh VMs with a new machine-id each time, names its
// machines by what stays (the runner's label) so their runs line up.
const IDEnv = "BENCHBOOK_MACHINE_ID"

// ID is a stable id of this machine for results that are published: a
// hash of its machine-id (systemd's, or D-Bus's) with the facts of e
// that change figures (CPU model, cores, memory, arch), so a disk moved
// to other hardware is another machine. The host name is never part of
// it. BENCHBOOK_MACHINE_ID, when set to letters, digits, '.', '-' and '_',
// is the id as it is.
func ID(e results.Env) string {
	if v := os.Getenv(IDEnv); validID(v) {
		return v
	}
	return idFrom(systemMachineID(), e)
}

func idFrom(machineID string, e results.Env) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "benchbook machine\n%s\n%s\n%d\n%d\n%s\n", machineID, e.CPUModel, e.Cores, e.MemoryBytes, e.Arch))
	return hex.EncodeToString(sum[:8])
}

func systemMachineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if data, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(data)); id != "" {
				return id
			}
		}
	}
	return ""
}

func validID(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// gitTimeout bounds each git command GitCommit runs.
const gitTimeout = 5 * time.Second

// GitCommit is the commit the repository holding file is at, with
// "+dirty" when file differs from it; "" when file is in no repository,
// git is missing or says nothing within its timeout: a run never fails
// for it.
func GitCommit(ctx context.Context, file string) string {
	dir := filepath.Dir(file)
	out, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(out)
	if status, err := git(ctx, dir, "status", "--porcelain", "--", filepath.Base(file)); err == nil && strings.TrimSpace(status) != "" {
		commit += "+dirty"
	}
	return commit
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	out, err := cmd.Output()
	return string(out), err
}

// Package tmpdir makes temporary folders tagged with the pid of the process
// that owns them, PREFIX-PID-RANDOM, so that a later benchbook can remove
// those whose owner died without cleaning up (SIGKILL, a crash, a power
// cut), and leave alone those of a benchbook still running.
//
// A pid may be reused by an unrelated process after its owner died; its
// folder then waits until that process ends too. Nothing is ever removed
// whose owner might be alive.
package tmpdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// New creates a folder PREFIX-PID-RANDOM in os.TempDir(), PID being this
// process's.
func New(prefix string) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s-%d-", prefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("temporary folder: %w", err)
	}
	return dir, nil
}

// Sweep removes the folders PREFIX-PID-* of os.TempDir() that belong to
// this user and whose PID is not a live process, and returns the paths it
// removed. Folders of other users, of live processes, and names it did not
// make (an older benchbook's PREFIX-RANDOM) are left as they are.
func Sweep(prefix string) ([]string, error) {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("leftover temporary folders: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		pid, ok := Owner(e.Name(), prefix)
		if !ok || !e.IsDir() || Alive(pid) || !mine(e) {
			continue
		}
		path := filepath.Join(os.TempDir(), e.Name())
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", path, err))
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}

// Owner returns the pid a folder named by New for prefix carries.
func Owner(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix+"-")
	if !ok {
		return 0, false
	}
	digits, random, ok := strings.Cut(rest, "-")
	if !ok || random == "" {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// Alive reports whether pid is a process that has not exited: one that
// exists (even as another user's) and is not a zombie, which can no longer
// clean up after itself.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the command, which is in parentheses and may
	// itself hold ")".
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 || i+2 >= len(stat) {
		return true
	}
	return stat[i+2] != 'Z' && stat[i+2] != 'X'
}

func mine(e os.DirEntry) bool {
	info, err := e.Info()
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

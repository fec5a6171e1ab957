package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LockedError says a results folder is in use by a live run.
type LockedError struct {
	Dir    string
	Holder string // "pid 1234", as the holder wrote it; may be empty
}

func (e *LockedError) Error() string {
	who := ""
	if e.Holder != "" {
		who = " (" + e.Holder + ")"
	}
	return fmt.Sprintf("another benchbook run is using %s%s; wait for it to finish or stop it", e.Dir, who)
}

// IsLocked reports whether err says a results folder is in use.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}

// lock takes an exclusive lock on a results folder, so two runs of one
// notebook cannot interleave their writes. The second one refuses at once
// with a *LockedError naming the holder; the kernel drops the lock if the
// holder dies, so a crash never leaves a stale lock behind.
func lock(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, Holder: strings.TrimSpace(string(holder))}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d\n", os.Getpid())
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// stagingPrefix begins the name of the folder where a cell run keeps its
// logs until its outcome is known (see cell.go); the run removes it when
// it ends, but a run killed outright (SIGKILL, a crash) cannot.
const stagingPrefix = ".run-"

// stagingFolders lists the staging folders in the results folder dir.
func stagingFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("results folder: %w", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), stagingPrefix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// removeStaging removes the staging folders of dir and returns those it
// removed. Call it only holding dir's lock: then no live run is using any
// of them, and every one there was left by a run that was killed.
func removeStaging(dir string) ([]string, error) {
	folders, err := stagingFolders(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, p := range folders {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// CleanStaging removes the staging folders that runs killed outright left
// in the results folder dir, and returns those it removed. While a run is
// using dir it removes nothing and returns a *LockedError (see IsLocked):
// it takes dir's lock for as long as it takes, and only when there is
// something to remove, so a results folder without leftovers is not even
// locked.
func CleanStaging(dir string) ([]string, error) {
	if folders, err := stagingFolders(dir); err != nil || len(folders) == 0 {
		return nil, err
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return removeStaging(dir)
}

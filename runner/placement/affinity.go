package placement

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// initial is benchbook's affinity when it started: the CPUs it may use,
// within its cgroup's cpuset. Read before anything of this package pins
// a thread, so a restore always has the mask to go back to.
var initial, initialErr = func() (Set, error) {
	var m unix.CPUSet
	if err := unix.SchedGetaffinity(os.Getpid(), &m); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	return fromMask(&m), nil
}()

// Allowed is the CPUs benchbook may use: its affinity when it started (a
// `taskset` or a cgroup cpuset around it narrows it).
func Allowed() (Set, error) { return slices.Clone(initial), initialErr }

// SetThread sets the affinity of one thread (a tid; 0 is the calling
// thread, which the caller must have locked with runtime.LockOSThread).
func SetThread(tid int, s Set) error {
	if len(s) == 0 {
		return errors.New("affinity: empty cpu set")
	}
	if err := unix.SchedSetaffinity(tid, s.mask()); err != nil {
		return fmt.Errorf("sched_setaffinity %d to %s: %w", tid, s, err)
	}
	return nil
}

// RestoreThread gives a thread back benchbook's initial affinity.
func RestoreThread(tid int) error {
	if len(initial) == 0 {
		return initialErr
	}
	return SetThread(tid, initial)
}

// PinTasks sets the affinity of every thread of process pid. Threads
// that end meanwhile are no error; new ones are caught by going over the
// list until a pass finds none it has not seen.
func PinTasks(pid int, s Set) error {
	seen := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		tids, err := Threads(pid)
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if seen[tid] {
				continue
			}
			seen[tid], fresh = true, fresh+1
			if err := SetThread(tid, s); err != nil && !errors.Is(err, unix.ESRCH) {
				return err
			}
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
}

// pinMu makes pins of benchbook itself take turns: a second load pinning
// the process while one runs would move the first one's threads.
var pinMu sync.Mutex

// PinProcess moves every thread of benchbook to s until restore is
// called, which gives them their initial affinity back. Threads the Go
// runtime starts meanwhile inherit s from the thread that made them, and
// so do the programs benchbook starts (an external load tool and its
// children). One pin holds at a time: a second call waits for the first's
// restore.
func PinProcess(s Set) (restore func(), err error) {
	pinMu.Lock()
	if err := PinTasks(os.Getpid(), s); err != nil {
		PinTasks(os.Getpid(), initial)
		pinMu.Unlock()
		return nil, fmt.Errorf("pin benchbook to %s: %w", s.Describe(), err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			PinTasks(os.Getpid(), initial)
			pinMu.Unlock()
		})
	}, nil
}

// Threads lists the thread ids of process pid.
func Threads(pid int) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return nil, fmt.Errorf("threads of %d: %w", pid, err)
	}
	var out []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

// ThreadCPUs reads the CPUs thread tid of process pid may run on, as the
// kernel shows them (Cpus_allowed_list of /proc/PID/task/TID/status).
func ThreadCPUs(pid, tid int) (Set, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", strconv.Itoa(tid), "status"))
	if err != nil {
		return nil, err
	}
	return AllowedList(data)
}

// AllowedList reads Cpus_allowed_list of a /proc status file.
func AllowedList(status []byte) (Set, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Cpus_allowed_list:"); ok {
			return ParseSet(v)
		}
	}
	return nil, errors.New("no Cpus_allowed_list in the status file")
}

// Package proctest finds processes a test left behind. A test calls
// Adopt once: from then on the kernel re-parents orphans of the test's
// descendants (a redis-server whose wrapping shell died, a guest whose
// benchbook exited) to the test process instead of to init, so "nothing
// left" becomes "no new child of mine is alive", which /proc answers
// exactly. Processes are also found by pid (redis prints its own) and by a
// marker in their command line or environment.
package proctest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var adoptOnce sync.Once

// Adopt makes this process the subreaper of its descendants. It fails the
// test where the kernel cannot do that (not Linux).
func Adopt(tb testing.TB) {
	tb.Helper()
	var err error
	adoptOnce.Do(func() { err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
	if err != nil {
		tb.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
}

// Proc is a live process.
type Proc struct {
	Pid     int
	Command string
}

func (p Proc) String() string { return fmt.Sprintf("pid %d (%s)", p.Pid, p.Command) }

// Children returns the live (not zombie) children of this process, by pid.
func Children() map[int]Proc {
	out := map[int]Proc{}
	me := os.Getpid()
	for _, pid := range pids() {
		ppid, state, ok := stat(pid)
		if ok && ppid == me && state != 'Z' && state != 'X' {
			out[pid] = Proc{Pid: pid, Command: cmdline(pid)}
		}
	}
	return out
}

// Alive reports whether pid is a live process (not a zombie).
func Alive(pid int) bool {
	_, state, ok := stat(pid)
	return ok && state != 'Z' && state != 'X'
}

// Marked returns the live processes whose command line or environment
// holds marker.
func Marked(marker string) []Proc {
	var out []Proc
	m := []byte(marker)
	for _, pid := range pids() {
		if pid == os.Getpid() || !Alive(pid) {
			continue
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(cl, m) || bytes.Contains(env, m) {
			out = append(out, Proc{Pid: pid, Command: cmdline(pid)})
		}
	}
	return out
}

var redisPidRE = regexp.MustCompile(`Redis version=\S+, bits=\d+, commit=\S+, modified=\d+, pid=(\d+)`)

// RedisPids returns the pids redis-server printed at start-up in the files
// under dir (guest logs).
func RedisPids(dir string) []int {
	var out []int
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, m := range redisPidRE.FindAllSubmatch(data, -1) {
			if pid, err := strconv.Atoi(string(m[1])); err == nil {
				out = append(out, pid)
			}
		}
		return nil
	})
	sort.Ints(out)
	return out
}

// Left returns what is alive of: children of this process not in before,
// processes marked with marker, and the given pids. A process just killed
// may take a moment to be gone, so it looks again for up to two seconds.
func Left(before map[int]Proc, marker string, pids ...int) []Proc {
	deadline := time.Now().Add(2 * time.Second)
	for {
		var left []Proc
		seen := map[int]bool{}
		add := func(p Proc) {
			if !seen[p.Pid] {
				seen[p.Pid] = true
				left = append(left, p)
			}
		}
		for pid, p := range Children() {
			if _, ok := before[pid]; !ok {
				add(p)
			}
		}
		if marker != "" {
			for _, p := range Marked(marker) {
				add(p)
			}
		}
		for _, pid := range pids {
			if Alive(pid) {
				add(Proc{Pid: pid, Command: cmdline(pid)})
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			sort.Slice(left, func(i, j int) bool { return left[i].Pid < left[j].Pid })
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NoneLeft fails the test when anything is Left of before, marker and
// pids, and kills what it found.
func NoneLeft(tb testing.TB, before map[int]Proc, marker string, pids ...int) {
	tb.Helper()
	if left := Left(before, marker, pids...); len(left) > 0 {
		Kill(left)
		tb.Errorf("left behind: %v", left)
	}
}

// Kill kills what a failed check found, so one failure does not leak into
// the next tests.
func Kill(procs []Proc) {
	for _, p := range procs {
		syscall.Kill(p.Pid, syscall.SIGKILL)
	}
}

func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// stat reads the parent and state of pid from /proc/PID/stat.
func stat(pid int) (ppid int, state byte, ok bool) {
	_, f, ok := procStat(pid)
	if !ok || len(f) < 2 {
		return 0, 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// procStat reads /proc/PID/stat cut at its second field, the command name
// in parentheses, which may itself hold spaces and ")": that name, and the
// fields after it, from the state on.
func procStat(pid int) (comm string, fields []string, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, false
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", nil, false
	}
	return s[open+1 : closing], strings.Fields(s[closing+1:]), true
}

// Child is a child of this process, alive or a zombie.
type Child struct {
	Pid   int
	Comm  string // its command name as the kernel keeps it: 15 bytes at most
	Start uint64 // when it started, in clock ticks after boot
}

// ListChildren lists the children of this process, zombies included.
func ListChildren() ([]Child, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	me := strconv.Itoa(os.Getpid())
	var out []Child
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// state ppid ... starttime (the 22nd field of the line, the 20th here)
		comm, f, ok := procStat(pid)
		if !ok || len(f) < 20 || f[1] != me {
			continue
		}
		start, _ := strconv.ParseUint(f[19], 10, 64)
		out = append(out, Child{Pid: pid, Comm: comm, Start: start})
	}
	return out, nil
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

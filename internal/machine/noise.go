package machine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/benchbook/benchbook/results"
)

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/PID/stat: 100
// on every Linux (the kernel converts to it whatever its own HZ is).
const clockTicks = 100

// Sample is the machine's CPU accounting at one instant, in ticks.
type Sample struct {
	At    time.Time
	Load1 float64 // the 1-minute load average
	Busy  uint64  // user + nice + system of every CPU (interrupts left out: no process is charged for them)
	Steal uint64  // taken by the hypervisor
	Ours  uint64  // benchbook's process tree and the extra processes, with their reaped children
	Err   error   // what could not be read; a sample with an error judges nothing
}

// TakeSample samples this machine; extra are processes that work for
// benchbook without being its children (a VM libvirtd started).
func TakeSample(extra []int) Sample {
	return takeSample(os.DirFS("/"), os.Getpid(), extra, time.Now())
}

func takeSample(fsys fs.FS, self int, extra []int, at time.Time) Sample {
	s := Sample{At: at}
	stat, err := fs.ReadFile(fsys, "proc/stat")
	if err == nil {
		var t cpuTimes
		t, err = parseProcStat(stat)
		s.Busy, s.Steal = t.user+t.nice+t.system, t.steal
	}
	if err == nil {
		var la []byte
		if la, err = fs.ReadFile(fsys, "proc/loadavg"); err == nil {
			s.Load1, err = parseLoadavg(la)
		}
	}
	if err == nil {
		s.Ours, err = treeTicks(fsys, self, extra)
	}
	s.Err = err
	return s
}

// Between is the noise of the window from a to b: the load averages at
// both ends, what others and the hypervisor took, and why the window
// counts as busy by results' busy rule ("" when it does not).
func Between(a, b Sample) *results.RepeatNoise {
	if a.Err != nil || b.Err != nil || !b.At.After(a.At) {
		return nil
	}
	secs := b.At.Sub(a.At).Seconds()
	busy := ticksBetween(a.Busy, b.Busy)
	ours := ticksBetween(a.Ours, b.Ours)
	others := busy - min(busy, ours) // a tick of rounding can put ours above the total
	steal := ticksBetween(a.Steal, b.Steal)
	n := &results.RepeatNoise{
		LoadBefore: a.Load1,
		LoadAfter:  b.Load1,
		OthersPct:  pctOfCore(others, secs),
		StealPct:   pctOfCore(steal, secs),
	}
	// Benchbook's own are it, its guests, its load tools, and the VMs
	// libvirt runs for it (the extra processes of the samples).
	var why []string
	if others >= results.BusyMinTicks && n.OthersPct >= results.BusyOthersPct {
		why = append(why, fmt.Sprintf("others used %.0f %% of a core", n.OthersPct))
	}
	if steal >= results.BusyMinTicks && n.StealPct >= results.BusyStealPct {
		why = append(why, fmt.Sprintf("the hypervisor stole %.0f %% of a core", n.StealPct))
	}
	n.Busy = strings.Join(why, "; ")
	return n
}

func ticksBetween(a, b uint64) uint64 {
	if b < a {
		return 0
	}
	return b - a
}

// pctOfCore is ticks over secs as a percentage of one core, to 0.1.
func pctOfCore(ticks uint64, secs float64) float64 {
	return math.Round(float64(ticks)/clockTicks/secs*1000) / 10
}

// cpuTimes is the "cpu" line of /proc/stat.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal uint64
}

// parseProcStat reads the first line of /proc/stat, the sum over every
// CPU. Kernels before 2.6.11 have no steal column: it stays 0.
func parseProcStat(data []byte) (cpuTimes, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return cpuTimes{}, errors.New("/proc/stat: no cpu line first")
	}
	var v [8]uint64
	for i := 1; i < len(f) && i <= len(v); i++ {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return cpuTimes{}, fmt.Errorf("/proc/stat: column %d: %w", i, err)
		}
		v[i-1] = n
	}
	return cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}, nil
}

// parseLoadavg reads the 1-minute load average of /proc/loadavg.
func parseLoadavg(data []byte) (float64, error) {
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return 0, errors.New("/proc/loadavg: want three load averages")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/loadavg: %w", err)
	}
	return v, nil
}

// pidStat is what treeTicks needs of /proc/PID/stat.
type pidStat struct {
	pid, ppid int
	ticks     uint64 // utime + stime + cutime + cstime
}

// parsePidStat reads /proc/PID/stat. The command name is in parentheses
// and may hold anything, parentheses and blanks too: the fields start
// after the last ")".
func parsePidStat(data []byte) (pidStat, error) {
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return pidStat{}, errors.New("stat: no (comm)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return pidStat{}, fmt.Errorf("stat: pid: %w", err)
	}
	f := strings.Fields(s[closing+1:])
	// f[0] is the state (field 3); ppid is field 4, utime..cstime 14-17.
	if len(f) < 15 {
		return pidStat{}, fmt.Errorf("stat of %d: %d fields after the name, want 15 or more", pid, len(f))
	}
	st := pidStat{pid: pid}
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return pidStat{}, fmt.Errorf("stat of %d: ppid: %w", pid, err)
	}
	for _, col := range f[11:15] {
		n, err := strconv.ParseInt(col, 10, 64)
		if err != nil {
			return pidStat{}, fmt.Errorf("stat of %d: times: %w", pid, err)
		}
		st.ticks += uint64(max(n, 0))
	}
	return st, nil
}

// treeTicks adds up the CPU time of self, the extra processes and all
// their descendants, each with its reaped children (which is how the time
// of a load tool that already exited is still counted).
func treeTicks(fsys fs.FS, self int, extra []int) (uint64, error) {
	ents, err := fs.ReadDir(fsys, "proc")
	if err != nil {
		return 0, err
	}
	stats := map[int]pidStat{}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := fs.ReadFile(fsys, "proc/"+e.Name()+"/stat")
		if err != nil {
			continue // it ended since the listing
		}
		st, err := parsePidStat(data)
		if err != nil || st.pid != pid {
			continue
		}
		stats[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	if _, ok := stats[self]; !ok {
		return 0, fmt.Errorf("proc/%d/stat: benchbook's own accounting is not readable", self)
	}
	var total uint64
	seen := map[int]bool{}
	queue := append([]int{self}, extra...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		total += stats[pid].ticks
		queue = append(queue, children[pid]...)
	}
	return total, nil
}

// CPUFacts are the machine-wide settings that move figures: the cpufreq
// governor, turbo boost, SMT and the CPU vulnerability mitigations, read
// from sys/devices/system/cpu (and proc/cmdline) of fsys. What a machine
// does not expose (many VMs have no cpufreq) is "unknown".
func CPUFacts(fsys fs.FS) (governor, boost, smt, mitigations string) {
	return cpuGovernor(fsys), cpuBoost(fsys), smtState(fsys), mitigationSummary(fsys)
}

const cpuDir = "sys/devices/system/cpu"

func readTrim(fsys fs.FS, name string) (string, bool) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// Package placement keeps the system under test and the load generator on
// disjoint CPUs. It plans the split from a cell's placement key and the
// CPUs benchbook may use (its own affinity when it started, which also
// reflects a cgroup cpuset), and applies it: to a thread or a whole
// process through sched_setaffinity, to every thread of benchbook while a
// load runs (PinProcess), and to children by forking them from a thread
// that holds the mask, which they inherit.
package placement

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/benchbook/benchbook/internal/numfmt"
)

// Set is a set of CPU numbers, ascending, each once. The zero value is the
// empty set, which means "not placed" wherever a Set is an option.
type Set []int

// ParseSet reads the kernel's list format: "0-3,8,10-11". Blanks around
// the items are allowed; "" is the empty set.
func ParseSet(s string) (Set, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out Set
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := cpuNumber(lo)
		if err != nil {
			return nil, fmt.Errorf("cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = cpuNumber(hi); err != nil {
				return nil, fmt.Errorf("cpu list %q: %w", s, err)
			}
			if b < a {
				return nil, fmt.Errorf("cpu list %q: range %s runs backwards", s, item)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func cpuNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n >= maxCPU {
		return 0, fmt.Errorf("%q is not a CPU number (0 to %d)", s, maxCPU-1)
	}
	return n, nil
}

// maxCPU is the most CPUs a unix.CPUSet holds.
const maxCPU = len(unix.CPUSet{}) * 64

// String is the kernel's list format, ranges collapsed: "0-2,5".
func (s Set) String() string { return numfmt.Ranges(s) }

// Contains reports whether every CPU of sub is in s.
func (s Set) Contains(sub Set) bool {
	for _, c := range sub {
		if _, found := slices.BinarySearch(s, c); !found {
			return false
		}
	}
	return true
}

// Overlaps reports whether s and o share a CPU.
func (s Set) Overlaps(o Set) bool {
	for _, c := range o {
		if _, found := slices.BinarySearch(s, c); found {
			return true
		}
	}
	return false
}

// And is the CPUs s and o share.
func (s Set) And(o Set) Set { return s.Without(s.Without(o)) }

// Without is s less the CPUs of o.
func (s Set) Without(o Set) Set {
	var out Set
	for _, c := range s {
		if _, found := slices.BinarySearch(o, c); !found {
			out = append(out, c)
		}
	}
	return out
}

// Describe names the set for people: "CPU 1", "CPUs 0-3".
func (s Set) Describe() string {
	if len(s) == 1 {
		return "CPU " + s.String()
	}
	return "CPUs " + s.String()
}

func (s Set) mask() *unix.CPUSet {
	var m unix.CPUSet
	for _, c := range s {
		m.Set(c)
	}
	return &m
}

func fromMask(m *unix.CPUSet) Set {
	var out Set
	for c := range maxCPU {
		if m.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

package placement

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Modes of a plan: how the split was decided.
const (
	Auto     = "auto"     // benchbook split the CPUs it may use
	None     = "none"     // nothing is placed: today's behaviour
	Explicit = "explicit" // the notebook named both sides: "sut=0-1,load=2-3"
)

// Plan is which CPUs the system under test (SUT) and the load get. SUT
// and Load are both empty when nothing is placed; Note then says why (for
// auto) or gives a caveat of the split (SMT siblings).
type Plan struct {
	Mode    string
	Allowed Set // the CPUs benchbook may use
	SUT     Set
	Load    Set
	Note    string
}

// Placed reports whether the plan separates anything.
func (p Plan) Placed() bool { return len(p.SUT) > 0 && len(p.Load) > 0 }

// String is the plan in one line for people: "system under test on CPU 0,
// load on CPU 1", or the note of a plan that places nothing.
func (p Plan) String() string {
	if !p.Placed() {
		if p.Note != "" {
			return p.Note
		}
		return "placement: none"
	}
	s := fmt.Sprintf("system under test on %s, load on %s", p.SUT.Describe(), p.Load.Describe())
	if p.Note != "" {
		s += " (" + p.Note + ")"
	}
	return s
}

// Make plans spec on this machine: "auto" (or ""), "none", or both sides
// named, "sut=LIST,load=LIST" in the kernel's list format ("sut=0,load=1",
// "load=0-1,sut=2-3"), within the CPUs benchbook may use.
func Make(spec string) (Plan, error) {
	allowed, err := Allowed()
	if err != nil && spec != None {
		return Plan{Mode: modeOf(spec), Note: "placement: not possible: " + err.Error()}, nil
	}
	return plan(spec, allowed, Cores(os.DirFS("/"), allowed))
}

func modeOf(spec string) string {
	switch spec {
	case "", Auto:
		return Auto
	case None:
		return None
	}
	return Explicit
}

// plan decides spec for a machine whose allowed CPUs form cores (each the
// allowed SMT siblings of one physical core).
func plan(spec string, allowed Set, cores []Set) (Plan, error) {
	p := Plan{Mode: modeOf(spec), Allowed: allowed}
	switch p.Mode {
	case None:
		return p, nil
	case Explicit:
		var err error
		p.SUT, p.Load, err = parseExplicit(spec, allowed)
		return p, err
	}
	switch {
	case len(allowed) == 0:
		p.Note = "placement: not possible: the CPUs benchbook may use are unknown"
	case len(allowed) == 1:
		p.Note = "placement: not possible on 1 core"
	case len(cores) >= 2:
		half := (len(cores) + 1) / 2
		for i, c := range cores {
			if i < half {
				p.SUT = append(p.SUT, c...)
			} else {
				p.Load = append(p.Load, c...)
			}
		}
	default:
		// One physical core with several threads: the sides still get
		// threads of their own, but share the core's caches and units.
		half := (len(allowed) + 1) / 2
		p.SUT, p.Load = allowed[:half], allowed[half:]
		p.Note = "both sides are SMT siblings of one physical core"
	}
	return p, nil
}

// parseExplicit reads "sut=LIST,load=LIST": an item without "=" continues
// the list of the role before it, so "sut=0,2,load=1" gives the system
// under test CPUs 0 and 2.
func parseExplicit(spec string, allowed Set) (sut, load Set, err error) {
	lists := map[string][]string{}
	role := ""
	for _, item := range strings.Split(spec, ",") {
		if k, v, ok := strings.Cut(item, "="); ok {
			role = strings.TrimSpace(k)
			if role != "sut" && role != "load" {
				return nil, nil, fmt.Errorf("placement %q: %q is no side: want sut=CPUS,load=CPUS", spec, role)
			}
			if _, twice := lists[role]; twice {
				return nil, nil, fmt.Errorf("placement %q: %s is named twice", spec, role)
			}
			item = v
		}
		if role == "" {
			return nil, nil, fmt.Errorf("placement %q: want auto, none or sut=CPUS,load=CPUS (like \"sut=0,load=1\")", spec)
		}
		lists[role] = append(lists[role], item)
	}
	sets := map[string]Set{}
	for _, r := range []string{"sut", "load"} {
		s, err := ParseSet(strings.Join(lists[r], ","))
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("placement %q: %s: %w", spec, r, err)
		case len(s) == 0:
			return nil, nil, fmt.Errorf("placement %q: name the CPUs of both sides, sut=CPUS,load=CPUS", spec)
		case !allowed.Contains(s):
			return nil, nil, fmt.Errorf("placement %q: %s %s %s not among the CPUs benchbook may use (%s)", spec, r, s.Without(allowed).Describe(), isAre(s.Without(allowed)), allowed)
		}
		sets[r] = s
	}
	if sets["sut"].Overlaps(sets["load"]) {
		return nil, nil, fmt.Errorf("placement %q: both sides have %s: they must be disjoint", spec, sets["sut"].And(sets["load"]).Describe())
	}
	return sets["sut"], sets["load"], nil
}

func isAre(s Set) string {
	if len(s) == 1 {
		return "is"
	}
	return "are"
}

// Cores groups the allowed CPUs by physical core, in the order of their
// first CPU, from each CPU's thread_siblings_list under
// sys/devices/system/cpu of fsys. A CPU whose topology cannot be read is
// a core of its own.
func Cores(fsys fs.FS, allowed Set) []Set {
	var out []Set
	done := map[int]bool{}
	for _, c := range allowed {
		if done[c] {
			continue
		}
		group := Set{c}
		data, err := fs.ReadFile(fsys, fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", c))
		if err == nil {
			if sib, err := ParseSet(string(data)); err == nil && sib.Contains(Set{c}) {
				group = allowed.And(sib)
			}
		}
		for _, g := range group {
			done[g] = true
		}
		out = append(out, group)
	}
	return out
}

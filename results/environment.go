package results

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// EnvKey names one fact of the environment a run measured with: the
// machine's ("CPU", "kernel"), a load tool's version (by the tool's name),
// or one of a guest's ("redis", "qemu", "image linux-redis", ...).
type EnvKey struct {
	Guest string // "" for the machine and the load tools
	What  string // as messages name it
}

// Environment is what a run's figures depend on beyond the notebook's
// inputs: versions, digests, the CPU model. Comparing a stored run's with
// this machine's now tells whether the figures still describe it
// (environment staleness; see docs/results.md).
type Environment map[EnvKey]string

// Guest facts that are part of the environment, and what they are called
// in messages. A fact "<role>_digest" names the file in "<role>_file".
const (
	FactRedisVersion   = "redis_version"   // the server's, from INFO or redis-server --version
	FactProgram        = "program"         // a process guest's program (base name)
	FactProgramVersion = "program_version" // what the program's --version says, for programs benchbook knows
	FactQemuVersion    = "qemu_version"
	FactImage          = "image"          // the built-in image's name
	FactImageDigest    = "image_digest"   // and its digest
	FactKernelVersion  = "kernel_version" // the built-in image's kernel
)

// FileRoles are the files of a VM guest, beside the notebook, whose digests
// a run records as the facts ROLE_file (the path as the notebook writes it)
// and ROLE_digest ("sha256:" and hex).
var FileRoles = []string{"kernel", "initrd", "disk"}

// Environment returns the facts of f's environment that staleness
// compares. What a file does not record (an older file, a fact of no
// interest) is simply absent: it can make nothing stale.
func (f *File) Environment() Environment {
	env := Environment{}
	set := func(guest, what, v string) {
		if v != "" && what != "" {
			env[EnvKey{guest, what}] = v
		}
	}
	if f.Env.CPUModel != "unknown" {
		set("", "CPU", f.Env.CPUModel)
	}
	set("", "kernel", f.Env.Kernel)
	for tool, v := range f.Env.Tools {
		set("", tool, v)
	}
	for _, g := range f.Guests {
		facts := g.Facts
		set(g.Name, "redis", facts[FactRedisVersion])
		set(g.Name, facts[FactProgram], facts[FactProgramVersion])
		set(g.Name, "qemu", facts[FactQemuVersion])
		if im := facts[FactImage]; im != "" {
			set(g.Name, "image "+im, facts[FactImageDigest])
		}
		set(g.Name, "guest kernel", facts[FactKernelVersion])
		for _, role := range FileRoles {
			if p := facts[role+"_file"]; p != "" {
				set(g.Name, role+" "+p, facts[role+"_digest"])
			}
		}
	}
	return env
}

// EnvDiff is one fact that differs between two environments: Old is the
// stored run's, New this machine's. One diff stands for every guest whose
// fact changed the same way.
type EnvDiff struct {
	What     string
	Old, New string
	Guests   []string // sorted; none for the machine's facts and the load tools
}

// String is "redis 7.0.15 → 7.2.4 (host, linux)"; digests are cut to 12
// hex digits.
func (d EnvDiff) String() string {
	s := d.What + " " + shortDigest(d.Old) + " → " + shortDigest(d.New)
	if len(d.Guests) > 0 {
		s += " (" + strings.Join(d.Guests, ", ") + ")"
	}
	return s
}

func shortDigest(v string) string {
	const keep = len("sha256:") + 12
	if strings.HasPrefix(v, "sha256:") && len(v) > keep {
		return v[:keep]
	}
	return v
}

// JoinEnvDiffs is diffs as one line: "redis 7.0.15 → 7.2.4 (host), kernel ...".
func JoinEnvDiffs(diffs []EnvDiff) string {
	parts := make([]string, len(diffs))
	for i, d := range diffs {
		parts[i] = d.String()
	}
	return strings.Join(parts, ", ")
}

// CompareEnv lists the facts both environments have and that differ. A
// fact only one of them has is not compared: an older file that did not
// record it, or something this machine could not tell, says nothing about
// a change. The machine comes first (CPU, kernel), then the load tools,
// then the guests' facts, each sorted, so the same inputs give the same
// line.
func CompareEnv(old, now Environment) []EnvDiff {
	type change struct {
		machine        bool
		what, old, new string
	}
	byChange := map[change]*EnvDiff{}
	for k, ov := range old {
		nv, ok := now[k]
		if !ok || nv == ov {
			continue
		}
		c := change{k.Guest == "", k.What, ov, nv}
		d := byChange[c]
		if d == nil {
			d = &EnvDiff{What: k.What, Old: ov, New: nv}
			byChange[c] = d
		}
		if k.Guest != "" {
			d.Guests = append(d.Guests, k.Guest)
		}
	}
	diffs := make([]EnvDiff, 0, len(byChange))
	for _, d := range byChange {
		slices.Sort(d.Guests)
		diffs = append(diffs, *d)
	}
	slices.SortFunc(diffs, func(a, b EnvDiff) int {
		return cmp.Or(
			cmp.Compare(diffRank(a), diffRank(b)),
			strings.Compare(a.What, b.What),
			slices.Compare(a.Guests, b.Guests),
			strings.Compare(a.Old, b.Old),
			strings.Compare(a.New, b.New),
		)
	})
	return diffs
}

// diffRank orders the machine first, then load tools, then guests' facts.
func diffRank(d EnvDiff) int {
	switch {
	case len(d.Guests) > 0:
		return 3
	case d.What == "CPU":
		return 0
	case d.What == "kernel":
		return 1
	}
	return 2
}

// Keys returns env's keys sorted, guests' after the machine's.
func (env Environment) Keys() []EnvKey {
	return slices.SortedFunc(maps.Keys(env), func(a, b EnvKey) int {
		return cmp.Or(strings.Compare(a.Guest, b.Guest), strings.Compare(a.What, b.What))
	})
}

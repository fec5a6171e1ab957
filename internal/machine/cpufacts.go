package machine

import (
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/benchbook/benchbook/internal/numfmt"
)

var cpuName = regexp.MustCompile(`^cpu([0-9]+)$`)

// cpuGovernor is the cpufreq governor: one name when every CPU has the
// same ("performance"), else each with its CPUs ("powersave on CPUs 0-3,
// performance on CPUs 4-7"); "unknown" without cpufreq.
func cpuGovernor(fsys fs.FS) string {
	ents, err := fs.ReadDir(fsys, cpuDir)
	if err != nil {
		return "unknown"
	}
	byGov := map[string][]int{}
	known := false
	for _, e := range ents {
		m := cpuName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		g, ok := readTrim(fsys, cpuDir+"/"+e.Name()+"/cpufreq/scaling_governor")
		if !ok || g == "" {
			g = "unknown"
		} else {
			known = true
		}
		byGov[g] = append(byGov[g], n)
	}
	if !known {
		return "unknown"
	}
	if len(byGov) == 1 {
		for g := range byGov {
			return g
		}
	}
	var parts []string
	// In the order of each governor's first CPU.
	govs := slices.SortedFunc(maps.Keys(byGov), func(a, b string) int { return slices.Min(byGov[a]) - slices.Min(byGov[b]) })
	for _, g := range govs {
		parts = append(parts, g+" on "+describeCPUs(byGov[g]))
	}
	return strings.Join(parts, ", ")
}

// describeCPUs is "CPU 3" or "CPUs 0-3,6".
func describeCPUs(cpus []int) string {
	slices.Sort(cpus)
	if len(cpus) == 1 {
		return "CPU " + numfmt.Ranges(cpus)
	}
	return "CPUs " + numfmt.Ranges(cpus)
}

// cpuBoost is "on", "off" or "unknown": acpi-cpufreq's and amd-pstate's
// boost switch, or intel_pstate's no_turbo (the other way round).
func cpuBoost(fsys fs.FS) string {
	onOff := map[string]string{"1": "on", "0": "off"}
	if v, ok := readTrim(fsys, cpuDir+"/cpufreq/boost"); ok && onOff[v] != "" {
		return onOff[v]
	}
	if v, ok := readTrim(fsys, cpuDir+"/intel_pstate/no_turbo"); ok {
		switch v {
		case "0":
			return "on"
		case "1":
			return "off"
		}
	}
	if v, ok := readTrim(fsys, cpuDir+"/cpufreq/policy0/boost"); ok && onOff[v] != "" {
		return onOff[v]
	}
	return "unknown"
}

// smtState is "on" (sibling threads share the cores), "off", "not
// supported" or "unknown".
func smtState(fsys fs.FS) string {
	active, ok := readTrim(fsys, cpuDir+"/smt/active")
	if !ok {
		return "unknown"
	}
	control, _ := readTrim(fsys, cpuDir+"/smt/control")
	switch {
	case active == "1":
		return "on"
	case control == "notsupported" || control == "notimplemented":
		return "not supported"
	case active == "0":
		return "off"
	}
	return "unknown"
}

// mitigationSummary sums up the files of the vulnerabilities folder: the
// vulnerable ones and the mitigated ones by name, the others counted:
// "vulnerable: spec_store_bypass; mitigated: meltdown, spectre_v1,
// spectre_v2; not affected: 15". A kernel booted with mitigations=off
// says so first.
func mitigationSummary(fsys fs.FS) string {
	dir := cpuDir + "/vulnerabilities"
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil || len(ents) == 0 {
		return "unknown"
	}
	classes := map[string][]string{}
	for _, e := range ents {
		v, _ := readTrim(fsys, dir+"/"+e.Name())
		c := "unknown"
		switch {
		case strings.HasPrefix(v, "Not affected"):
			c = "not affected"
		case strings.HasPrefix(v, "Mitigation"):
			c = "mitigated"
		case strings.HasPrefix(v, "Vulnerable"):
			c = "vulnerable"
		}
		classes[c] = append(classes[c], e.Name())
	}
	var parts []string
	if cmdline, ok := readTrim(fsys, "proc/cmdline"); ok && slices.Contains(strings.Fields(cmdline), "mitigations=off") {
		parts = append(parts, "kernel booted with mitigations=off")
	}
	for _, c := range []string{"vulnerable", "mitigated", "unknown"} {
		if names := classes[c]; len(names) > 0 {
			slices.Sort(names)
			parts = append(parts, c+": "+strings.Join(names, ", "))
		}
	}
	if n := len(classes["not affected"]); n > 0 {
		parts = append(parts, fmt.Sprintf("not affected: %d", n))
	}
	return strings.Join(parts, "; ")
}

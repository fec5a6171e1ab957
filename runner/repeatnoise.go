package runner

import (
	"github.com/benchbook/benchbook/internal/machine"
	"github.com/benchbook/benchbook/results"
)

// noiseProbe samples what else the machine does while a load runs.
type noiseProbe struct {
	in     *instance
	before machine.Sample
}

// pidser is a guest with processes that are not benchbook's children (a
// domain's qemu, started by libvirtd), which count as benchbook's own.
type pidser interface{ Pids() []int }

func (in *instance) extraPids() []int {
	if p, ok := in.g.(pidser); ok {
		return p.Pids()
	}
	return nil
}

// sampleNoise takes the sample before a load.
func sampleNoise(in *instance) *noiseProbe {
	return &noiseProbe{in: in, before: machine.TakeSample(in.extraPids())}
}

// stop takes the sample after the load: the repeat's noise, nil when /proc
// could not tell.
func (p *noiseProbe) stop() *results.RepeatNoise {
	return machine.Between(p.before, machine.TakeSample(p.in.extraPids()))
}

// recordNoise stores the noise of the repeat record just stored.
func (cr *cellRun) recordNoise(gi, pi int, n *results.RepeatNoise) {
	reps := cr.file.Guests[gi].Points[pi].Repeats
	if len(reps) > 0 {
		reps[len(reps)-1].Noise = n
	}
}

// busyNote flags a repeat run while the machine was busy, for its
// progress line.
func busyNote(n *results.RepeatNoise) string {
	if n == nil || n.Busy == "" {
		return ""
	}
	return "; BUSY machine: " + n.Busy
}

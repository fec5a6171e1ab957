package results

// RepeatNoise is what could have disturbed one repeat, sampled from /proc
// just before its load started and just after it ended. (The machine's
// noise floor, which calibrate measures, is Noise.)
type RepeatNoise struct {
	LoadBefore float64 `json:"load_before"` // 1-minute load average
	LoadAfter  float64 `json:"load_after"`
	// OthersPct is the CPU time processes other than benchbook's own (it,
	// its guests and load tools, the VMs libvirt ran for it) used during
	// the load, in percent of one core: 37 means "others used 37 % of a
	// core", 150 a core and a half.
	OthersPct float64 `json:"others_pct"`
	// StealPct is the time the hypervisor under this machine took from
	// it during the load, in percent of one core.
	StealPct float64 `json:"steal_pct"`
	// Busy says why the repeat ran while the machine was busy ("others
	// used 37 % of a core"); "" when it did not. The runner judges it by
	// the rule below when it samples, and stores the verdict, so a report
	// shows what the run decided.
	Busy string `json:"busy,omitempty"`
}

// The busy rule: a repeat ran while the machine was busy when, during its
// load, processes other than benchbook's own used at least BusyOthersPct
// percent of one core, or the hypervisor stole at least BusyStealPct
// percent of one core. The kernel counts both in ticks of 10 ms, so a
// load in which they add up to less than BusyMinTicks (50 ms of CPU) is
// too short to judge and never counts as busy.
const (
	BusyOthersPct = 20.0
	BusyStealPct  = 5.0
	BusyMinTicks  = 5
)

// Placement is the plan that kept the system under test and the load
// generator apart: which CPUs each got, of those benchbook could use.
type Placement struct {
	// Mode is "auto", "none" or "explicit" (the notebook named both sides).
	Mode    string `json:"mode"`
	Allowed string `json:"allowed,omitempty"` // the CPUs benchbook could use, "0-3"
	SUT     string `json:"sut,omitempty"`     // the system under test's CPUs; "" when nothing was placed
	Load    string `json:"load,omitempty"`    // the load generator's
	// Note says why nothing was placed ("placement: not possible on 1
	// core") or a caveat of the split.
	Note string `json:"note,omitempty"`
}

// BusyRepeats counts the repeats of every guest and point that ran while
// the machine was busy, and all the repeats that recorded their noise.
func (f *File) BusyRepeats() (busy, sampled int) {
	for _, g := range f.Guests {
		for _, p := range g.Points {
			for _, r := range p.Repeats {
				if r.Noise == nil {
					continue
				}
				sampled++
				if r.Noise.Busy != "" {
					busy++
				}
			}
		}
	}
	return busy, sampled
}

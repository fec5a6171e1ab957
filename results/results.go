// Package results is the store between the runner, which writes what a bench
// cell measured, and the renderer, which reads it. It knows cells by id,
// guests by name, and metrics by what each file declares of them (or, in
// files from before declarations, by the redis catalogue). Of the notebook
// package it uses what both halves share: a check cell's claims, parsed
// there and judged here against the stored figures; the metric declarations
// of the load tools, which files store (Declare); and the file-position
// error (notebook.Error) that its DecodeError is.
//
// For a notebook notebooks/x.toml the results live in notebooks/x.results/:
//
//	<cell>.json         the last good run of a bench cell
//	<cell>.failed.json  the last failed run (same schema, Failure set); it
//	                    never replaces <cell>.json
//	logs/               guest console logs, named by LogPath
//
// Files are indented JSON with a trailing newline and a stable key order, so
// they diff well when committed beside the notebook, and the same File always
// encodes to the same bytes.
package results

import "time"

// SchemaVersion is the version written into every file. Load refuses other
// versions instead of guessing what their fields mean, and Save does not
// overwrite a file of a newer one (ErrNewerSchema): that is a newer
// benchbook's, and this one would lose what it cannot read.
const SchemaVersion = 1

// Guest statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped" // e.g. an optional guest whose image is missing
)

// File is the stored result of one run of one bench cell.
type File struct {
	Schema int `json:"schema"` // SchemaVersion; Save writes it when left zero
	// Notebook is the notebook's path relative to the parent of the results
	// directory, e.g. "x.toml", so a moved folder stays consistent.
	Notebook  string `json:"notebook"`
	Cell      string `json:"cell"`
	InputHash string `json:"input_hash"`
	// Commit is the git commit the notebook's repository was at when the
	// cell ran, empty outside a repository; "+dirty" follows it when the
	// notebook differed from that commit.
	Commit   string    `json:"commit,omitempty"`
	Started  time.Time `json:"started"` // stored in UTC
	Finished time.Time `json:"finished"`
	Env      Env       `json:"env"`
	// NoiseFloor is the part of the machine's noise floor (benchbook
	// calibrate) that the cell's tools have, as it was when the cell ran,
	// so a report rendered anywhere says which differences were noise
	// there; absent when the machine was not calibrated.
	NoiseFloor *Noise `json:"noise_floor,omitempty"`
	// Params are the effective params of the run. Integral numbers load as
	// int64, others as float64, so a loaded value compares equal to the
	// TOML value it came from.
	Params map[string]any `json:"params,omitempty"`
	// Metrics declare the metrics the figures are under: unit, label,
	// better direction (see File.Metric). Files written before benchbook
	// stored them have none, and hold the catalogue's redis metrics. The
	// field is additive: older readers of schema 1 ignore it.
	Metrics []Metric `json:"metrics,omitempty"`
	Guests  []Guest  `json:"guests"`            // in the cell's order
	Failure string   `json:"failure,omitempty"` // set only in <cell>.failed.json
	// Incomplete says which guests the cell needs failed in a run whose
	// other guests were measured: <cell>.json then holds their figures,
	// and each failed guest its failures and Kept. Empty for a good run.
	Incomplete string `json:"incomplete,omitempty"`
}

// Env describes the machine a run came from. The host name is left out on
// purpose: results are published.
type Env struct {
	// Machine is a stable id of the machine (machine.ID: a hash of its
	// machine-id and hardware, never its host name), which keys the runs
	// of many machines merged into one history. Absent in older files.
	Machine     string `json:"machine,omitempty"`
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"` // runtime.NumCPU: what the run could use
	MemoryBytes int64  `json:"memory_bytes"`
	Kernel      string `json:"kernel"` // uname release
	OS          string `json:"os"`     // PRETTY_NAME of os-release
	Arch        string `json:"arch"`   // uname machine
	GoVersion   string `json:"go_version"`
	Benchbook   string `json:"benchbook"`
	// Virtualization says whether this machine is itself a virtual machine:
	// "none", or the hypervisor ("kvm", "vmware", ...; "vm" when only the
	// CPU's hypervisor flag tells). A benchmark of guests inside a guest
	// reads very differently, so the report must be able to say so.
	Virtualization string `json:"virtualization"`
	// Container is the container runtime the run happened in ("docker",
	// "podman", "none"), empty when unknown. Containers change the network
	// path to process guests.
	Container string            `json:"container,omitempty"`
	Tools     map[string]string `json:"tools,omitempty"` // tool name -> version, filled by the runner
	// What moves figures machine-wide, each "unknown" where the machine
	// does not say (many VMs have no cpufreq): the cpufreq governor
	// ("performance", or each with its CPUs), turbo boost ("on", "off"),
	// SMT ("on", "off", "not supported") and the CPU vulnerability
	// mitigations, summed up ("vulnerable: ...; mitigated: ...; not
	// affected: 14"). Absent in files from before benchbook recorded them.
	CPUGovernor string `json:"cpu_governor,omitempty"`
	CPUBoost    string `json:"cpu_boost,omitempty"`
	SMT         string `json:"smt,omitempty"`
	Mitigations string `json:"mitigations,omitempty"`
	// Placement is the cell's plan of CPUs for the systems under test and
	// the load; each guest's facts say how it was applied to it.
	Placement *Placement `json:"placement,omitempty"`
}

// Guest is what one guest of the cell produced.
type Guest struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Status string            `json:"status"` // StatusOK, StatusFailed or StatusSkipped
	Reason string            `json:"reason,omitempty"`
	Facts  map[string]string `json:"facts,omitempty"` // accel, redis_version, qemu_version, network...
	// Commands are the exact command lines run for this guest (the guest
	// itself, the load), shell-quoted so they can be pasted.
	Commands []string `json:"commands,omitempty"`
	// Points has one entry per sweep point, in sweep order; a cell without
	// a sweep has one point without params.
	Points []Point `json:"points"`
	// Failures lists every failed try of a repeat, retried or not.
	Failures []Failure `json:"failures,omitempty"`
	// Kept, on a guest that failed, are its figures from the last run it
	// was measured in, so that a failed run never loses them.
	Kept *Kept `json:"kept,omitempty"`
}

// Point is one combination of sweep params, measured Repeat times.
type Point struct {
	Params  map[string]any     `json:"params,omitempty"` // the sweep values of this point
	Repeats []Repeat           `json:"repeats"`
	Summary map[string]Summary `json:"summary"`        // metric -> summary over the repeats; see Point.Summarize
	Stop    *Stop              `json:"stop,omitempty"` // why an adaptive repeat stopped here
	// Facts are what differs between the guest's points: its network
	// path's net_* facts, where a sweep changes the path (see
	// docs/network.md); absent in files from before.
	Facts map[string]string `json:"facts,omitempty"`
}

// Repeat is one measurement: the raw figures, never rounded.
type Repeat struct {
	Index   int       `json:"index"` // from 0
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	// Metrics are flat, named as the tool declares them: "ops_per_sec",
	// "gets.latency_p99", "read_iops", "boot_ms"...
	Metrics map[string]float64 `json:"metrics"`
	// Percentiles is the latency spectrum of all commands, ascending by P.
	Percentiles []Percentile `json:"percentiles,omitempty"`
	Log         string       `json:"log,omitempty"` // slash path relative to the results directory
	// Noise is what else the machine did during the load (see
	// RepeatNoise); absent in files from before benchbook sampled it.
	Noise *RepeatNoise `json:"noise,omitempty"`
	// Timeline is the repeat second by second, where the load tool records
	// it (the builtin load); absent otherwise and in older files.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Percentile is one point of a latency spectrum: P percent of the requests
// took at most LatencyUs microseconds.
type Percentile struct {
	P         float64 `json:"p"`
	LatencyUs float64 `json:"latency_us"`
}

// Summarize fills the summaries of every point of every guest.
func (f *File) Summarize() {
	for i := range f.Guests {
		for j := range f.Guests[i].Points {
			f.Guests[i].Points[j].Summarize()
		}
	}
}

// Guest returns the guest called name, or nil.
func (f *File) Guest(name string) *Guest {
	for i := range f.Guests {
		if f.Guests[i].Name == name {
			return &f.Guests[i]
		}
	}
	return nil
}

package runner

import (
	"cmp"
	"fmt"

	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/placement"
)

// placed is where one start of a guest runs, and its load: nil for a side
// that is not placed.
type placed struct {
	sut, load placement.Set
	note      string // why a guest of a plan that places is not placed
}

// placement plans the CPUs of guest spec and its load from the cell's
// placement key. The first call of a cell records the plan in its results
// and says it in the progress.
func (cr *cellRun) placement(spec guest.Spec) (placed, error) {
	p, err := placement.Make(cr.cell.Placement())
	if err != nil {
		return placed{}, err
	}
	if cr.file.Env.Placement == nil {
		cr.file.Env.Placement = &results.Placement{Mode: p.Mode, Allowed: p.Allowed.String(), SUT: p.SUT.String(), Load: p.Load.String(), Note: p.Note}
		if p.Mode != placement.None {
			fmt.Fprintf(cr.opt.Progress, "%s: placement %s: %s\n", cr.cell.ID, p.Mode, p)
		}
	}
	return placeGuest(spec, p), nil
}

// placeGuest applies plan p to one guest. A host guest has no system under
// test apart from its load (the machine is measured through it): only a
// plan that names the load's CPUs places it. A remote hypervisor's domain
// runs on another machine, whose CPUs are not this one's.
func placeGuest(spec guest.Spec, p placement.Plan) placed {
	switch {
	case !p.Placed():
		return placed{}
	case spec.Kind == "host" && p.Mode == placement.Explicit:
		return placed{load: p.Load}
	case spec.Kind == "host":
		return placed{note: "not placed: the load is what is measured on this machine (a placement naming load=CPUS places it)"}
	case spec.Kind == "libvirt" && guest.IsRemoteLibvirt(cmp.Or(spec.URI, guest.DefaultLibvirtURI)):
		return placed{note: "not placed: the guest runs on another machine"}
	}
	return placed{sut: p.SUT, load: p.Load}
}

// apply records what the placement did in the instance's facts and makes
// its load run on its CPUs.
func (pl placed) apply(in *instance) {
	in.loadCPUs = pl.load
	if pl.note != "" {
		in.facts["placement"] = pl.note
	}
	if len(pl.load) > 0 {
		in.facts["load_placement"] = "on " + pl.load.Describe()
	}
}

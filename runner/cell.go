package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/machine"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner/guest"
	"github.com/benchbook/benchbook/runner/load"
)

// stopTimeout bounds a guest's teardown, also after an interrupt.
const stopTimeout = 15 * time.Second

// cellRun is one execution of one bench cell.
type cellRun struct {
	*run
	cell      *notebook.Cell
	file      *results.File
	points    []map[string]any
	active    []bool      // per guest: still being measured
	perCell   []bool      // per guest: booted once per sweep point, not per repeat
	kept      []*instance // per guest: the instance kept across repeats
	keptPoint []int
	staging   string        // folder for this run's logs until the outcome is known
	began     time.Time     // when the first round started: an adaptive budget counts from here
	failures  guestFailures // the guests the cell needs that were given up
	// saidInside: the progress said once that a load runs inside its
	// guest rather than on the placement's load CPUs.
	saidInside bool
}

// cell runs one bench cell and stores its results, or its failure next to
// the last good results.
func (r *run) cell(ctx context.Context, c *notebook.Cell, hash string) error {
	rel, err := filepath.Rel(filepath.Dir(r.store.Dir), r.nb.Path)
	if err != nil {
		rel = filepath.Base(r.nb.Path)
	}
	cr := &cellRun{
		run:       r,
		cell:      c,
		points:    sweepPoints(c.Sweep),
		active:    make([]bool, len(c.Guests)),
		perCell:   make([]bool, len(c.Guests)),
		kept:      make([]*instance, len(c.Guests)),
		keptPoint: make([]int, len(c.Guests)),
		file: &results.File{
			Notebook:  filepath.ToSlash(rel),
			Cell:      c.ID,
			InputHash: hash,
			Commit:    machine.GitCommit(ctx, r.nb.Path),
			Started:   time.Now().UTC(),
			Env:       r.environment(ctx),
			Params:    r.nb.ParamValues(),
		},
	}
	cr.staging, err = os.MkdirTemp(r.store.Dir, ".run-"+c.ID+"-")
	if err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	defer os.RemoveAll(cr.staging)

	runErr := cr.execute(ctx)
	if ctx.Err() != nil {
		return ctx.Err() // interrupted: write nothing half-done
	}
	cr.file.Finished = time.Now().UTC()
	cr.recordEnvFacts(ctx)
	cr.file.NoiseFloor = r.opt.Noise.For(slices.Sorted(maps.Keys(cr.file.Env.Tools)))
	cr.file.Summarize()
	// Logs move into place only once their record is stored: logs of a run
	// that could not be saved (a full disk) must not replace those the
	// stored results point to.
	return cr.finish(runErr)
}

// prepare fills the guest entries and finds out which guests can run here at
// all, before anything is started: a missing program fails the cell at once
// (or skips an optional guest) instead of after other guests' repeats.
func (cr *cellRun) prepare(ctx context.Context) error {
	values, _, err := cr.nb.LoadValues(cr.cell.Load, cr.vars(nil, nil))
	if err != nil {
		return err
	}
	tool, err := load.Check(values)
	if err != nil {
		return fmt.Errorf("load %s: %w", cr.cell.Load, err)
	}
	version, err := load.Available(tool)
	if err != nil {
		return fmt.Errorf("load %s: %w", cr.cell.Load, err)
	}
	cr.file.Env.Tools[tool] = version
	cr.file.Metrics = cr.declaredMetrics()

	for gi, name := range cr.cell.Guests {
		spec, err := cr.guestSpec(name, cr.nb.ParamValues())
		if err != nil {
			return err
		}
		// Checked again here: a -p override can change a path the notebook
		// check saw with its default params.
		refs := append([]string{spec.Image, spec.Kernel, spec.Initrd, spec.Disk, spec.DirBase}, spec.Disks...)
		if !strings.Contains(spec.Dir, "{dir}") {
			refs = append(refs, spec.Dir)
		}
		for _, ref := range append(refs, spec.Files...) {
			if err := notebook.CheckFileRef(ref); err != nil {
				return fmt.Errorf("guest %s: %q %w", name, ref, err)
			}
		}
		if err := servesLoad(spec, tool); err != nil {
			return err
		}
		g := results.Guest{Name: name, Kind: spec.Kind, Status: results.StatusOK}
		for _, p := range cr.points {
			g.Points = append(g.Points, results.Point{Params: p})
		}
		cr.file.Guests = append(cr.file.Guests, g)

		why := cr.unavailable(spec)
		if spec.Kind == "qemu" || spec.Kind == "libvirt" {
			why = cr.vmUnavailable(ctx, spec)
		}
		cr.perCell[gi] = spec.Boot == "per-cell"
		switch {
		case why == "":
			cr.active[gi] = true
		case spec.Optional:
			cr.file.Guests[gi].Status = results.StatusSkipped
			cr.file.Guests[gi].Reason = why
			fmt.Fprintf(cr.opt.Progress, "%s: skipping guest %s: %s\n", cr.cell.ID, name, why)
		default:
			return fmt.Errorf("guest %s: %s", name, why)
		}
	}
	return nil
}

// unavailable says why a guest cannot run on this machine, or "".
func (cr *cellRun) unavailable(spec guest.Spec) string {
	switch spec.Kind {
	case "process":
		if len(spec.Command) == 0 {
			return "no command"
		}
		// A program the guest copies into its scratch folder is not there
		// yet.
		if _, err := lookPath(spec.Command[0]); err != nil && !strings.Contains(spec.Command[0], "{dir}") {
			return fmt.Sprintf("%s not found on PATH (install it, or run benchbook doctor)", spec.Command[0])
		}
		return cr.missingBase(spec)
	case "host":
		return cr.missingBase(spec)
	default:
		return fmt.Sprintf("guest kind %q is not available in this version of benchbook", spec.Kind)
	}
}

// missingBase says why the folder scratch folders are made in is not here,
// or "".
func (cr *cellRun) missingBase(spec guest.Spec) string {
	if spec.DirBase == "" {
		return ""
	}
	if fi, err := os.Stat(cr.path(spec.DirBase)); err != nil || !fi.IsDir() {
		return fmt.Sprintf("dir_base %s is not a folder on this machine", cr.path(spec.DirBase))
	}
	return ""
}

// hostLoads are the tools that need no server: the only ones a host
// guest, which serves nothing, can be measured with.
var hostLoads = []string{load.ToolFio, load.ToolSysbench, load.ToolCommand}

// servesLoad refuses a host guest for a tool that loads a server.
func servesLoad(spec guest.Spec, tool string) error {
	if spec.Kind != "host" || slices.Contains(hostLoads, tool) {
		return nil
	}
	return fmt.Errorf("guest %s is the host itself (kind = \"host\"), which serves nothing for the %s tool: use it with %s, or start the server as a process guest", spec.Name, tool, strings.Join(hostLoads, ", "))
}

// guestSpec is guest name's table as the runner starts it, its references
// resolved from vars.
func (cr *cellRun) guestSpec(name string, vars map[string]any) (guest.Spec, error) {
	values, err := cr.nb.GuestValues(name, vars)
	if err != nil {
		return guest.Spec{}, err
	}
	spec, err := guest.DecodeSpec(name, values)
	if err != nil {
		return spec, fmt.Errorf("guest %s: %w", name, err)
	}
	return spec, nil
}

// vars are the values {name} references resolve to for one run.
func (cr *cellRun) vars(point map[string]any, extra map[string]any) map[string]any {
	v := cr.nb.ParamValues()
	for k, x := range point {
		v[k] = x
	}
	for k, x := range extra {
		v[k] = x
	}
	v["cell"] = cr.cell.ID
	return v
}

// once starts guest gi, loads it once and stops it (or, for a guest booted
// once per cell, keeps it for the next repeat): start, measure, record.
func (cr *cellRun) once(ctx context.Context, gi, pi, rep int, label string) (err error) {
	cr.live("%s: starting %s", label, cr.cell.Guests[gi])
	cr.trace("guest-starting")
	in, booted, err := cr.instance(ctx, gi, pi, rep)
	if err != nil {
		return err
	}
	cr.trace("guest-ready")
	defer func() {
		if cr.perCell[gi] && err == nil {
			return // kept for the next repeat of this point
		}
		if serr := cr.release(ctx, gi, in); serr != nil && err == nil {
			err = serr
		}
	}()
	loadStart := time.Now()
	probe := sampleNoise(in)
	m, err := cr.measure(ctx, pi, label, in)
	noise := probe.stop()
	if err != nil {
		return err
	}
	cr.record(gi, pi, rep, in, booted, loadStart, m)
	cr.recordNoise(gi, pi, noise)
	ready := ""
	if booted && in.boots {
		ready = fmt.Sprintf(", ready in %.0f ms", in.bootMs)
	}
	cr.done("%s: %s%s%s", label, cr.headline(m), ready, busyNote(noise))
	return nil
}

// headline is a repeat's figures in a few words for the progress: the
// redis tools' throughput and latencies, as before, or any other tool's
// primary metric in its unit.
func (cr *cellRun) headline(m load.Measurement) string {
	if _, ok := m.Metrics["ops_per_sec"]; ok && m.Totals.Ops > 0 {
		return fmt.Sprintf("%s ops/s, avg %.0f µs, p99 %.0f µs", thousands(m.Totals.OpsPerSec), m.Totals.LatencyAvg, m.Totals.LatencyP99)
	}
	d := notebook.LoadTool(m.Tool)
	if d == nil || d.Primary() == "" {
		return "done"
	}
	name := d.Primary()
	v, ok := m.Metrics[name]
	if !ok {
		return "done"
	}
	unit := cr.file.Metric(name).Unit
	div, scaled := results.Scale(unit, v)
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", name, figure(v/div), scaled))
}

// release stops a guest after its repeat.
func (cr *cellRun) release(ctx context.Context, gi int, in *instance) error {
	cr.kept[gi] = nil
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	err := in.stop(sctx)
	cr.trace("guest-stopped")
	return err
}

// measure runs the cell's load once against a started guest. The tool
// judges its own run: one that did nothing, or met errors, fails.
func (cr *cellRun) measure(ctx context.Context, pi int, label string, in *instance) (load.Measurement, error) {
	values, _, err := cr.nb.LoadValues(cr.cell.Load, cr.vars(cr.points[pi], in.loadVars()))
	if err != nil {
		return load.Measurement{}, err
	}
	target := load.Target{Addr: in.ep.Addr, Netns: in.ep.Netns, Dir: in.ep.Dir, NotebookDir: cr.notebookDir(), CPUs: in.loadCPUs, Progress: func(p load.Progress) {
		phase := "load"
		if p.Warmup {
			phase = "warmup"
		}
		cr.live("%s: %s %s, %s ops/s", label, phase, p.Elapsed.Round(100*time.Millisecond), thousands(p.OpsPerSec))
	}}
	if inGuest, err := loadInGuest(values, in); err != nil {
		return load.Measurement{}, fmt.Errorf("load %s: %w", cr.cell.Load, err)
	} else if inGuest {
		target.Guest, target.Dir, target.CPUs, target.Netns = in.ep.Exec, "", nil, ""
		target.Addr = in.ep.Inside
		in.facts["load_at"] = "guest"
		if len(in.loadCPUs) > 0 {
			// The placement's load CPUs go unused: the load shares the
			// guest's vCPUs with what it measures.
			in.facts["load_placement"] = "inside the guest, on its vCPUs"
			if !cr.saidInside {
				cr.saidInside = true
				fmt.Fprintf(cr.opt.Progress, "%s: the load runs inside the guest, on its vCPUs: the placement's load CPUs (%s) stay idle\n", label, in.loadCPUs.Describe())
			}
		}
	}
	cr.trace("load-started")
	m, err := load.Run(ctx, target, values)
	cr.trace("load-done")
	if err != nil {
		return m, cr.explainLoadError(ctx, in, fmt.Errorf("load %s: %w", cr.cell.Load, err))
	}
	return m, nil
}

// loadInGuest is where the load runs (its at key): inside the guest when
// the guest has the exec port (a builtin:linux VM) and the load's tool can
// run there, unless it says at = "host"; at = "guest" on another guest is
// an error.
func loadInGuest(values notebook.Values, in *instance) (bool, error) {
	at := values.String("at")
	if in.ep.InsideOnly {
		switch {
		case at == "host":
			return false, errors.New(`at = "host" on a guest with network = "loopback", whose only path for a load is inside it: leave at out, or choose another network`)
		case !load.CanRunInside(values):
			return false, fmt.Errorf(`network = "loopback" runs the load inside the guest, which the %s tool cannot do (it runs in benchbook): use tool = "redis-benchmark"`, cmp.Or(values.String("tool"), load.ToolBuiltin))
		}
		return true, nil
	}
	switch {
	case !load.InGuest(values):
		return false, nil
	case in.ep.Exec != nil:
		return true, nil
	case at == "guest":
		return false, errors.New(`at = "guest": this guest cannot run loads inside it; only a VM guest with image = "builtin:linux" (kind = "qemu" or "libvirt") can; give at = "host" to run the load on this machine`)
	}
	return false, nil
}

// explainLoadError says whether the guest is still there after a failed
// load: it exited, its server no longer answers, or the load itself failed.
func (cr *cellRun) explainLoadError(ctx context.Context, in *instance, err error) error {
	g := in.g
	select {
	case <-g.Exited():
		return fmt.Errorf("the guest exited during the load: %w%s", err, g.LogTail())
	default:
	}
	perr := in.ready.Probe(ctx, in.ep)
	switch {
	case perr == nil:
		return err
	case in.ready.IsRedis():
		return fmt.Errorf("%w; the guest's redis no longer answers PING (did it crash?)%s", err, g.LogTail())
	}
	return fmt.Errorf("%w; the guest no longer passes its ready check %q (%v)%s", err, in.ready, perr, g.LogTail())
}

// record stores one repeat's figures, and the guest's commands and facts
// the first time.
func (cr *cellRun) record(gi, pi, rep int, in *instance, booted bool, loadStart time.Time, m load.Measurement) {
	gr := &cr.file.Guests[gi]
	if len(gr.Commands) == 0 {
		if len(in.command) > 0 { // a host guest runs nothing of its own
			gr.Commands = []string{shellQuote(in.command)}
		}
		for _, c := range commandsOf(m) {
			gr.Commands = append(gr.Commands, shellQuote(c))
		}
	}
	if gr.Facts == nil {
		gr.Facts = in.g.Facts()
		for k, v := range in.facts {
			gr.Facts[k] = v
		}
		gr.Facts["load_tool"] = m.Tool + " " + m.ToolVersion
	}
	if gr.Points[pi].Facts == nil {
		gr.Points[pi].Facts = pointFacts(in.g.Facts())
	}
	metrics := maps.Clone(m.Metrics)
	if booted && in.boots {
		metrics["boot_ms"] = in.bootMs
	}
	gr.Points[pi].Repeats = append(gr.Points[pi].Repeats, results.Repeat{
		Index:       rep,
		Started:     loadStart.UTC(),
		Seconds:     m.Duration.Seconds(),
		Metrics:     metrics,
		Percentiles: percentiles(m.Spectrum()),
		Timeline:    timelineOf(m.Timeline),
		Log:         cr.store.LogRel(cr.cell.ID, cr.cell.Guests[gi], pi, rep),
	})
}

// pointFacts are the facts a sweep point may change: the network path's
// (net_*), which a swept network key sets per point.
func pointFacts(facts map[string]string) map[string]string {
	var out map[string]string
	for k, v := range facts {
		if strings.HasPrefix(k, "net_") {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// instance returns guest gi started for this repeat: a new one, or the one
// kept from the previous repeat of this point when it boots once per cell.
func (cr *cellRun) instance(ctx context.Context, gi, pi, rep int) (*instance, bool, error) {
	if in := cr.kept[gi]; in != nil && cr.keptPoint[gi] == pi {
		return in, false, nil
	}
	if in := cr.kept[gi]; in != nil {
		cr.stopKept(ctx, gi)
	}
	name := cr.cell.Guests[gi]
	port, err := guest.FreePort()
	if err != nil {
		return nil, false, err
	}
	vars := cr.vars(cr.points[pi], map[string]any{"port": port, "guest": name})
	spec, err := cr.guestSpec(name, vars)
	if err != nil {
		return nil, false, err
	}
	logPath := filepath.Join(cr.staging, filepath.FromSlash(cr.store.LogRel(cr.cell.ID, name, pi, rep)))
	var in *instance
	switch spec.Kind {
	case "process":
		in, err = cr.startProcess(ctx, spec, port, logPath, vars)
	case "host":
		in, err = cr.startHost(ctx, spec)
	case "qemu":
		in, err = cr.startQemu(ctx, spec, logPath)
	case "libvirt":
		in, err = cr.startLibvirt(ctx, spec, logPath)
	default:
		err = fmt.Errorf("guest kind %q cannot run in this version", spec.Kind)
	}
	if err != nil {
		return nil, false, err
	}
	if cr.perCell[gi] {
		cr.kept[gi], cr.keptPoint[gi] = in, pi
	}
	return in, true, nil
}

// stopKept stops a guest kept across repeats.
func (cr *cellRun) stopKept(ctx context.Context, gi int) {
	if in := cr.kept[gi]; in != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		in.stop(sctx)
		cr.kept[gi] = nil
	}
}

func commandsOf(m load.Measurement) [][]string {
	if len(m.Commands) > 0 {
		return m.Commands
	}
	if len(m.Command) > 0 {
		return [][]string{m.Command}
	}
	return nil
}

func percentiles(ps []load.Percentile) []results.Percentile {
	out := make([]results.Percentile, len(ps))
	for i, p := range ps {
		out[i] = results.Percentile{P: p.P, LatencyUs: p.LatencyUs}
	}
	return out
}

func timelineOf(t *load.Timeline) *results.Timeline {
	if t == nil {
		return nil
	}
	return &results.Timeline{IntervalS: t.Interval.Seconds(), OpsPerSec: t.OpsPerSec, LatencyP99: t.LatencyP99, Metrics: t.Metrics}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

package render

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/benchbook/benchbook/internal/numfmt"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// benchView summarises a bench cell where it stands in the notebook.
type benchView struct {
	runNotes // why repeats stopped, failures (runnotes.go)
	ID       string
	Title    string
	Desc     string
	Setup    string // guests, load, repeats
	Ran      string
	Fresh    bool
	Stale    string
	Env      string // how the environment differs from the notebook's newest run, or ""
	Failure  string // the newest run failed: when and why
	Guests   []benchGuest
	// History links the cell's section of the history page, and Runs
	// says how many runs it shows; empty without a history page.
	History string
	Runs    int
}

type benchGuest struct {
	Name   string
	Status string
	Reason string
	Accel  string
}

func (r *report) benchView(c *notebook.Cell) *benchView {
	bd := r.data(c.ID)
	if bd == nil || (bd.file == nil && bd.failure == nil) {
		return nil
	}
	v := &benchView{ID: c.ID, Title: oneLine(c.Title), Desc: oneLine(c.Description), Fresh: bd.fresh, Stale: bd.stale, Env: bd.envNote}
	v.Setup = r.setupText(c)
	if r.opt.HistoryPage != "" && bd.runs >= 2 {
		v.History, v.Runs = r.opt.HistoryPage+"#cell-"+c.ID, bd.runs
	}
	if bd.file != nil {
		v.Ran = formatWhen(bd.file.Started)
		// Guests that failed or were skipped for the same reason share a line.
		at := map[[2]string]int{}
		for _, g := range bd.file.Guests {
			if g.Status == results.StatusOK {
				continue
			}
			k := [2]string{g.Status, firstLine(g.Reason)}
			if i, ok := at[k]; ok {
				v.Guests[i].Name = v.Guests[i].Name + ", " + g.Name
				continue
			}
			at[k] = len(v.Guests)
			v.Guests = append(v.Guests, benchGuest{Name: g.Name, Status: g.Status, Reason: k[1]})
		}
	}
	if f := bd.failure; f != nil && (bd.file == nil || f.Started.After(bd.file.Started)) {
		v.Failure = fmt.Sprintf("the newest run (%s) failed: %s", formatWhen(f.Started), firstLine(f.Failure))
		if bd.file != nil {
			v.Failure += "; the figures shown are from the last good run"
		}
	}
	v.addRunNotes(bd.file)
	return v
}

// setupText is "4 guests (host, linux, osv, rumprun) × 5 repeats; load mt:
// builtin, 2 threads × 10 clients, …".
func (r *report) setupText(c *notebook.Cell) string {
	parts := []string{fmt.Sprintf("%s (%s) × %s", plural(len(c.Guests), "guest"), strings.Join(c.Guests, ", "), repeatText(c))}
	if v, d, err := r.nb.LoadValues(c.Load, r.nb.ParamValues()); err == nil {
		parts = append(parts, "load "+c.Load+": "+loadText(v, d))
	}
	for _, a := range c.Sweep {
		vals := make([]string, len(a.Values))
		for i, v := range a.Values {
			vals[i] = fmt.Sprint(v)
		}
		parts = append(parts, fmt.Sprintf("sweep %s over %s", a.Param, strings.Join(vals, ", ")))
	}
	return strings.Join(parts, "; ")
}

// loadText describes a load in one line, with the defaults its tool
// declares where the notebook says nothing.
func loadText(v notebook.Values, d *notebook.Decl) string {
	if d.Key("ratio") == nil || d.Key("data_size") == nil {
		return keysText(v, d)
	}
	def := func(key string) string {
		if k := d.Key(key); k != nil {
			return k.Default
		}
		return ""
	}
	or := func(key string) string {
		if s := v.String(key); s != "" {
			return s
		}
		return def(key)
	}
	orInt := func(key string) int {
		if n := v.Int(key); n != 0 {
			return n
		}
		n, _ := strconv.Atoi(def(key))
		return n
	}
	parts := []string{d.Name}
	parts = append(parts, fmt.Sprintf("%s × %s", plural(max(orInt("threads"), 1), "thread"), plural(orInt("clients"), "client")))
	switch {
	case v.Duration("test_time") > 0:
		parts = append(parts, v.Duration("test_time").String()+" per run")
	case v.Int("requests") > 0:
		parts = append(parts, numfmt.Group(int64(v.Int("requests")))+" requests per client")
	}
	parts = append(parts, "SET:GET "+or("ratio"))
	parts = append(parts, fmt.Sprintf("%d-byte values", orInt("data_size")))
	if p := v.Int("pipeline"); p > 1 {
		parts = append(parts, fmt.Sprintf("pipeline %d", p))
	}
	if w := v.Duration("warmup"); w > 0 {
		parts = append(parts, w.String()+" warmup")
	}
	return strings.Join(parts, ", ")
}

// keysText describes the load of a tool other than the redis ones: its
// name and the keys the notebook sets, in the order the tool declares
// them: "fio, rw=randwrite, bs=4k, iodepth=32".
func keysText(v notebook.Values, d *notebook.Decl) string {
	parts := []string{d.Name}
	for _, k := range d.Keys {
		x, ok := v[k.Name]
		if !ok || k.Name == "tool" || k.Name == "description" {
			continue
		}
		if m, isTable := x.(map[string]any); isTable {
			names := slices.Sorted(maps.Keys(m))
			parts = append(parts, k.Name+"="+strings.Join(names, ","))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k.Name, x))
	}
	return strings.Join(parts, ", ")
}

// appendixView is the reproducibility appendix: everything needed to judge
// the figures and to run them again.
type appendixView struct {
	Cells []appendixCell
}

type appendixCell struct {
	ID       string
	State    string // "fresh" or "stale: why"
	Env      string // how the environment differs from the notebook's newest run, or ""
	Fresh    bool
	Ran      string
	Hash     string
	Rerun    string
	Params   string
	Machine  []kv
	Tools    []kv
	Guests   []appendixGuest
	Failure  string
	NoResult bool
}

type appendixGuest struct {
	XML      string // a libvirt domain's XML, shown collapsed
	Name     string
	Kind     string
	Status   string
	Reason   string
	Facts    []kv
	Commands []string
}

type kv struct{ K, V string }

func (r *report) appendix() *appendixView {
	if !r.hasBenchResults() && len(r.bench) == 0 {
		return nil
	}
	a := &appendixView{}
	for _, c := range r.nb.BenchCells() {
		bd := r.bench[c.ID]
		ac := appendixCell{
			ID:    c.ID,
			Hash:  r.nb.InputHash(c, nil),
			Rerun: fmt.Sprintf("benchbook run --only %s %s", c.ID, shellQuote(notebookBase(r.nb))),
			Fresh: bd.fresh,
			Env:   bd.envNote,
		}
		if bd.fresh {
			ac.State = "fresh: the stored results match the notebook"
		} else {
			ac.State = "stale: " + bd.stale
		}
		if f := bd.failure; f != nil {
			ac.Failure = fmt.Sprintf("%s: %s", formatWhen(f.Started), firstLine(f.Failure))
		}
		f := bd.file
		if f == nil {
			ac.NoResult = true
			a.Cells = append(a.Cells, ac)
			continue
		}
		ac.Ran = fmt.Sprintf("%s to %s", formatWhen(f.Started), formatWhen(f.Finished))
		ac.Hash = f.InputHash
		ac.Params = results.PointLabel(f.Params)
		e := f.Env
		ac.Machine = []kv{
			{"CPU", e.CPUModel},
			{"cores", fmt.Sprint(e.Cores)},
			{"memory", formatBytes(e.MemoryBytes)},
			{"kernel", e.Kernel},
			{"OS", e.OS},
			{"architecture", e.Arch},
			{"this machine is virtualized", e.Virtualization},
			{"Go", e.GoVersion},
			{"benchbook", e.Benchbook},
		}
		if e.Container != "" {
			ac.Machine = append(ac.Machine, kv{"container", e.Container})
		}
		ac.Machine = append(ac.Machine, cpuSettings(e)...)
		ac.Tools = sortedKV(e.Tools)
		for _, g := range f.Guests {
			ag := appendixGuest{Name: g.Name, Kind: g.Kind, Status: g.Status, Reason: g.Reason, Commands: g.Commands}
			facts := map[string]string{}
			for k, v := range g.Facts {
				if k == "domain_xml" {
					ag.XML = v
					continue
				}
				facts[k] = v
			}
			ag.Facts = append(netPaths(g, facts), sortedKV(facts)...)
			ag.Facts = append(ag.Facts, failureFacts(g)...)
			if g.Facts["accel"] == "tcg" {
				ag.Facts = append(ag.Facts, kv{"note", accelNote})
			}
			ag.Facts = append(ag.Facts, noiseFacts(g)...)
			ac.Guests = append(ac.Guests, ag)
		}
		a.Cells = append(a.Cells, ac)
	}
	return a
}

// netPaths draw each point's network path as a chain ("load → bridge →
// tap → qemu → virtio-net → guest") with what it was made of, first among
// the guest's facts; the net_* facts they show leave facts.
func netPaths(g results.Guest, facts map[string]string) []kv {
	var out []kv
	for _, p := range g.Points {
		if p.Facts["net_path"] == "" {
			continue
		}
		label := results.PointLabel(p.Params)
		suffix := ""
		if label != "" {
			suffix = " (" + label + ")"
		}
		f := p.Facts
		out = append(out, kv{"network path" + suffix, f["net_path"]},
			kv{"network" + suffix, fmt.Sprintf("backend %s; bridge %s; vhost %s; MTU %s; offloads %s; qemu %s %s",
				f["net_backend"], f["net_bridge"], f["net_vhost"], f["net_mtu"], f["net_offloads"], f["net_netdev"], f["net_device"])})
	}
	if len(out) == 0 && facts["net_path"] != "" {
		out = append(out, kv{"network path", facts["net_path"]})
		delete(facts, "net_path")
		return out
	}
	for k := range facts {
		if strings.HasPrefix(k, "net_") && len(out) > 0 {
			delete(facts, k)
		}
	}
	return out
}

func sortedKV(m map[string]string) []kv {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]kv, len(keys))
	for i, k := range keys {
		out[i] = kv{k, m[k]}
	}
	return out
}

package notebook

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseFile reads and parses a notebook file (see ReadFile). A file that
// cannot be read is an ErrorList of one error naming it, as a syntax error
// is, so a command checking many notebooks reports it and goes on.
func ParseFile(path string) (*Notebook, error) {
	src, err := readFile(path)
	if err != nil {
		return nil, ErrorList{err}
	}
	return Parse(path, src)
}

// Parse parses and validates a notebook. On a TOML syntax error it returns a
// nil notebook and the positioned syntax error. Otherwise it returns the
// notebook even when validation found problems, together with an ErrorList
// of all of them, so tools can still show what they can.
func Parse(path string, src []byte) (*Notebook, error) {
	if err := checkUTF8(path, src); err != nil {
		return nil, ErrorList{err}
	}
	raw, pos, err := decode(src)
	if err != nil {
		return nil, ErrorList{syntaxError(path, src, err)}
	}
	p := &parser{path: path, pos: pos}
	nb := p.notebook(raw)
	nb.pos = p.pos
	return nb, p.errs.Err()
}

func errorf(file string, pos Pos, format string, args ...any) *Error {
	return &Error{File: file, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type parser struct {
	path string
	pos  *positions
	errs ErrorList
}

func (p *parser) errAt(pos Pos, format string, args ...any) {
	if !pos.IsValid() {
		pos = Pos{Line: 1, Col: 1}
	}
	p.errs = append(p.errs, errorf(p.path, pos, format, args...))
}

// errKey reports a problem about the key at path.
func (p *parser) errKey(path []string, format string, args ...any) {
	p.errAt(p.pos.near(path...), format, args...)
}

// errVal reports a problem about the value at path.
func (p *parser) errVal(path []string, format string, args ...any) {
	pos, ok := p.pos.value(path...)
	if !ok {
		pos = p.pos.near(path...)
	}
	p.errAt(pos, format, args...)
}

func (p *parser) notebook(raw map[string]any) *Notebook {
	nb := &Notebook{
		Path:   p.path,
		Params: map[string]*Param{},
		Guests: map[string]*Table{},
		Loads:  map[string]*Table{},
	}
	p.checkKeys(nil, raw, topKeys, "at the top level")

	nb.Title = str(raw["title"])
	switch v, ok := raw["title"]; {
	case !ok:
		p.errAt(Pos{1, 1}, `missing title: add title = "..." at the top of the file`)
	case typeName(v) == "a string" && strings.TrimSpace(nb.Title) == "":
		p.errVal([]string{"title"}, "title is empty")
	}
	if t, ok := raw["date"].(time.Time); ok {
		nb.Date = t
	}
	nb.Authors = strs(raw["authors"])
	nb.Tags = strs(raw["tags"])
	for i, tag := range nb.Tags {
		if strings.TrimSpace(tag) == "" {
			p.errKey([]string{"tags", strconv.Itoa(i)}, "empty tag")
		}
	}
	nb.Summary = str(raw["summary"])
	nb.Draft, _ = raw["draft"].(bool)
	nb.UnsafeHTML, _ = raw["unsafe_html"].(bool)
	nb.Slug = str(raw["slug"])
	if nb.Slug == "" {
		nb.Slug = Slugify(strings.TrimSuffix(filepath.Base(p.path), filepath.Ext(p.path)))
	} else if !slugRE.MatchString(nb.Slug) {
		p.errVal([]string{"slug"}, "slug %q: use lowercase letters, digits and '-' (e.g. %q)", nb.Slug, Slugify(nb.Slug))
	}

	if params, ok := raw["params"].(map[string]any); ok {
		for _, name := range slices.Sorted(maps.Keys(params)) {
			v := params[name]
			switch v.(type) {
			case int64, float64, string, bool:
			default:
				p.errVal([]string{"params", name}, "param %s is %s; params are integers, floats, strings or booleans", name, typeName(v))
				continue
			}
			if !finite(v) {
				p.errVal([]string{"params", name}, "param %s = %v: params must be finite numbers", name, v)
			}
			nb.Params[name] = &Param{Name: name, Value: v, Pos: p.pos.key("params", name)}
		}
	}
	p.tables(nb, raw["guests"], "guests", nb.Guests)
	p.tables(nb, raw["loads"], "loads", nb.Loads)
	for _, name := range slices.Sorted(maps.Keys(nb.Guests)) {
		p.guest(nb, nb.Guests[name])
	}
	for _, name := range slices.Sorted(maps.Keys(nb.Loads)) {
		p.load(nb, nb.Loads[name])
	}

	cells, _ := raw["cells"].([]map[string]any)
	if _, present := raw["cells"]; !present {
		p.errAt(Pos{1, 1}, "no cells: add at least one [[cells]] table (kind = \"markdown\", text = \"...\")")
	}
	for i, c := range cells {
		nb.Cells = append(nb.Cells, p.cell(nb, i, c))
	}
	p.crossCheck(nb)
	p.checkPoints(nb)
	return nb
}

func (p *parser) tables(nb *Notebook, v any, section string, into map[string]*Table) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		path := []string{section, name}
		t, ok := m[name].(map[string]any)
		if !ok {
			p.errVal(path, "%s.%s must be a table ([%s.%s]), not %s", section, name, section, name, typeName(m[name]))
			continue
		}
		if !nameRE.MatchString(name) {
			p.errKey(path, "name %q: use letters, digits, '-' and '_'", name)
		}
		into[name] = &Table{Name: name, Pos: p.pos.key(path...), Values: t}
	}
}

func (p *parser) guest(nb *Notebook, t *Table) {
	path := []string{"guests", t.Name}
	kind, ok := t.Values["kind"].(string)
	// kind = "{launcher}" lets one param switch VM guests between qemu and
	// libvirt; the param's value decides which keys apply.
	if name, isRef := wholeRef(kind); ok && isRef {
		if param, defined := nb.Params[name]; defined {
			v, _ := param.Value.(string)
			if !slices.Contains([]string{"qemu", "libvirt"}, v) {
				p.errVal(append(path, "kind"), "kind = \"{%s}\": param %s is %q; a param may switch a guest between \"qemu\" and \"libvirt\"", name, name, v)
			}
			kind = v
		}
	}
	if !ok {
		if _, present := t.Values["kind"]; !present {
			p.errAt(t.Pos, "guest %s has no kind: add kind = \"process\" (or %s)", t.Name, quoteList(GuestKinds[1:]))
			return
		}
	}
	d := GuestKind(kind)
	if d == nil {
		d = GuestKind("qemu") // the kind key says what is wrong
	}
	switch kind {
	case "process":
		if _, ok := t.Values["command"]; !ok {
			p.errAt(t.Pos, "guest %s: a process guest needs command = [\"program\", \"arg\", ...]", t.Name)
		}
	case "qemu", "libvirt":
		_, img := t.Values["image"]
		_, kern := t.Values["kernel"]
		_, disk := t.Values["disk"]
		raw := str(t.Values["flavor"]) == "raw"
		if !img && !kern && !disk && !raw {
			p.errAt(t.Pos, "guest %s: a %s guest needs image, kernel or disk", t.Name, kind)
		}
	}
	values := p.otherKindsKeys(path, t.Values, d)
	p.checkTable(nb, path, values, d.Keys, fmt.Sprintf("for a %s guest", cmp.Or(kind, "qemu")))
	p.fileRefs(nb, path, t.Values)
}

// otherKindsKeys reports the keys of t that belong to other guest kinds
// than d ("uri applies to libvirt guests only") and returns t without
// them, so they are not also called unknown.
func (p *parser) otherKindsKeys(path []string, t map[string]any, d *Decl) map[string]any {
	out := t
	for _, name := range slices.Sorted(maps.Keys(t)) {
		if d.Key(name) != nil {
			continue
		}
		var owners []string
		for _, other := range guestKinds {
			if other.Key(name) != nil {
				owners = append(owners, other.Name)
			}
		}
		if len(owners) == 0 {
			continue
		}
		if len(out) == len(t) {
			out = maps.Clone(t)
		}
		delete(out, name)
		p.errKey(append(slices.Clone(path), name), "%s applies to %s guests only", name, strings.Join(owners, " and "))
	}
	return out
}

// fileKeys are the guest keys that name files or folders; relative ones are
// resolved in the notebook's folder.
var fileKeys = []string{"dir", "files", "dir_base", "image", "kernel", "initrd", "disk", "disks"}

// fileRefs refuses relative file references that climb out of the
// notebook's folder: a notebook shared as a folder must not reach into the
// rest of the machine by "../". Absolute paths say plainly what they use
// and are allowed. Params are resolved with their defaults; the runner
// checks again with overrides.
func (p *parser) fileRefs(nb *Notebook, path []string, m map[string]any) {
	vars := nb.ParamValues()
	check := func(vp []string, v any) {
		s, ok := v.(string)
		if !ok {
			return
		}
		if err := CheckFileRef(Substitute(s, vars)); err != nil {
			p.errVal(vp, "%s = %q: %v", vp[2], s, err)
		}
	}
	for _, k := range fileKeys {
		kp := append(append([]string{}, path...), k)
		switch v := m[k].(type) {
		case string:
			check(kp, v)
		case []any:
			for i, e := range v {
				check(append(append([]string{}, kp...), strconv.Itoa(i)), e)
			}
		}
	}
}

// CheckFileRef says whether a file reference of a notebook stays inside the
// notebook's folder: an absolute path, a "builtin:" image or a relative path
// that does not climb out with "..".
func CheckFileRef(ref string) error {
	if ref == "" || strings.HasPrefix(ref, "builtin:") || strings.HasPrefix(ref, "/") || filepath.IsAbs(ref) {
		return nil
	}
	clean := path.Clean(strings.ReplaceAll(ref, `\`, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return errors.New(`leaves the notebook's folder: relative paths are resolved in the notebook's folder and may not climb out of it with ".."; move the file below the notebook or give an absolute path`)
	}
	return nil
}

func (p *parser) load(nb *Notebook, t *Table) {
	path := []string{"loads", t.Name}
	d := loadDecl(nb, t.Values)
	if d == nil {
		// The tool is unknown: its key says so; judge the rest as builtin's
		// so one typo does not bury the table in unknown keys.
		d = LoadTool(defaultLoadTool)
	}
	p.checkTable(nb, path, t.Values, d.Keys, "in a load")
}

// loadDecl is the declaration of the tool a load table names (through its
// param's value when tool = "{param}"), or nil when it names none.
func loadDecl(nb *Notebook, values map[string]any) *Decl {
	tool, ok := values["tool"].(string)
	if !ok {
		return LoadTool(defaultLoadTool)
	}
	if name, isRef := wholeRef(tool); isRef {
		if param, defined := nb.Params[name]; defined {
			tool, _ = param.Value.(string)
		}
	}
	return LoadTool(tool)
}

func (p *parser) cell(nb *Notebook, i int, raw map[string]any) *Cell {
	path := []string{"cells", strconv.Itoa(i)}
	c := &Cell{Index: i, Pos: p.pos.near(path...), raw: raw}
	c.Kind, _ = raw["kind"].(string)
	fields, known := cellKeys[c.Kind]
	switch {
	case raw["kind"] == nil:
		p.errAt(c.Pos, "cell %d has no kind: add kind = \"markdown\", \"bench\", \"plot\" or \"table\"", i+1)
		return c
	case !known:
		p.checkKeys(path, map[string]any{"kind": raw["kind"]}, cellCommon, "")
		return c
	}
	p.checkTable(nb, path, raw, fields, "for a "+c.Kind+" cell")
	c.ID = str(raw["id"])
	if c.ID != "" && !nameRE.MatchString(c.ID) {
		p.errVal(append(path, "id"), "id %q: use letters, digits, '-' and '_'", c.ID)
	}
	c.Title = str(raw["title"])
	c.Description = str(raw["description"])
	switch c.Kind {
	case KindMarkdown:
		c.Text = str(raw["text"])
		c.TextPos = p.pos.val(append(path, "text")...)
		if _, ok := raw["text"]; !ok {
			p.errAt(c.Pos, "markdown cell needs text = \"\"\"...\"\"\"")
		}
	case KindBench:
		c.Guests = strs(raw["guests"])
		c.Load = str(raw["load"])
		p.repeat(c, path, raw["repeat"])
		if n, ok := raw["retry"].(int64); ok {
			c.Retry = int(n) // its range is checked with its key
		}
		if c.ID == "" {
			p.errAt(c.Pos, "bench cell needs an id (plots and tables refer to it, results are stored under it)")
		}
		if len(c.Guests) == 0 {
			p.errAt(p.pos.near(append(path, "guests")...), "bench cell %s needs guests = [\"name\", ...]", cmp.Or(c.ID, strconv.Itoa(i+1)))
		}
		if _, ok := raw["load"]; !ok {
			p.errAt(c.Pos, "bench cell %s needs load = \"name\" (a [loads.NAME] table)", cmp.Or(c.ID, strconv.Itoa(i+1)))
		}
		c.Sweep = p.sweep(nb, path, raw["sweep"])
	case KindPlot:
		c.From = str(raw["from"])
		c.Y = str(raw["y"]) // by default the bench cell's primary metric (metricDefaults)
		c.X = str(raw["x"])
		c.Style = cmp.Or(str(raw["style"]), "bar")
		c.Caption = str(raw["caption"])
		c.Group, _ = raw["group"].(bool)
		c.ErrorBar = cmp.Or(str(raw["error"]), "minmax")
		c.Guests = strs(raw["guests"])
		c.Alt = str(raw["alt"])
	case KindTable:
		c.From = str(raw["from"])
		c.Metrics = strs(raw["metrics"]) // by default the bench cell's (metricDefaults)
		c.Baseline = str(raw["baseline"])
		c.Caption = str(raw["caption"])
	}
	if c.Kind == KindCheck {
		c.From = str(raw["from"])
		c.Mode = cmp.Or(str(raw["mode"]), ModeAssert) // its values are checked with its key
		for j, text := range strs(raw["claims"]) {
			cl, err := ParseClaim(text)
			if err != nil {
				pos := p.pos.val(append(path, "claims", strconv.Itoa(j))...)
				if ce, ok := err.(*ClaimError); ok && pos.IsValid() {
					pos.Col += 1 + ce.Offset // past the opening quote
				}
				p.errAt(pos, "claim %q: %v", text, err)
				continue
			}
			c.Claims = append(c.Claims, cl)
		}
		if len(strs(raw["claims"])) == 0 {
			p.errAt(c.Pos, "check cell needs claims = [\"guest.metric > other.metric\", ...]")
		}
	}
	if (c.Kind == KindPlot || c.Kind == KindTable || c.Kind == KindCheck) && raw["from"] == nil {
		p.errAt(c.Pos, "%s cell needs from = \"ID\" naming the bench cell it shows", c.Kind)
	}
	return c
}

func (p *parser) sweep(nb *Notebook, cellPath []string, v any) []SweepAxis {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	var axes []SweepAxis
	for _, name := range slices.Sorted(maps.Keys(m)) {
		path := append(append([]string{}, cellPath...), "sweep", name)
		vals, ok := m[name].([]any)
		if !ok || len(vals) == 0 {
			p.errVal(path, "sweep %s: want a non-empty array of values, e.g. %s = [1, 8, 32]", name, name)
			continue
		}
		param, ok := nb.Params[name]
		if !ok {
			p.errKey(path, "sweep over %q, which is not a param%s; declare it under [params] with its default", name, didYouMean(name, nb.ParamNames()))
			continue
		}
		for j, val := range vals {
			if !sameType(param.Value, val) {
				p.errVal(append(path, strconv.Itoa(j)), "sweep %s: value is %s but param %s is %s", name, typeName(val), name, typeName(param.Value))
			} else if !finite(val) {
				p.errVal(append(path, strconv.Itoa(j)), "sweep %s: %v is not a finite number", name, val)
			}
		}
		axes = append(axes, SweepAxis{Param: name, Values: vals})
	}
	return axes
}

// crossCheck validates references between cells, guests and loads.
func (p *parser) crossCheck(nb *Notebook) {
	ids := map[string]*Cell{}
	for _, c := range nb.Cells {
		if c.ID == "" {
			continue
		}
		if prev, dup := ids[c.ID]; dup {
			p.errVal([]string{"cells", strconv.Itoa(c.Index), "id"}, "duplicate cell id %q (first used by the cell at line %d)", c.ID, prev.Pos.Line)
			continue
		}
		ids[c.ID] = c
	}
	var benchIDs []string
	for _, c := range nb.BenchCells() {
		if c.ID != "" {
			benchIDs = append(benchIDs, c.ID)
		}
	}
	for _, c := range nb.Cells {
		path := []string{"cells", strconv.Itoa(c.Index)}
		switch c.Kind {
		case KindBench:
			seen := map[string]bool{}
			for j, g := range c.Guests {
				gp := append(append([]string{}, path...), "guests", strconv.Itoa(j))
				if _, ok := nb.Guests[g]; !ok {
					p.errKey(gp, "unknown guest %q%s; define it as [guests.%s]", g, didYouMean(g, slices.Sorted(maps.Keys(nb.Guests))), g)
				}
				if seen[g] {
					p.errKey(gp, "guest %q listed twice", g)
				}
				seen[g] = true
			}
			if c.Load != "" {
				if _, ok := nb.Loads[c.Load]; !ok {
					p.errVal(append(path, "load"), "unknown load %q%s; define it as [loads.%s]", c.Load, didYouMean(c.Load, slices.Sorted(maps.Keys(nb.Loads))), c.Load)
				} else {
					p.checkAtGuest(nb, c)
				}
			}
		case KindPlot, KindTable, KindCheck:
			from := nb.Bench(c.From)
			p.metricDefaults(nb, c, from)
			if c.From == "" {
				continue
			}
			if from == nil {
				hint := didYouMean(c.From, benchIDs)
				if hint == "" && len(benchIDs) > 0 {
					hint = "; bench cells: " + strings.Join(benchIDs, ", ")
				}
				p.errVal(append(path, "from"), "from = %q names no bench cell%s", c.From, hint)
				continue
			}
			for j, g := range c.Guests {
				if !slices.Contains(from.Guests, g) {
					p.errKey(append(append([]string{}, path...), "guests", strconv.Itoa(j)), "guest %q is not run by bench cell %s", g, from.ID)
				}
			}
			if c.Kind == KindCheck {
				p.checkClaims(nb, c, from, path)
			}
			p.checkMetrics(nb, c, from, path)
			if c.Baseline != "" && !slices.Contains(from.Guests, c.Baseline) {
				// Else a sweep point: each guest against itself there.
				if _, problem := ResolvePoint(from, c.Baseline); problem != "" || c.Kind != KindTable {
					p.errVal(append(path, "baseline"), "baseline %q is not a guest of bench cell %s%s%s", c.Baseline, from.ID, didYouMean(c.Baseline, from.Guests), pointHint(c, from))
				} else {
					c.BaselinePoint = true
				}
			}
			if c.Kind == KindPlot && c.Style == "line" {
				switch {
				case len(from.Sweep) == 0:
					p.errVal(append(path, "style"), "a line plot needs a bench cell with a sweep; %s has none (use style = \"bar\")", from.ID)
				case c.X == "" && len(from.Sweep) > 1:
					p.errAt(c.Pos, "line plot of %s: several swept params; choose one with x = \"NAME\"", from.ID)
				case c.X != "" && !hasAxis(from.Sweep, c.X) && nb.UnknownMetric(from, c.X) != "":
					// x is a swept param or a metric of the cell (the achieved
					// rate of a sweep over the offered one).
					p.errVal(append(path, "x"), "x = %q is neither swept by bench cell %s (it sweeps %s) nor a metric it produces: %s",
						c.X, from.ID, strings.Join(axisNames(from.Sweep), ", "), nb.UnknownMetric(from, c.X))
				}
				if c.X == "" && len(from.Sweep) == 1 {
					c.X = from.Sweep[0].Param
				}
			}
		}
	}
}

// pointHint says a table's baseline may be a sweep point too.
func pointHint(c, from *Cell) string {
	if c.Kind != KindTable || len(from.Sweep) == 0 {
		return ""
	}
	return fmt.Sprintf(", nor a sweep point of it (a table's baseline may be one, like %q: %s)", from.Sweep[0].Param+"="+fmt.Sprint(from.Sweep[0].Values[0]), sweepList(from))
}

// checkAtGuest: a load that says at = "guest" runs inside its guests, so
// each must be a VM whose init runs it (image = "builtin:linux"), booted
// by qemu or by libvirt (here, or on a remote host: the load's requests
// and output then travel through libvirt's channel API).
func (p *parser) checkAtGuest(nb *Notebook, c *Cell) {
	if at, _ := nb.Loads[c.Load].Values["at"].(string); at != "guest" {
		return
	}
	for _, name := range c.Guests {
		g, ok := nb.Guests[name]
		if !ok {
			continue
		}
		kind, _ := g.Values["kind"].(string)
		img, _ := g.Values["image"].(string)
		if (kind != "qemu" && kind != "libvirt") || img != "builtin:linux" {
			p.errVal([]string{"loads", c.Load, "at"}, "at = \"guest\" runs the load inside the guest, but guest %q (cell %s) cannot run it: only a guest with kind = \"qemu\" or \"libvirt\" and image = \"builtin:linux\" can (its init runs the load); give at = \"host\" to run it on this machine", name, c.ID)
			return
		}
	}
}

// checkClaims checks that claims name guests of the bench cell and metrics
// it produces.
func (p *parser) checkClaims(nb *Notebook, c, from *Cell, path []string) {
	texts := strs(c.raw["claims"])
	k := 0
	for j, text := range texts {
		if k >= len(c.Claims) || c.Claims[k].Text != text {
			continue // did not parse; reported
		}
		cl := c.Claims[k]
		k++
		pos := p.pos.val(append(append([]string{}, path...), "claims", strconv.Itoa(j))...)
		for _, r := range cl.Refs() {
			at := pos
			if at.IsValid() {
				at.Col += 1 + r.At // past the opening quote
			}
			if !slices.Contains(from.Guests, r.Guest) {
				p.errAt(at, "claim %q: guest %q is not run by bench cell %s%s", text, r.Guest, from.ID, didYouMean(r.Guest, from.Guests))
			}
			if msg := nb.UnknownMetric(from, r.Metric); msg != "" {
				p.errAt(at, "claim %q: %s", text, msg)
			}
			if r.Point != "" {
				if _, msg := ResolvePoint(from, r.Point); msg != "" {
					p.errAt(at, "claim %q: %s", text, msg)
				}
			}
		}
		if cl.UpTo != nil {
			at := pos
			if at.IsValid() {
				at.Col += 1 + cl.UpTo.At
			}
			if msg := checkUpTo(cl, from); msg != "" {
				p.errAt(at, "claim %q: %s", text, msg)
			}
		}
	}
}

// checkUpTo says what is wrong with a claim's "up to PARAM = VALUE" on
// bench cell from: PARAM must be a numeric param it sweeps, with a value
// at most VALUE, and no reference may pin it.
func checkUpTo(cl *Claim, from *Cell) string {
	u := cl.UpTo
	i := slices.IndexFunc(from.Sweep, func(a SweepAxis) bool { return a.Param == u.Param })
	if i < 0 {
		var params []string
		for _, a := range from.Sweep {
			params = append(params, a.Param)
		}
		if len(params) == 0 {
			return fmt.Sprintf("\"up to %s = ...\" limits the sweep points it is judged at, but bench cell %s has no sweep", u.Param, from.ID)
		}
		return fmt.Sprintf("\"up to %s\": bench cell %s does not sweep %s%s (%s)", u.Param, from.ID, u.Param, didYouMean(u.Param, params), sweepList(from))
	}
	below := 0
	for _, v := range axisValues(from.Sweep[i]) {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Sprintf("\"up to %s\" needs numbers, but bench cell %s sweeps %s over %q", u.Param, from.ID, u.Param, v)
		}
		if x <= u.Value {
			below++
		}
	}
	if below == 0 {
		return fmt.Sprintf("no point of bench cell %s has %s at most %g (%s)", from.ID, u.Param, u.Value, sweepList(from))
	}
	for _, r := range cl.Refs() {
		if pins, _ := ResolvePoint(from, r.Point); r.Point != "" && pins[u.Param] != "" {
			return fmt.Sprintf("%s pins %s = %s, which \"up to %s = %g\" ranges over: drop one", r, u.Param, pins[u.Param], u.Param, u.Value)
		}
	}
	return ""
}

// metricDefaults fills in the metrics a plot or table shows when it names
// none: those of the bench cell it shows (its tool's primary metric; for a
// table also the usual latencies), or the redis ones when that cell is
// unknown (reported elsewhere).
func (p *parser) metricDefaults(nb *Notebook, c, from *Cell) {
	switch {
	case c.Kind == KindPlot && c.Y == "":
		c.Y = cmp.Or(nb.PrimaryMetric(from), "ops_per_sec")
	case c.Kind == KindTable && c.raw["metrics"] == nil:
		c.Metrics = nb.DefaultMetrics(from)
		if len(c.Metrics) == 0 {
			c.Metrics = []string{"ops_per_sec", "latency_avg", "latency_p99"}
		}
	}
}

// checkMetrics checks that a plot's y and a table's columns are metrics
// the bench cell they show produces, and that a grouped bar plot has SET
// and GET figures to group.
func (p *parser) checkMetrics(nb *Notebook, c, from *Cell, path []string) {
	switch c.Kind {
	case KindPlot:
		if msg := nb.UnknownMetric(from, c.Y); msg != "" {
			p.errVal(append(slices.Clone(path), "y"), "%s", msg)
			return
		}
		if c.Style == "timeline" {
			if names := nb.timelineMetrics(from); len(names) > 0 && !slices.Contains(names, c.Y) {
				p.errVal(append(slices.Clone(path), "y"), "a timeline plot draws what bench cell %s records second by second, %s; y = %q is not among them", from.ID, strings.Join(names, ", "), c.Y)
				return
			}
		}
		base := strings.TrimPrefix(strings.TrimPrefix(c.Y, "sets."), "gets.")
		if c.Group && nb.UnknownMetric(from, "sets."+base) != "" && nb.UnknownMetric(from, "gets."+base) != "" {
			p.errVal(append(slices.Clone(path), "group"), "group = true draws SETs and GETs apart, but bench cell %s has neither sets.%s nor gets.%s (only the redis tools do)", from.ID, base, base)
		}
	case KindTable:
		for j, m := range c.Metrics {
			if msg := nb.UnknownMetric(from, m); msg != "" {
				p.errVal(append(slices.Clone(path), "metrics", strconv.Itoa(j)), "%s", msg)
			}
		}
	}
}

// checkTable checks keys and types of a guest, load or cell table, and its
// {param} references.
func (p *parser) checkTable(nb *Notebook, path []string, m map[string]any, keys []Key, where string) {
	p.checkKeys(path, m, keys, where)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if k := findKey(keys, name); k != nil {
			p.checkRefs(nb, append(slices.Clone(path), name), m[name], k)
		}
	}
}

// checkKeys reports unknown keys and values of the wrong shape or out of
// range.
func (p *parser) checkKeys(path []string, m map[string]any, keys []Key, where string) {
	names := keyNames(keys)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		kp := append(slices.Clone(path), name)
		k := findKey(keys, name)
		if k == nil {
			msg := fmt.Sprintf("unknown key %q", name)
			if where != "" {
				msg += " " + where
			}
			p.errKey(kp, "%s%s", msg, didYouMean(name, names))
			continue
		}
		p.checkValue(kp, m[name], k)
	}
}

// checkValue checks a value written for key k. A "{param}" reference is
// checked where its values are known (checkRefs, checkPoints).
func (p *parser) checkValue(path []string, v any, k *Key) {
	if s, ok := v.(string); ok && !k.NoParam {
		if _, isRef := wholeRef(s); isRef {
			return
		}
	}
	if msg := k.typeProblem(v); msg != "" {
		p.errVal(path, "%s", msg)
		return
	}
	if m, ok := v.(map[string]any); ok && k.Type == TypeStringMap {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if _, ok := m[name].(string); !ok {
				p.errVal(append(slices.Clone(path), name), "%s.%s must be a string, not %s", k.Name, name, typeName(m[name]))
			}
		}
		return
	}
	if s, ok := v.(string); ok && len(refs(s)) > 0 && k.Type != TypeString {
		return // a duration with a reference inside: judged resolved
	}
	if s, ok := v.(string); ok && len(refs(s)) > 0 && (k.Pattern != "" || len(k.OneOf) > 0) {
		return // judged once its references are resolved
	}
	if msg := k.valueProblem(v); msg != "" {
		p.errVal(path, "%s", msg)
	}
}

// checkRefs checks the {name} references in the strings of a value.
func (p *parser) checkRefs(nb *Notebook, path []string, v any, k *Key) {
	switch x := v.(type) {
	case string:
		if k.NoParam {
			return
		}
		if name, ok := wholeRef(x); ok {
			if param, ok := nb.Params[name]; ok && !fitsType(param.Value, k.Type) {
				key, want := elementName(path, k)
				p.errVal(path, "%s = \"{%s}\": param %s is %s, but %s must be %s", key, name, name, typeName(param.Value), key, want)
			}
		}
		for _, name := range refs(x) {
			if _, ok := nb.Params[name]; ok || slices.Contains(runtimeVars, name) {
				continue
			}
			hint := didYouMean(name, append(nb.ParamNames(), runtimeVars...))
			p.errVal(path, "{%s} names no param%s; define it under [params] (the runner also provides {port}, {dir}, {guest} and {cell})", name, hint)
		}
	case []any:
		for i, e := range x {
			p.checkRefs(nb, append(slices.Clone(path), strconv.Itoa(i)), e, k)
		}
	case map[string]any:
		for _, name := range slices.Sorted(maps.Keys(x)) {
			p.checkRefs(nb, append(slices.Clone(path), name), x[name], k)
		}
	}
}

// elementName is how an error names the value at path of key k, and what
// it must be: the key itself ("dir", "a duration"), or an element of an
// array or a map key ("command[1]", "env.HOME", "a string").
func elementName(path []string, k *Key) (string, string) {
	j := len(path) - 1
	for j >= 0 && path[j] != k.Name {
		j--
	}
	if j < 0 || j == len(path)-1 {
		return path[len(path)-1], k.Type.String()
	}
	name := k.Name
	for _, e := range path[j+1:] {
		if _, err := strconv.Atoi(e); err == nil {
			name += "[" + e + "]"
		} else {
			name += "." + e
		}
	}
	return name, "a string"
}

// finite is false for TOML's nan and inf, which no run can use and JSON
// results cannot store.
func finite(v any) bool {
	f, ok := v.(float64)
	return !ok || !math.IsNaN(f) && !math.IsInf(f, 0)
}

func sameType(a, b any) bool {
	switch a.(type) {
	case float64:
		switch b.(type) {
		case float64, int64:
			return true
		}
		return false
	}
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		return []string{x}
	}
	return nil
}

func isStrings(v any) bool {
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range arr {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

func axisNames(axes []SweepAxis) []string {
	names := make([]string, len(axes))
	for i, a := range axes {
		names[i] = a.Param
	}
	return names
}

func hasAxis(axes []SweepAxis, name string) bool {
	for _, a := range axes {
		if a.Param == name {
			return true
		}
	}
	return false
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Slugify turns a file name or title into a URL path element.
func Slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

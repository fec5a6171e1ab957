package render

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	gmtext "github.com/yuin/goldmark/text"
)

// Prose can quote stored figures, so a sentence stays true when the results
// change:
//
//	{{ value "throughput" "host" "ops_per_sec" }}          -> 61,234 ops/s
//	{{ ratio "throughput" "osv" "host" "ops_per_sec" }}    -> 0.60×
//	{{ value "scaling" "host" "ops_per_sec" "clients=4" }} -> a sweep point
//	{{ value "path" "linux" "ops_per_sec" "tap" }}        -> a bare value
//	{{ versus "fs" "xfs" "ext4" "write_clat_p99" }}        -> 2.10× better
//
// versus compares in the metric's better direction: for a latency, half
// the baseline's is "2.00× better", where ratio says "0.50×".
//
// References inside code (`{{ value ... }}`, fenced blocks) are left as
// written, so prose can show the syntax; so is one preceded by a backslash.
var inlineRE = regexp.MustCompile(`(\\?)\{\{\s*(value|ratio|versus)\b((?:\s+"(?:[^"\\]|\\.)*")*)\s*\}\}`)

var argRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// inlineRef is one parsed reference.
type inlineRef struct {
	fn      string // value | ratio | versus
	cell    string
	guests  []string // one for value, two for ratio and versus
	metric  string
	point   string // "clients=4", or empty
	problem string
}

func parseInline(fn, rawArgs string) inlineRef {
	var args []string
	for _, a := range argRE.FindAllString(rawArgs, -1) {
		s, err := strconv.Unquote(a)
		if err != nil {
			return inlineRef{fn: fn, problem: fmt.Sprintf("bad argument %s", a)}
		}
		args = append(args, s)
	}
	ref := inlineRef{fn: fn}
	want := 3
	usage := `{{ value "CELL" "GUEST" "METRIC" }}`
	if fn == "ratio" || fn == "versus" {
		want = 4
		usage = fmt.Sprintf(`{{ %s "CELL" "GUEST" "BASELINE" "METRIC" }}`, fn)
	}
	if len(args) != want && len(args) != want+1 {
		ref.problem = fmt.Sprintf("%s takes %d quoted arguments (and an optional sweep point like \"clients=4\"): %s", fn, want, usage)
		return ref
	}
	ref.cell, ref.guests, ref.metric = args[0], args[1:want-1], args[want-1]
	if len(args) == want+1 {
		ref.point = args[want]
	}
	return ref
}

// checkInline reports references to cells, guests or metrics that do not
// exist. It does not need results: the notebook decides what can be quoted.
func checkInline(nb *notebook.Notebook) notebook.ErrorList {
	var errs notebook.ErrorList
	var source string
	loaded := false
	for _, c := range nb.Cells {
		if c.Kind != notebook.KindMarkdown || !strings.Contains(c.Text, "{{") {
			continue
		}
		var tm *notebook.TextMap
		code := codeRanges(c.Text)
		for _, m := range inlineRE.FindAllStringSubmatchIndex(c.Text, -1) {
			if m[3] > m[2] || inRanges(code, m[0]) { // escaped, or shown as code
				continue
			}
			ref := parseInline(c.Text[m[4]:m[5]], c.Text[m[6]:m[7]])
			problem := ref.problem
			if problem == "" {
				problem = staticProblem(nb, ref)
			}
			if problem == "" {
				continue
			}
			if !loaded {
				b, _ := notebook.ReadFile(nb.Path)
				source, loaded = string(b), true
			}
			if tm == nil {
				tm = notebook.NewTextMap(source, c.TextPos, c.Text)
			}
			errs = append(errs, nb.Errorf(tm.Pos(m[0]), "%s", problem))
		}
	}
	return errs
}

func staticProblem(nb *notebook.Notebook, ref inlineRef) string {
	bench := nb.Bench(ref.cell)
	if bench == nil {
		var ids []string
		for _, b := range nb.BenchCells() {
			ids = append(ids, b.ID)
		}
		return fmt.Sprintf("%s: %q names no bench cell (bench cells: %s)", ref.fn, ref.cell, strings.Join(ids, ", "))
	}
	for _, g := range ref.guests {
		if !slices.Contains(bench.Guests, g) {
			return fmt.Sprintf("%s: guest %q is not run by bench cell %s (guests: %s)", ref.fn, g, ref.cell, strings.Join(bench.Guests, ", "))
		}
	}
	if msg := nb.UnknownMetric(bench, ref.metric); msg != "" {
		return ref.fn + ": " + msg
	}
	if ref.point != "" {
		pins, msg := notebook.ResolvePoint(bench, ref.point)
		if msg != "" {
			return fmt.Sprintf("%s: sweep point %q: %s", ref.fn, ref.point, msg)
		}
		for _, a := range bench.Sweep {
			if _, ok := pins[a.Param]; !ok {
				return fmt.Sprintf("%s: sweep point %q leaves %s free: a figure is at one point, name it like %q", ref.fn, ref.point, a.Param, fmt.Sprintf("%s %s=%v", ref.point, a.Param, a.Values[0]))
			}
		}
	} else if len(bench.Sweep) > 0 {
		return fmt.Sprintf("%s: bench cell %s sweeps %s; name a point, e.g. %q", ref.fn, ref.cell, bench.Sweep[0].Param, fmt.Sprintf("%s=%v", bench.Sweep[0].Param, bench.Sweep[0].Values[0]))
	}
	return ""
}

// expand replaces the references in a markdown cell's text with figures
// from the stored results. A reference that has no figure (no results yet, a
// failed guest) becomes "n/a" rather than a broken sentence.
func (r *report) expand(text string) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	code := codeRanges(text)
	var b strings.Builder
	last := 0
	for _, loc := range inlineRE.FindAllStringIndex(text, -1) {
		b.WriteString(text[last:loc[0]])
		last = loc[1]
		s := text[loc[0]:loc[1]]
		if inRanges(code, loc[0]) {
			b.WriteString(s)
			continue
		}
		b.WriteString(r.expandOne(s))
	}
	b.WriteString(text[last:])
	return b.String()
}

func (r *report) expandOne(s string) string {
	{
		m := inlineRE.FindStringSubmatch(s)
		if m[1] != "" {
			return s[1:] // \{{ ... }} stays as written, without the backslash
		}
		ref := parseInline(m[2], m[3])
		if ref.problem != "" || staticProblem(r.nb, ref) != "" {
			return "n/a"
		}
		v, ok := r.lookup(ref.cell, ref.guests[0], ref.metric, ref.point)
		if !ok {
			return "n/a"
		}
		info := r.data(ref.cell).file.Metric(ref.metric)
		if ref.fn == "value" {
			return formatValue(info, v)
		}
		b, ok := r.lookup(ref.cell, ref.guests[1], ref.metric, ref.point)
		if !ok {
			return "n/a"
		}
		if ref.fn == "versus" {
			return formatVersus(info, v, b)
		}
		return formatRatio(v, b)
	}
}

// codeRanges returns the byte ranges of code spans and code blocks in a
// markdown text.
func codeRanges(text string) [][2]int {
	if !strings.Contains(text, "`") && !strings.Contains(text, "~~~") && !strings.Contains(text, "\n    ") {
		return nil
	}
	src := []byte(text)
	doc := codeParser().Parser().Parse(gmtext.NewReader(src))
	var out [][2]int
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan:
			for c := n.FirstChild(); c != nil; c = c.NextSibling() {
				if t, ok := c.(*ast.Text); ok {
					out = append(out, [2]int{t.Segment.Start, t.Segment.Stop})
				}
			}
			return ast.WalkSkipChildren, nil
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			lines := n.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				out = append(out, [2]int{seg.Start, seg.Stop})
			}
		}
		return ast.WalkContinue, nil
	})
	return out
}

var codeParser = sync.OnceValue(func() goldmark.Markdown { return goldmark.New() })

func inRanges(rs [][2]int, off int) bool {
	for _, r := range rs {
		if off >= r[0] && off < r[1] {
			return true
		}
	}
	return false
}

// lookup returns the median of metric for guest at point.
func (r *report) lookup(cell, guest, metric, point string) (float64, bool) {
	bd := r.data(cell)
	if bd == nil || bd.file == nil {
		return 0, false
	}
	g := bd.file.Guest(guest)
	if g == nil || g.Status != results.StatusOK {
		return 0, false
	}
	i := slices.IndexFunc(g.Points, func(p results.Point) bool { return len(p.Params) == 0 })
	if point != "" {
		i = results.FindPoint(g.Points, point)
	}
	if i < 0 {
		return 0, false
	}
	if s, ok := g.Points[i].Summary[metric]; ok && s.N > 0 {
		return s.Median, true
	}
	return 0, false
}

package render

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// HistoryFile is a page's history page, beside its index.html: a file, not
// a folder of its own, as a thousand folders more were a tenth of what
// history added to a cold site build.
const HistoryFile = "history.html"

// History is a notebook's trends page: per bench cell and metric, a chart
// of a line per guest (and sweep point, and machine) over the cell's kept
// runs, its change points marked and linked to the two runs they separate.
type History struct {
	HTML        []byte
	Regressions []Regression // every change point that made a figure worse
}

// Regression is one change point that went against its metric's better
// direction, for the site's regressions feed.
type Regression struct {
	Cell, Metric, Trend string
	Anchor              string // the change point's id on the history page
	Run                 string // id of the first run after the change
	Started             time.Time
	Before, After, Rel  float64
	Unit                string
}

// HistoryOptions say how change points are found.
type HistoryOptions struct {
	// MinChange is the smallest relative change that is a change point
	// where the noise floor does not ask for more (results.Threshold);
	// 0 means results.DefaultMinChange.
	MinChange float64
	Version   string
	// Buffer, when set, is where the page is written (after a Reset), and
	// History.HTML is its bytes until the buffer is used again: a site
	// build writes a thousand pages of some 40 KB each through a few.
	Buffer *bytes.Buffer
}

// HistoryReader gives a cell's kept runs, oldest first: results.Store.
// Summaries gives them as History does, without their repeats and kept
// figures, which trends and the history page do not show.
type HistoryReader interface {
	History(cell string) ([]results.Entry, error)
	Summaries(cell string) ([]results.Entry, error)
}

// RenderHistory makes the history page of nb from store, or returns nil
// when no bench cell has two runs yet: a trend needs two points. It reads
// the histories' summaries only, and never executes anything.
func RenderHistory(nb *notebook.Notebook, store HistoryReader, opt HistoryOptions) (*History, error) {
	if opt.MinChange == 0 {
		opt.MinChange = results.DefaultMinChange
	}
	v := historyView{Title: nb.Title, Version: opt.Version, CSS: baseStylesheet()}
	h := &History{}
	any2 := false
	for _, c := range nb.BenchCells() {
		entries, err := store.Summaries(c.ID)
		if err != nil {
			// The report page says what is wrong with the results; the
			// history page names it too, and shows the other cells.
			v.Cells = append(v.Cells, historyCellView{ID: c.ID, Error: err.Error()})
			continue
		}
		if len(entries) >= 2 {
			any2 = true
		}
		if len(entries) == 0 {
			continue
		}
		cv := historyCell(nb, c, entries, opt, h)
		v.Cells = append(v.Cells, cv)
	}
	if !any2 {
		return nil, nil
	}
	// Sized for the page up front: grown by doubling, the buffer's
	// copies and zeroing were a fifth of the template's time.
	size := 4096 + len(v.CSS)
	for _, c := range v.Cells {
		size += len(c.RunsTable) + 512*len(c.Envs)
		for _, ch := range c.Charts {
			size += len(ch.SVG) + 1024 + 256*(len(ch.Changes)+len(ch.Legend))
		}
	}
	b := opt.Buffer
	if b == nil {
		b = new(bytes.Buffer)
	}
	b.Reset()
	b.Grow(size)
	if err := historyTemplate().Execute(b, v); err != nil {
		return nil, fmt.Errorf("history page of %s: %w", nb.Path, err)
	}
	h.HTML = b.Bytes()
	return h, nil
}

type historyView struct {
	Title, Version string
	CSS            template.CSS
	Cells          []historyCellView
}

type historyCellView struct {
	ID     string
	Error  string // the history cannot be read
	Charts []chartView
	// RunsTable lists the runs, written by runsTable: a history has
	// hundreds of rows, and html/template's reflection over them was a
	// large part of the page's CPU time.
	RunsTable template.HTML
	Envs      []string // how the machines' environments differ
}

type chartView struct {
	ID, Metric, Label string
	SVG               template.HTML
	Legend            []legendView
	Changes           []changeView
}

type legendView struct{ Name, Color string }

type changeView struct {
	ID, Trend, What, Before, After, Rel string
	From, To                            string // run anchors
	FromN, ToN                          int
}

// runsTable is the table of a cell's runs, one row each, escaped as
// html/template escapes text and quoted attributes.
func runsTable(cell string, entries []results.Entry) template.HTML {
	if len(entries) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(256 + 192*len(entries))
	b.WriteString("<table class=\"runs\">\n<thead><tr><th>run</th><th>started</th><th>machine</th><th>commit</th><th>benchbook</th><th>id</th><th></th></tr></thead>\n<tbody>\n")
	for i, e := range entries {
		r := e.Run
		compacted := ""
		if e.Compacted {
			compacted = "summaries only"
		}
		b.WriteString(`<tr id="`)
		htmlText.WriteString(&b, runAnchor(cell, e.ID))
		b.WriteString(`"><td>`)
		b.WriteString(strconv.Itoa(i + 1))
		for _, td := range [...]string{r.Started.UTC().Format("2006-01-02 15:04 UTC"), r.Env.Machine, shortText(r.Commit, 12), r.Env.Benchbook, e.ID, compacted} {
			b.WriteString("</td><td>")
			htmlText.WriteString(&b, td)
		}
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return template.HTML(b.String())
}

// htmlText escapes as html/template does in text and in a quoted
// attribute (its htmlReplacementTable): NUL and + too, beyond
// template.HTMLEscapeString.
var htmlText = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// historyCell is one cell's part of the page.
func historyCell(nb *notebook.Notebook, c *notebook.Cell, entries []results.Entry, opt HistoryOptions, h *History) historyCellView {
	cv := historyCellView{ID: c.ID, RunsTable: runsTable(c.ID, entries)}
	cv.Envs = machineDiffs(entries)
	newest := entries[len(entries)-1].Run
	for _, metric := range nb.DefaultMetrics(c) {
		trends := results.Trends(entries, metric)
		if len(trends) == 0 {
			continue
		}
		m := newest.Metric(metric)
		threshold := results.Threshold(opt.MinChange, newest.NoiseSpread(metric))
		for _, t := range trends {
			t.FindChanges(threshold, m.Sign())
		}
		cv.Charts = append(cv.Charts, chart(c.ID, m, entries, trends, h))
	}
	return cv
}

// machineDiffs lists how the newest runs of each machine differ from the
// first machine's, one line per machine; none for a single machine.
func machineDiffs(entries []results.Entry) []string {
	return envDiffLines(newestByMachine(entries))
}

func machineName(m string) string {
	if m == "" {
		return "unknown machine"
	}
	return shortText(m, 16)
}

// chart draws one metric's trends and lists their change points.
func chart(cell string, m results.Metric, entries []results.Entry, trends []*results.Trend, h *History) chartView {
	cv := chartView{ID: cell + "-" + anchorSafe(m.Name), Metric: m.Name, Label: metricLabel(m, m.Unit)}
	several := trends[0].Machine != trends[len(trends)-1].Machine
	for ti, t := range trends {
		name := trendName(t, several)
		cv.Legend = append(cv.Legend, legendView{Name: name, Color: palette[ti%len(palette)]})
		for ci, c := range t.Changes {
			from, to := t.Runs[c.At-1], t.Runs[c.At]
			ch := changeView{
				ID: fmt.Sprintf("%s-t%d-c%d", cv.ID, ti, ci), Trend: name, What: changeWord(c, m),
				Before: formatNumber(c.Before), After: formatNumber(c.After), Rel: fmt.Sprintf("%+.1f %%", 100*c.Rel),
				From: runAnchor(cell, from.ID), To: runAnchor(cell, to.ID), FromN: from.Entry + 1, ToN: to.Entry + 1,
			}
			cv.Changes = append(cv.Changes, ch)
			if c.Worse {
				h.Regressions = append(h.Regressions, Regression{Cell: cell, Metric: m.Name, Trend: name, Anchor: ch.ID, Run: to.ID, Started: to.Started, Before: c.Before, After: c.After, Rel: c.Rel, Unit: m.Unit})
			}
		}
	}
	cv.SVG = template.HTML(trendSVG(cell, len(entries), trends, cv.Changes))
	return cv
}

func changeWord(c results.Change, m results.Metric) string {
	switch {
	case c.Worse:
		return "regression"
	case m.Sign() != 0:
		return "improvement"
	}
	return "change"
}

func trendName(t *results.Trend, machines bool) string {
	name := t.Guest
	if t.Point != "" {
		name += " " + t.Point
	}
	if machines {
		name += " @" + machineName(t.Machine)
	}
	return name
}

// palette colours the lines, in order; chosen to tell apart in print too.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

const (
	svgW, svgH             = 640, 220
	padL, padR, padT, padB = 56, 12, 12, 28
)

// trendSVG draws the trends of one metric over n runs: x is the run's
// place in the history, y the median, from 0 to the largest figure. Each
// point says its value on hover (<title>); each change point is a dashed
// line between the two runs it separates, linked to its entry.
func trendSVG(cell string, n int, trends []*results.Trend, changes []changeView) string {
	top := 0.0
	for _, t := range trends {
		for _, r := range t.Runs {
			top = max(top, r.Median)
		}
	}
	if top <= 0 {
		top = 1
	}
	x := func(i int) float64 {
		if n == 1 {
			return padL + (svgW-padL-padR)/2
		}
		return padL + float64(i)*(svgW-padL-padR)/float64(n-1)
	}
	y := func(v float64) float64 { return padT + (1-v/(top*1.05))*(svgH-padT-padB) }
	points := 0
	for _, t := range trends {
		points += len(t.Runs)
	}
	var b strings.Builder
	b.Grow(2048 + 512*len(changes) + (170+len(cell))*points)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" class="trend">`, svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, padL, svgH-padB, svgW-padR, svgH-padB)
	fmt.Fprintf(&b, `<text x="%d" y="%s" font-size="11" text-anchor="end">%s</text>`, padL-4, num(y(top)+4), template.HTMLEscapeString(formatNumber(top)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`, padL-4, svgH-padB)
	for i := 0; i < n; i++ {
		if n <= 12 || i%((n+11)/12) == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text x="%s" y="%d" font-size="11" text-anchor="middle">%d</text>`, num(x(i)), svgH-padB+16, i+1)
		}
	}
	ci := 0
	for _, t := range trends {
		for _, c := range t.Changes {
			mid := (x(t.Runs[c.At-1].Entry) + x(t.Runs[c.At].Entry)) / 2
			ch := changes[ci]
			ci++
			fmt.Fprintf(&b, `<a href="#%s"><line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#d62728" stroke-dasharray="4 3" stroke-width="2" class="change"><title>%s %s: runs %d → %d, %s</title></line></a>`,
				ch.ID, num(mid), padT, num(mid), svgH-padB, ch.What, template.HTMLEscapeString(ch.Trend), ch.FromN, ch.ToN, ch.Rel)
		}
	}
	// A point per run and trend: written without fmt, which was most of
	// a history page's drawing. Every trend has its points at the same
	// x: each is formatted once.
	var xs []byte
	xEnd := make([]int, n)
	for i := range n {
		xs = strconv.AppendFloat(xs, x(i), 'f', 1, 64)
		xEnd[i] = len(xs)
	}
	xText := func(i int) []byte {
		if i == 0 {
			return xs[:xEnd[0]]
		}
		return xs[xEnd[i-1]:xEnd[i]]
	}
	var nb []byte
	for ti, t := range trends {
		color := palette[ti%len(palette)]
		b.WriteString(`<polyline fill="none" stroke="` + color + `" stroke-width="2" points="`)
		for i, r := range t.Runs {
			if i > 0 {
				b.WriteByte(' ')
			}
			nb = append(nb[:0], xText(r.Entry)...)
			nb = append(nb, ',')
			nb = strconv.AppendFloat(nb, y(r.Median), 'f', 1, 64)
			b.Write(nb)
		}
		b.WriteString(`"/>`)
		for _, r := range t.Runs {
			nb = append(nb[:0], `<a href="#run-`...) // runAnchor
			nb = append(nb, cell...)
			nb = append(nb, '-')
			nb = append(nb, r.ID...)
			nb = append(nb, `"><circle cx="`...)
			nb = append(nb, xText(r.Entry)...)
			nb = append(nb, `" cy="`...)
			nb = strconv.AppendFloat(nb, y(r.Median), 'f', 1, 64)
			nb = append(nb, `" r="3" fill="`...)
			nb = append(nb, color...)
			nb = append(nb, `"><title>run `...)
			nb = strconv.AppendInt(nb, int64(r.Entry+1), 10)
			nb = append(nb, ": "...)
			nb = append(nb, formatNumber(r.Median)...)
			nb = append(nb, `</title></circle></a>`...)
			b.Write(nb)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func runAnchor(cell, id string) string { return "run-" + cell + "-" + id }

func anchorSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

func shortText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// historyTemplate is parsed when a history page is first rendered (see
// templates).
var historyTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("history").Parse(historyHTML))
})

const historyHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>History: {{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<main>
<p><a href="index.html">← {{.Title}}</a></p>
<h1>History: {{.Title}}</h1>
<p>Every kept run of each bench cell, oldest first. A dashed red line is a change point: the runs after it differ from those before by the threshold or more (see benchbook's docs/history.md).</p>
{{range .Cells}}<section id="cell-{{.ID}}">
<h2>Cell {{.ID}}</h2>
{{with .Error}}<p class="error">The runs of this cell cannot be read: {{.}}</p>
{{end}}{{range .Envs}}<p class="env-diff">Machines differ: {{.}}</p>
{{end}}{{range .Charts}}<figure id="{{.ID}}">
<figcaption>{{.Label}} by run</figcaption>
{{.SVG}}
<ul class="legend">{{range .Legend}}<li><span style="color:{{.Color}}">■</span> {{.Name}}</li>{{end}}</ul>
</figure>
{{if .Changes}}<ul class="changes">
{{range .Changes}}<li id="{{.ID}}" class="change-point">{{.What}}: {{.Trend}}, {{.Before}} → {{.After}} ({{.Rel}}) between <a href="#{{.From}}">run {{.FromN}}</a> and <a href="#{{.To}}">run {{.ToN}}</a></li>
{{end}}</ul>
{{else}}<p>No change point in {{.Metric}}.</p>
{{end}}{{end}}{{.RunsTable}}</section>
{{end}}<footer><p>Made by benchbook {{.Version}}.</p></footer>
</main>
</body>
</html>
`

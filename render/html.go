package render

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/benchbook/benchbook/notebook"
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
)

//go:embed theme/page.html.tmpl theme/style.css theme/code.css
var theme embed.FS

// Every notebook value reaches the page through html/template and is escaped
// by it; template.HTML is used only for goldmark's output and for the
// built-in stylesheet.
//
// The templates are parsed when a page is first rendered, not when the
// program starts: a no-change rebuild renders nothing, and most commands
// render nothing either.
var templates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{"accelText": accelText}).ParseFS(theme, "theme/page.html.tmpl"))
})

// stylesheet is the built-in CSS followed by both code themes, each under
// its own media query so that neither leaks token colours into the other:
// chroma's light theme on light screens and in print, its dark one on dark
// screens. theme/code.css is what chroma writes for them, made by
// TestCodeCSS: chroma's styles package parses all its seventy styles when
// a program starts, a fifth of the start-up of every benchbook command.
var stylesheet = sync.OnceValue(func() template.CSS { return themeCSS("theme/style.css", "theme/code.css") })

// baseStylesheet is the built-in CSS without the code themes, for pages
// that show no code (history pages): a third less to write, a thousand
// times over in a site.
var baseStylesheet = sync.OnceValue(func() template.CSS { return themeCSS("theme/style.css") })

func themeCSS(names ...string) template.CSS {
	var b bytes.Buffer
	for _, name := range names {
		css, err := theme.ReadFile(name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		b.Write(css)
	}
	return template.CSS(b.String())
}

// Stylesheet is the built-in CSS of report pages, for pages that should look
// the same (a site's index and tag pages).
func Stylesheet() string { return string(stylesheet()) }

// pageView is what the page template sees.
type pageView struct {
	Title     string
	Date      string // 2014-11-01, for <time datetime>
	DateText  string // 1 November 2014
	Authors   []string
	Tags      []string
	Summary   string
	Draft     bool
	Cells     []cellView
	Footnotes template.HTML // <li> items of all cells' footnotes, numbered across the page
	Appendix  *appendixView
	Version   string
	CSS       template.CSS
}

// cellView is one rendered cell: HTML for prose, or a placeholder.
type cellView struct {
	Kind        string
	ID          string // cell-ID, or empty
	HTML        template.HTML
	Placeholder *placeholder
	Bench       *benchView
	Figure      *figure
	Table       *tableView
	Checks      *checkView
}

// HTML writes the notebook as a standalone HTML page (or, with
// Options.Fragment, only its <article>).
func HTML(w io.Writer, nb *notebook.Notebook, opt Options) error {
	return writeHTML(w, newReport(nb, opt))
}

func writeHTML(w io.Writer, rep *report) error {
	nb, opt := rep.nb, rep.opt
	page, err := newHTMLRenderer(rep).page()
	if err != nil {
		return fmt.Errorf("render %s: %w", nb.Path, err)
	}
	name := "page"
	if opt.Fragment {
		name = "article"
	}
	var b bytes.Buffer
	if err := templates().ExecuteTemplate(&b, name, page); err != nil {
		return fmt.Errorf("render %s: %w", nb.Path, err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write html of %s: %w", nb.Path, err)
	}
	return nil
}

// htmlRenderer holds what is shared across the cells of one page.
type htmlRenderer struct {
	nb        *notebook.Notebook
	opt       Options
	rep       *report
	prose     *prose
	ids       parser.IDs // heading ids, unique across the page
	footnotes bytes.Buffer
	nfoot     int // footnotes numbered so far
}

func newHTMLRenderer(rep *report) *htmlRenderer {
	nb := rep.nb
	r := &htmlRenderer{nb: nb, opt: rep.opt, rep: rep, prose: newProse(nb), ids: parser.NewContext().IDs()}
	// Cell anchors are taken first, so a heading that happens to produce the
	// same id gets a suffix instead of a duplicate.
	for _, c := range nb.Cells {
		if c.ID != "" {
			r.ids.Put([]byte(cellAnchor(c)))
		}
	}
	return r
}

func cellAnchor(c *notebook.Cell) string {
	if c.ID == "" {
		return ""
	}
	return "cell-" + c.ID
}

func (r *htmlRenderer) page() (*pageView, error) {
	nb := r.nb
	p := &pageView{
		Title:   nb.Title,
		Authors: nb.Authors,
		Tags:    nb.Tags,
		Summary: nb.Summary,
		Draft:   nb.Draft,
		Version: r.opt.Version,
	}
	if !nb.Date.IsZero() {
		p.Date = nb.Date.Format("2006-01-02")
		p.DateText = nb.Date.Format("2 January 2006")
	}
	if !r.opt.Fragment {
		p.CSS = stylesheet()
	}
	for _, c := range nb.Cells {
		v, err := r.cell(c)
		if err != nil {
			return nil, err
		}
		p.Cells = append(p.Cells, v)
	}
	p.Footnotes = template.HTML(r.footnotes.String())
	p.Appendix = r.rep.appendix()
	return p, nil
}

// cell renders one cell; each kind has its own small function so that plots
// and tables can replace their placeholders without touching the rest.
func (r *htmlRenderer) cell(c *notebook.Cell) (cellView, error) {
	v := cellView{Kind: c.Kind, ID: cellAnchor(c)}
	switch c.Kind {
	case notebook.KindMarkdown:
		html, err := r.markdown(c)
		if err != nil {
			return v, fmt.Errorf("cell %d: %w", c.Index+1, err)
		}
		v.HTML = html
	case notebook.KindBench:
		if v.Bench = r.rep.benchView(c); v.Bench == nil {
			v.Placeholder = ptr(benchPlaceholder(r.nb, c, r.rep.problem(c.ID)))
		}
	case notebook.KindPlot:
		v.Figure = r.rep.figure(c)
		if v.Figure == nil || v.Figure.Err != "" {
			v.Placeholder = ptr(plotPlaceholder(r.nb, c, r.rep.figureProblem(c, v.Figure)))
			v.Figure = nil
		}
	case notebook.KindTable:
		if v.Table = r.rep.table(c); v.Table == nil {
			v.Placeholder = ptr(tablePlaceholder(r.nb, c, r.rep.problem(c.From)))
		}
	case notebook.KindCheck:
		v.Checks = r.rep.checks(c)
	default:
		v.Kind = "unknown"
		v.Placeholder = ptr(unknownPlaceholder(c))
	}
	return v, nil
}

func ptr[T any](v T) *T { return &v }

// markdown renders a markdown cell. Its footnotes are taken out of the cell,
// renumbered to follow the previous cells' ones, and kept for the page's end.
func (r *htmlRenderer) markdown(c *notebook.Cell) (template.HTML, error) {
	doc, source := r.prose.parse(r.rep.expandCell(c), r.ids)
	md := r.prose.md

	var list *east.FootnoteList
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if l, ok := n.(*east.FootnoteList); ok {
			list = l
		}
	}
	if list != nil {
		doc.RemoveChild(doc, list)
		offset := r.nfoot
		renumber := func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if entering {
				switch n := n.(type) {
				case *east.FootnoteLink:
					n.Index += offset
				case *east.FootnoteBacklink:
					n.Index += offset
				case *east.Footnote:
					n.Index += offset
				}
			}
			return ast.WalkContinue, nil
		}
		_ = ast.Walk(doc, renumber)
		_ = ast.Walk(list, renumber)
		r.nfoot += list.Count
		for n := list.FirstChild(); n != nil; n = n.NextSibling() {
			if err := md.Renderer().Render(&r.footnotes, source, n); err != nil {
				return "", fmt.Errorf("footnotes: %w", err)
			}
		}
	}

	var b strings.Builder
	if err := md.Renderer().Render(&b, source, doc); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

package render

import (
	"bytes"
	"sync"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"

	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// Code is highlighted with CSS classes, never inline styles, so that the
// stylesheet can carry a light and a dark theme at once.
var chromaOptions = []chromahtml.Option{chromahtml.WithClasses(true), chromahtml.TabWidth(4)}

// newGoldmark is the one place where goldmark's options are chosen. Raw HTML
// in prose passes through only for notebooks that opt in with unsafe_html;
// otherwise it is shown escaped, as text.
func newGoldmark(unsafe bool) goldmark.Markdown {
	rendererOptions := []renderer.Option{}
	if unsafe {
		rendererOptions = append(rendererOptions, html.WithUnsafe())
	}
	return goldmark.New(
		goldmark.WithExtensions(
			extension.GFM, // tables, strikethrough, autolinks, task lists
			extension.Footnote,
			extension.Typographer,
			benchbookHTML{escapeRawHTML: !unsafe},
		),
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
		goldmark.WithRendererOptions(rendererOptions...),
	)
}

// goldmark.Markdown is safe for concurrent use once built, and building one
// costs more than rendering a short cell, so each variant is built once.
var (
	safeGoldmark   = sync.OnceValue(func() goldmark.Markdown { return newGoldmark(false) })
	unsafeGoldmark = sync.OnceValue(func() goldmark.Markdown { return newGoldmark(true) })
)

func markdownFor(unsafe bool) goldmark.Markdown {
	if unsafe {
		return unsafeGoldmark()
	}
	return safeGoldmark()
}

// benchbookHTML is a goldmark extension for what the stock HTML renderer does
// not do: a visible "#" anchor link in every heading, and raw HTML shown as
// escaped text instead of silently dropped.
type benchbookHTML struct {
	escapeRawHTML bool
}

func (e benchbookHTML) Extend(m goldmark.Markdown) {
	// A lower number wins over goldmark's own renderer (1000).
	m.Renderer().AddOptions(renderer.WithNodeRenderers(util.Prioritized(e, 100)))
}

func (e benchbookHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindHeading, renderHeading)
	reg.Register(ast.KindFencedCodeBlock, renderCodeBlock)
	if e.escapeRawHTML {
		reg.Register(ast.KindRawHTML, renderRawHTMLEscaped)
		reg.Register(ast.KindHTMLBlock, renderHTMLBlockEscaped)
	}
}

func renderHeading(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Heading)
	level := "0123456"[n.Level]
	if entering {
		_, _ = w.WriteString("<h")
		_ = w.WriteByte(level)
		if n.Attributes() != nil {
			html.RenderAttributes(w, node, html.HeadingAttributeFilter)
		}
		_ = w.WriteByte('>')
		return ast.WalkContinue, nil
	}
	if id, ok := n.AttributeString("id"); ok {
		if b, ok := id.([]byte); ok && len(b) > 0 {
			_, _ = w.WriteString(`<a class="bb-anchor" href="#`)
			_, _ = w.Write(util.EscapeHTML(util.URLEscape(b, false)))
			_, _ = w.WriteString(`" aria-label="Link to this section">#</a>`)
		}
	}
	_, _ = w.WriteString("</h")
	_ = w.WriteByte(level)
	_, _ = w.WriteString(">\n")
	return ast.WalkContinue, nil
}

func renderRawHTMLEscaped(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		n := node.(*ast.RawHTML)
		for i := range n.Segments.Len() {
			seg := n.Segments.At(i)
			_, _ = w.Write(util.EscapeHTML(seg.Value(source)))
		}
	}
	return ast.WalkSkipChildren, nil
}

func renderHTMLBlockEscaped(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.HTMLBlock)
	_, _ = w.WriteString(`<pre class="bb-raw-html"><code>`)
	for i := range n.Lines().Len() {
		line := n.Lines().At(i)
		_, _ = w.Write(util.EscapeHTML(line.Value(source)))
	}
	if n.HasClosure() {
		_, _ = w.Write(util.EscapeHTML(n.ClosureLine.Value(source)))
	}
	_, _ = w.WriteString("</code></pre>\n")
	return ast.WalkSkipChildren, nil
}

// One chroma formatter for every code block: it caches the CSS of its
// styles, which a formatter per block (as goldmark-highlighting makes) would
// compute again for each. With classes, the style given to Format does not
// show in its output (the stylesheet has the themes), so an empty one does
// and chroma's styles package stays out of the program.
var (
	codeFormatter = chromahtml.New(chromaOptions...)
	codeStyle     = chroma.MustNewStyle("benchbook", chroma.StyleEntries{})
)

// renderCodeBlock highlights a fenced code block with chroma when its
// language is known, and writes it plainly, escaped, otherwise.
func renderCodeBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	var code bytes.Buffer
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		code.Write(seg.Value(source))
	}
	lang := string(n.Language(source))
	if lexer := lexers.Get(lang); lang != "" && lexer != nil {
		it, err := chroma.Coalesce(lexer).Tokenise(nil, code.String())
		if err == nil {
			if err := codeFormatter.Format(w, codeStyle, it); err == nil {
				return ast.WalkSkipChildren, nil
			}
		}
	}
	w.WriteString("<pre><code")
	if lang != "" {
		w.WriteString(` class="language-`)
		w.Write(util.EscapeHTML([]byte(lang)))
		w.WriteString(`"`)
	}
	w.WriteString(">")
	w.Write(util.EscapeHTML(code.Bytes()))
	w.WriteString("</code></pre>\n")
	return ast.WalkSkipChildren, nil
}

package render

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/benchbook/benchbook/notebook"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Markdown writes the notebook as GitHub-flavoured Markdown with YAML front
// matter that Hugo and Jekyll both read (title, date, authors, tags, summary
// and description, slug, draft). The title lives only in the front matter:
// site themes print it from there, and a "# Title" in the body would show it
// twice. Markdown cells are copied through; other cells become blockquotes.
func Markdown(w io.Writer, nb *notebook.Notebook, opt Options) error {
	return writeMarkdown(w, newReport(nb, opt))
}

func writeMarkdown(w io.Writer, rep *report) error {
	nb := rep.nb
	var b bytes.Buffer
	writeFrontMatter(&b, nb)
	body := &bodyWriter{b: &b, jekyll: rep.opt.Jekyll}
	p, footnoteLabels := newProse(nb), map[string]bool{}
	for _, c := range nb.Cells {
		var block string
		switch c.Kind {
		case notebook.KindMarkdown:
			block = markdownProse(nb, rep.expandCell(c), p, footnoteLabels)
		case notebook.KindBench:
			if v := rep.benchView(c); v != nil {
				block = markdownBench(v)
			} else {
				block = markdownPlaceholder(benchPlaceholder(nb, c, rep.problem(c.ID)))
			}
		case notebook.KindPlot:
			if f := rep.figure(c); f != nil && f.Err == "" {
				block = markdownFigure(f)
			} else {
				block = markdownPlaceholder(plotPlaceholder(nb, c, rep.figureProblem(c, f)))
			}
		case notebook.KindCheck:
			block = markdownChecks(rep.checks(c))
		case notebook.KindTable:
			if t := rep.table(c); t != nil {
				block = markdownTable(t)
			} else {
				block = markdownPlaceholder(tablePlaceholder(nb, c, rep.problem(c.From)))
			}
		default:
			block = markdownPlaceholder(unknownPlaceholder(c))
		}
		if block == "" {
			continue
		}
		body.block(block, c.Kind == notebook.KindMarkdown && nb.UnsafeHTML)
	}
	if a := rep.appendix(); a != nil {
		body.block(markdownAppendix(a), false)
	}
	body.end()
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown of %s: %w", nb.Path, err)
	}
	return nil
}

func writeFrontMatter(b *bytes.Buffer, nb *notebook.Notebook) {
	b.WriteString("---\n")
	fmt.Fprintf(b, "title: %s\n", yamlString(nb.Title))
	if !nb.Date.IsZero() {
		// A bare YAML date: both Hugo and Jekyll read it as a date, not a string.
		fmt.Fprintf(b, "date: %s\n", nb.Date.Format("2006-01-02"))
	}
	writeYAMLList(b, "authors", nb.Authors)
	writeYAMLList(b, "tags", nb.Tags)
	if nb.Summary != "" {
		// Hugo reads summary; Jekyll's SEO tag and most themes read description.
		fmt.Fprintf(b, "summary: %s\n", yamlString(nb.Summary))
		fmt.Fprintf(b, "description: %s\n", yamlString(nb.Summary))
	}
	if nb.Slug != "" {
		fmt.Fprintf(b, "slug: %s\n", yamlString(nb.Slug))
	}
	fmt.Fprintf(b, "draft: %t\n", nb.Draft)
	b.WriteString("---\n")
}

func writeYAMLList(b *bytes.Buffer, key string, values []string) {
	if len(values) == 0 {
		return
	}
	fmt.Fprintf(b, "%s:\n", key)
	for _, v := range values {
		fmt.Fprintf(b, "  - %s\n", yamlString(v))
	}
}

// yamlString quotes s as a YAML double-quoted scalar. Quoting every value
// means no title can turn into a number, a boolean, a date, a comment or a
// nested mapping, whatever colons, quotes or brackets it holds.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			// YAML forbids most control characters even when quoted, and
			// treats U+0085, U+2028 and U+2029 as line breaks.
			if r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == utf8.RuneError {
				fmt.Fprintf(&b, `\u%04X`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// markdownProse returns a markdown cell's text as a block ending in one
// newline, or "" when it is blank. The text is copied through with two kinds
// of edits, so that the single Markdown document means what the HTML page
// shows: raw HTML is neutralised unless the notebook allows it, and a
// footnote label that an earlier cell already used is renamed (on the page
// footnotes belong to their cell; in one document the first label would win).
func markdownProse(nb *notebook.Notebook, c *notebook.Cell, p *prose, labels map[string]bool) string {
	src := c.Text
	// Without a "[^", or a "<" that may open a tag, there is nothing to
	// edit: skip the parses. Code is full of "i < n", which is neither.
	if strings.Contains(src, "[^") {
		doc, source := p.parse(c, nil)
		src = applyEdits(src, footnoteEdits(doc, source, labels))
	}
	// Second, on the renamed text, so the two kinds of edits never overlap.
	if !nb.UnsafeHTML && mayOpenTag(src) {
		src = applyEdits(src, rawHTMLEdits(plainParser().Parse(text.NewReader([]byte(src))), []byte(src)))
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")

	// Drop blank lines around the text but keep the first line's indentation,
	// which may make it a code block.
	lines := strings.Split(src, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// edit replaces source[start:stop] with repl.
type edit struct {
	start, stop int
	repl        string
}

func applyEdits(src string, edits []edit) string {
	if len(edits) == 0 {
		return src
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last || e.stop > len(src) {
			continue // overlapping: cannot happen with goldmark's segments, never corrupt
		}
		b.WriteString(src[last:e.start])
		b.WriteString(e.repl)
		last = e.stop
	}
	b.WriteString(src[last:])
	return b.String()
}

// plainParser parses prose as a CommonMark site generator would: GFM and
// footnotes, none of benchbook's own extensions. The page's parser turns
// "<<" into a typographic quote, for one, where others see a "<" that may
// open a tag.
var plainParser = sync.OnceValue(func() parser.Parser {
	return goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote)).Parser()
})

// mayOpenTag reports whether s has a "<" that could start raw HTML or an
// autolink: one before a letter, "/", "!" or "?". Every HTML tag, comment,
// declaration and processing instruction, and every URL autolink, starts so;
// a "<" before anything else is plain text to every Markdown processor.
func mayOpenTag(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0 && i+1 < len(s); {
		if c := s[i+1]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?' {
			return true
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// rawHTMLEdits writes the "<" of every piece of raw HTML as "&lt;", so
// Markdown processors that pass HTML through show it as text. So is a "<"
// in text that could open a tag ("<" before a letter, "/", "!" or "?"):
// Markdown dialects differ in what they take for HTML. Code spans, code
// blocks and autolinks stay as they are.
func rawHTMLEdits(doc ast.Node, source []byte) []edit {
	var edits []edit
	add := func(s text.Segment) {
		if v := string(source[s.Start:s.Stop]); strings.Contains(v, "<") {
			edits = append(edits, edit{s.Start, s.Stop, strings.ReplaceAll(v, "<", "&lt;")})
		}
	}
	addText := func(s text.Segment) {
		v := source[s.Start:s.Stop]
		for i := bytes.IndexByte(v, '<'); i >= 0 && i+1 < len(v); {
			c := v[i+1]
			opens := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '!' || c == '?'
			if opens && !escaped(source, s.Start+i) {
				edits = append(edits, edit{s.Start + i, s.Start + i + 1, "&lt;"})
			}
			j := bytes.IndexByte(v[i+1:], '<')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.CodeSpan:
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			addText(n.Segment)
		case *ast.RawHTML:
			for i := range n.Segments.Len() {
				add(n.Segments.At(i))
			}
		case *ast.HTMLBlock:
			for i := range n.Lines().Len() {
				add(n.Lines().At(i))
			}
			if n.HasClosure() {
				add(n.ClosureLine)
			}
		}
		return ast.WalkContinue, nil
	})
	return edits
}

// escaped reports whether source[at] follows an odd run of backslashes: a
// "\<" is text in every Markdown dialect already, and "\&lt;" would show
// as "&lt;".
func escaped(source []byte, at int) bool {
	n := 0
	for at-1-n >= 0 && source[at-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

// footnoteEdits renames the cell's footnote labels that are in used, and
// adds the cell's (new) labels to used. A label whose every use cannot be
// found exactly in the source is left alone rather than half renamed.
func footnoteEdits(doc ast.Node, source []byte, used map[string]bool) []edit {
	byIndex := map[int]string{}
	uses := map[string][]int{}
	var order []string
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if fn, ok := n.(*east.Footnote); ok {
			label := string(fn.Ref)
			byIndex[fn.Index] = label
			uses[label] = append(uses[label], fn.Pos())
			order = append(order, label)
		}
		return ast.WalkContinue, nil
	})
	if len(order) == 0 {
		return nil
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if link, ok := n.(*east.FootnoteLink); ok && entering {
			if label, ok := byIndex[link.Index]; ok {
				uses[label] = append(uses[label], link.Pos())
			}
		}
		return ast.WalkContinue, nil
	})
	mine := map[string]bool{}
	for _, label := range order {
		mine[strings.ToLower(label)] = true
	}
	var edits []edit
	for _, label := range order {
		key := strings.ToLower(label)
		if !used[key] || !allAt(source, uses[label], "[^"+label+"]") {
			used[key] = true
			continue
		}
		renamed := label
		for k := 2; used[strings.ToLower(renamed)] || mine[strings.ToLower(renamed)]; k++ {
			renamed = label + "-" + strconv.Itoa(k)
		}
		used[strings.ToLower(renamed)] = true
		for _, at := range uses[label] {
			edits = append(edits, edit{at + 2, at + 2 + len(label), renamed})
		}
	}
	return edits
}

// allAt reports whether s occurs in source at every position in at.
func allAt(source []byte, at []int, s string) bool {
	for _, p := range at {
		if p < 0 || !strings.HasPrefix(string(source[p:]), s) {
			return false
		}
	}
	return true
}

// markdownPlaceholder renders a placeholder as a blockquote, e.g.
//
//	> **Benchmark `throughput`** (Requests per second): no stored results yet — run `benchbook run x.toml`.
func markdownPlaceholder(p placeholder) string {
	var b strings.Builder
	b.WriteString("> **")
	b.WriteString(mdEscape(p.Label))
	if p.Ref != "" {
		b.WriteString(" " + mdCode(p.Ref))
	}
	b.WriteString("**")
	if p.Title != "" {
		b.WriteString(" (" + mdEscape(p.Title) + ")")
	}
	b.WriteString(": " + mdEscape(p.Note))
	if p.Command != "" {
		b.WriteString(" — run " + mdCode(p.Command))
	}
	b.WriteString(".\n")
	if p.Caption != "" {
		b.WriteString(">\n> " + mdEscape(p.Caption) + "\n")
	}
	return b.String()
}

// mdEscape makes s literal inline text in Markdown. CommonMark lets any
// ASCII punctuation be backslash-escaped; only the characters that can start
// markup are, so the .md file stays readable. A leading list or heading
// marker is escaped too, since a caption starts a line.
func mdEscape(s string) string {
	s = oneLine(s)
	marker := -1 // byte index of the "." or ")" of a leading "1." or "2)"
	if digits := len(s) - len(strings.TrimLeft(s, "0123456789")); digits > 0 && digits < len(s) && strings.IndexByte(".)", s[digits]) >= 0 {
		marker = digits
	}
	var b strings.Builder
	for i, r := range s {
		if strings.ContainsRune("\\`*_[]<>&!|~#", r) || i == 0 && strings.ContainsRune("-+=", r) || i == marker {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode makes s a code span, with a fence longer than any backtick run in s.
func mdCode(s string) string {
	s = oneLine(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

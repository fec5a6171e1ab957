// Package render turns a parsed notebook, plus whatever results are stored for
// it, into a report: GitHub-flavoured Markdown with front matter (to drop into
// a Hugo or Jekyll site) and a standalone HTML page (one file, stylesheet
// inlined). It reads files and writes files; it never starts a process, so
// rendering an untrusted notebook is safe and repeatable byte for byte.
//
// The Markdown output carries title, date, authors, tags, summary (also as
// description), slug and draft in YAML front matter; its body is the cells
// only, because site themes print the title and summary from the front
// matter. The HTML page shows them in its header.
//
// Prose is handled as follows:
//
//   - Markdown cells are rendered one by one, so an unclosed fence or list in
//     one cell cannot swallow the next. Link reference definitions apply to
//     the whole notebook (the first wins), as they do in the Markdown output.
//     Heading ids are unique across the page. Footnote labels belong to their
//     cell (the Markdown output renames a label an earlier cell used); notes
//     are numbered across the page and listed once, at its end.
//   - Raw HTML in prose is shown as escaped text unless the notebook sets
//     unsafe_html = true. In the Markdown output it is neutralised the same
//     way (its "<" written as "&lt;"), because many static site generators
//     pass raw HTML through.
//   - Files linked by a relative path (images, data) are assets: Check reports
//     missing ones and ones outside the notebook's folder, Write copies them
//     beside the page under the same relative path.
//
// Bench, plot and table cells show the stored results: a bench cell its setup
// and state, a plot cell an SVG (HTML) or PNG (Markdown) written beside the
// page, a table cell the medians with their spread and ratios to a baseline.
// Failed and skipped guests appear with their reason. A page with bench cells
// ends with a reproducibility appendix. Cells without stored results show a
// placeholder saying how to produce them.
package render

import (
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// Options controls rendering. The zero value renders a standalone page with
// no stored results.
type Options struct {
	// Results gives the stored results of bench cells; nil means none yet,
	// and every bench, plot and table cell shows a placeholder.
	Results Results

	// Fragment makes HTML write only the <article> (no <html>, <head> or
	// stylesheet), for embedding in a site's own layout. The default is a
	// standalone page, so that the zero Options do the common thing.
	Fragment bool

	// Version is the benchbook version named in the page footer and the
	// generator meta tag; empty leaves the version out.
	Version string

	// Jekyll writes the Markdown for Jekyll, which runs Liquid over a post:
	// Liquid markup ({% ... %}, {{ ... }}) in it is shown as text, inside
	// {% raw %}. By default the Markdown is for Hugo (and is a page
	// bundle), whose shortcodes ({{< ... >}}, {{% ... %}}) are shown as
	// text in their comment form. Prose of a notebook with unsafe_html is
	// left as written either way.
	Jekyll bool

	// HistoryPage is the page's history page (RenderHistory), relative to
	// the page, where one is written beside it (a site build): each bench
	// cell with two runs or more links to its section there. Empty links
	// nothing.
	HistoryPage string

	// ForceOverwrite lets Write replace files in its output folder that no
	// render wrote. It does not make CheckOutDir's folders acceptable.
	ForceOverwrite bool
}

// Results is what rendering needs from the results store; results.Store
// provides it. Both methods return an error satisfying
// errors.Is(err, fs.ErrNotExist) when nothing is stored.
type Results interface {
	// Load returns the last good results of a bench cell.
	Load(cell string) (*results.File, error)
	// LoadFailure returns the last failed run of a bench cell.
	LoadFailure(cell string) (*results.File, error)
}

// Names of the files Write produces in its output folder.
const (
	HTMLFile     = "index.html"
	MarkdownFile = "index.md"
)

func commandFor(nb *notebook.Notebook) string {
	return "benchbook run " + shellQuote(notebookBase(nb))
}

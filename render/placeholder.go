package render

import (
	"path/filepath"
	"strings"

	"github.com/benchbook/benchbook/notebook"
)

// placeholder stands in for a cell whose output cannot be shown (yet): the
// same facts feed the HTML box and the Markdown blockquote.
type placeholder struct {
	Kind    string // cell kind, also a CSS class suffix
	Label   string // "Benchmark", "Plot of", ...
	Ref     string // the bench cell id it is about; may be empty
	Title   string
	Caption string
	Note    string // what is missing
	Command string // what to run about it; may be empty
}

func benchPlaceholder(nb *notebook.Notebook, c *notebook.Cell, problem string) placeholder {
	return resultsPlaceholder(nb, c, problem, "Benchmark", c.ID, c.Description)
}

func plotPlaceholder(nb *notebook.Notebook, c *notebook.Cell, problem string) placeholder {
	return resultsPlaceholder(nb, c, problem, "Plot of", c.From, c.Caption)
}

func tablePlaceholder(nb *notebook.Notebook, c *notebook.Cell, problem string) placeholder {
	return resultsPlaceholder(nb, c, problem, "Table of", c.From, c.Caption)
}

// resultsPlaceholder stands in for a cell without figures: problem says why
// the stored results cannot be shown, or is empty when there are none yet.
func resultsPlaceholder(nb *notebook.Notebook, c *notebook.Cell, problem, label, ref, caption string) placeholder {
	p := placeholder{
		Kind:    c.Kind,
		Label:   label,
		Ref:     ref,
		Title:   oneLine(c.Title),
		Caption: oneLine(caption),
	}
	if problem != "" {
		p.Note = problem
	} else {
		p.Note = "no stored results yet"
		p.Command = commandFor(nb)
	}
	return p
}

// unknownPlaceholder is for a kind this version does not know; the notebook
// check reports it, the page still renders.
func unknownPlaceholder(c *notebook.Cell) placeholder {
	return placeholder{
		Kind:  "unknown",
		Label: "Cell of kind",
		Ref:   c.Kind,
		Note:  "this version of benchbook cannot show it",
	}
}

// notebookBase is the notebook's file name: commands in a published page name
// the file, not the path on the machine that rendered it, so output does not
// depend on the working directory.
func notebookBase(nb *notebook.Notebook) string {
	if nb.Path == "" {
		return "NOTEBOOK.toml"
	}
	return filepath.Base(nb.Path)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+,:@%=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// oneLine folds whitespace runs (newlines included) into single spaces, for
// values shown inline.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

package render

import (
	"sort"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// prose parses a notebook's markdown cells the way the rendered page sees
// them. Each cell is its own goldmark document, so broken markup stays in its
// cell; but link reference definitions apply to the whole notebook (the
// first one wins), because in the Markdown output all cells form one
// document and a "[osv]" in one cell may well be defined in another.
type prose struct {
	md   goldmark.Markdown
	refs []parser.Reference
}

func newProse(nb *notebook.Notebook) *prose {
	p := &prose{md: markdownFor(nb.UnsafeHTML)}
	seen := map[string]bool{}
	for _, c := range nb.Cells {
		// Every definition contains "]:"; most cells have none and need no
		// second parse.
		if c.Kind != notebook.KindMarkdown || !strings.Contains(c.Text, "]:") {
			continue
		}
		pc := parser.NewContext()
		p.md.Parser().Parse(text.NewReader([]byte(c.Text)), parser.WithContext(pc))
		refs := pc.References()
		sort.Slice(refs, func(i, j int) bool { return string(refs[i].Label()) < string(refs[j].Label()) })
		for _, r := range refs {
			key := util.ToLinkReference(r.Label())
			if !seen[key] {
				seen[key] = true
				p.refs = append(p.refs, r)
			}
		}
	}
	return p
}

// parse parses a markdown cell. ids, when not nil, keeps heading ids unique
// across cells. It returns the document and the source its segments index.
func (p *prose) parse(c *notebook.Cell, ids parser.IDs) (ast.Node, []byte) {
	source := []byte(c.Text)
	var opts []parser.ContextOption
	if ids != nil {
		opts = append(opts, parser.WithIDs(ids))
	}
	pc := parser.NewContext(opts...)
	for _, r := range p.refs {
		pc.AddReference(r)
	}
	return p.md.Parser().Parse(text.NewReader(source), parser.WithContext(pc)), source
}

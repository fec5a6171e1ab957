package render

import (
	"errors"
	"html"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/benchbook/benchbook/notebook"
	"github.com/yuin/goldmark/ast"
	gmhtml "github.com/yuin/goldmark/renderer/html"
)

// asset is a file the prose links by a relative path. It is published beside
// the page under the same relative path, so the link works wherever the page
// goes.
type asset struct {
	Rel string // slash-separated and cleaned: relative to the notebook's folder and to the output folder
	Src string // the file on disk
}

// Check reports what would make the rendered page broken: inline figures
// ({{ value ... }}) that name no bench cell, guest or metric, and prose that links
// (or shows as an image) a local file that does not exist, is a folder, or
// lies outside the notebook's folder, and (without unsafe_html) one that
// would run script on the site: an HTML or JavaScript file, an SVG with
// script. Each error points into the markdown
// text, at the link. Links with a scheme (https:, mailto:), root-relative
// links (/about/) and fragments (#intro) are left alone.
func Check(nb *notebook.Notebook) notebook.ErrorList {
	_, errs := collectAssets(nb)
	errs = append(errs, checkInline(nb)...)
	errs.Sort()
	return errs
}

// collectAssets returns the notebook's local assets, sorted and without
// duplicates, and every problem with its links.
func collectAssets(nb *notebook.Notebook) ([]asset, notebook.ErrorList) {
	var (
		errs   notebook.ErrorList
		found  = map[string]asset{}
		dir    = filepath.Dir(nb.Path)
		source string
		loaded bool
	)
	pr := newProse(nb)
	defs := len(pr.refs) > 0
	for _, c := range nb.Cells {
		if c.Kind != notebook.KindMarkdown || c.Text == "" {
			continue
		}
		// A link or image needs "](", a "<" that may open an autolink or,
		// through a reference, a "[" and a definition ("]:") somewhere in
		// the notebook; prose without them links nothing and is not parsed.
		if !strings.Contains(c.Text, "](") && !mayOpenTag(c.Text) && !(defs && strings.Contains(c.Text, "[")) {
			continue
		}
		var tm *notebook.TextMap
		errAt := func(n ast.Node, format string, args ...any) {
			if !loaded {
				// Read only when something is wrong; if the file has changed or
				// gone, positions are estimated from the string's start.
				b, _ := notebook.ReadFile(nb.Path)
				source, loaded = string(b), true
			}
			if tm == nil {
				tm = notebook.NewTextMap(source, c.TextPos, c.Text)
			}
			errs = append(errs, nb.Errorf(tm.Pos(nodeOffset(n)), format, args...))
		}
		doc, text := pr.parse(c, nil)
		_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			var dest, what string
			switch n := n.(type) {
			case *ast.Link:
				dest, what = string(n.Destination), "link"
			case *ast.Image:
				dest, what = string(n.Destination), "image"
			case *ast.AutoLink:
				dest, what = string(n.URL(text)), "link"
			default:
				return ast.WalkContinue, nil
			}
			if !nb.UnsafeHTML && scriptURL(dest) {
				errAt(n, "%s %q: %s URLs are refused: on a published page they would run script or reach the reader's files; link to an http(s) page or a file beside the notebook (or set unsafe_html = true)", what, dest, urlScheme(dest))
				return ast.WalkContinue, nil
			}
			rel, local, problem := localTarget(dest)
			switch {
			case problem != "":
				errAt(n, "%s %q: %s", what, dest, problem)
			case local:
				a, problem := checkAsset(dir, rel)
				if problem == "" && !nb.UnsafeHTML {
					problem = scriptAsset(a)
				}
				if problem != "" {
					errAt(n, "%s %q: %s", what, dest, problem)
				} else {
					found[a.Rel] = a
				}
			}
			return ast.WalkContinue, nil
		})
	}
	assets := make([]asset, 0, len(found))
	for _, a := range found {
		assets = append(assets, a)
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i].Rel < assets[j].Rel })
	return assets, errs
}

// nodeOffset is where a link starts in its cell's text: goldmark records the
// "[" (or "!" of "![") as the node's position.
func nodeOffset(n ast.Node) int {
	if p := n.Pos(); p >= 0 {
		return p
	}
	for c := n.FirstChild(); c != nil; c = c.FirstChild() {
		if t, ok := c.(*ast.Text); ok {
			return t.Segment.Start
		}
	}
	return 0
}

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// localTarget decides whether a link destination names a file beside the
// notebook. It returns the cleaned relative path, or a problem that makes
// the link unpublishable.
func localTarget(dest string) (rel string, local bool, problem string) {
	if dest == "" || strings.ContainsAny(dest[:1], "#?/") || schemeRE.MatchString(dest) {
		return "", false, ""
	}
	p := dest
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p, err := url.PathUnescape(p)
	if err != nil {
		return "", true, "bad %-escape in the path"
	}
	if strings.Contains(p, `\`) {
		return "", true, `use "/" between folders in a link, not "\"`
	}
	clean := path.Clean(p)
	switch {
	case clean == ".":
		return "", false, "" // the page's own folder
	case clean == ".." || strings.HasPrefix(clean, "../"):
		return "", true, "leaves the notebook's folder; files a page links are published beside it, so keep them in the notebook's folder or below it"
	case clean == HTMLFile || clean == MarkdownFile:
		return "", true, "would be overwritten by the rendered page; rename the file"
	}
	return clean, true, ""
}

// checkAsset checks that rel names a regular file inside dir, also after
// following symbolic links, so that publishing cannot leak a file from
// elsewhere on the machine.
func checkAsset(dir, rel string) (asset, string) {
	src := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Stat(src)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return asset{}, "file not found (looked for " + src + ")"
	case err != nil:
		return asset{}, err.Error()
	case fi.IsDir():
		return asset{}, "is a folder; link a file inside it"
	case !fi.Mode().IsRegular():
		return asset{}, "is not a regular file"
	}
	realDir, err1 := filepath.EvalSymlinks(dir)
	realSrc, err2 := filepath.EvalSymlinks(src)
	if err := errors.Join(err1, err2); err != nil {
		return asset{}, err.Error()
	}
	if r, err := filepath.Rel(realDir, realSrc); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return asset{}, "is a symbolic link to a file outside the notebook's folder; copy the file in instead"
	}
	return asset{Rel: rel, Src: src}, ""
}

// scriptURL reports a link destination that the HTML page blanks (goldmark
// drops javascript:, vbscript:, file: and non-image data: URLs) but that the
// Markdown output would pass on to a site generator as written. Browsers
// ignore case, entities and control characters inside a scheme, so the
// check does too.
func scriptURL(dest string) bool {
	var b strings.Builder
	for _, r := range html.UnescapeString(dest) {
		if r > ' ' {
			b.WriteRune(r)
		}
	}
	u := strings.ToLower(b.String())
	return gmhtml.IsDangerousURL([]byte(dest)) || gmhtml.IsDangerousURL([]byte(u))
}

func urlScheme(dest string) string {
	s, _, _ := strings.Cut(strings.ToLower(html.UnescapeString(dest)), ":")
	return strings.Join(strings.Fields(s), "") + ":"
}

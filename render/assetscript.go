package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// A file the prose links is published beside the page, on the site's
// origin: an HTML or JavaScript file, or an SVG (or other XML) document
// with script in it, runs there when a reader opens it, with the site's
// cookies and storage. Unless the notebook sets unsafe_html, such assets
// are refused. Benchbook's own plots are not assets and are not concerned.

// scriptExts are files a browser runs, or lets run script, as they are.
var scriptExts = map[string]string{
	".html": "an HTML page", ".htm": "an HTML page", ".xhtml": "an XHTML page", ".xht": "an XHTML page",
	".shtml": "an HTML page", ".js": "a JavaScript file", ".mjs": "a JavaScript module", ".cjs": "a JavaScript file",
	".svgz": "a compressed SVG, which cannot be checked for script",
}

// xmlExts are XML documents a browser renders, script included, when
// opened: their content is checked.
var xmlExts = map[string]bool{".svg": true, ".xml": true, ".xsl": true, ".xslt": true}

// maxScriptCheck bounds how much of an SVG is read to check it.
const maxScriptCheck = 16 << 20

// scriptAsset says why an asset must not be published without unsafe_html,
// or "".
func scriptAsset(a asset) string {
	ext := strings.ToLower(path.Ext(a.Rel))
	const fix = "published beside the page, it would run script on the site's origin when opened; link to it elsewhere, or set unsafe_html = true"
	if what, ok := scriptExts[ext]; ok {
		return fmt.Sprintf("is %s: %s", what, fix)
	}
	if !xmlExts[ext] {
		return ""
	}
	found, err := xmlScript(a.Src)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot be checked for script (%v): fix the file, or set unsafe_html = true", err)
	case found != "":
		return fmt.Sprintf("has %s: %s", found, fix)
	}
	return ""
}

// xmlScript reads an XML document and names the first thing in it that can
// run script when a browser opens it: a script, foreignObject (HTML inside
// SVG), iframe, embed or object element, an event handler attribute
// (onload=...), an attribute whose value is a script URL (href, or the
// to/values of an animation that sets one), a style sheet processing
// instruction (XSLT can write script), or an entity declaration (which can
// expand to any of these).
func xmlScript(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScriptCheck+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxScriptCheck {
		return "", fmt.Errorf("larger than %d MiB", maxScriptCheck>>20)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("not well-formed XML: %w", err)
		}
		if found := tokenScript(tok); found != "" {
			line, _ := d.InputPos()
			return fmt.Sprintf("%s (line %d)", found, line), nil
		}
	}
}

var scriptElements = map[string]bool{"script": true, "foreignobject": true, "iframe": true, "embed": true, "object": true, "handler": true, "listener": true}

func tokenScript(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		name := strings.ToLower(t.Name.Local)
		if scriptElements[name] {
			return "a <" + t.Name.Local + "> element"
		}
		for _, a := range t.Attr {
			attr := strings.ToLower(a.Name.Local)
			switch {
			case strings.HasPrefix(attr, "on"):
				return "an event handler attribute " + a.Name.Local + " on <" + t.Name.Local + ">"
			case attr == "attributename" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "on"):
				return "an animation of the event handler " + a.Value + " on <" + t.Name.Local + ">"
			case valueHasScriptURL(attr, a.Value):
				return "a script URL in " + a.Name.Local + " on <" + t.Name.Local + ">"
			}
		}
	case xml.ProcInst:
		if strings.EqualFold(t.Target, "xml-stylesheet") {
			return "an xml-stylesheet instruction"
		}
	case xml.Directive:
		if bytes.Contains(bytes.ToUpper(t), []byte("<!ENTITY")) {
			return "an entity declaration"
		}
	}
	return ""
}

// valueHasScriptURL reports an attribute value that is, or lists (as an
// animation's values="a;b" does), a URL that runs script.
func valueHasScriptURL(attr, v string) bool {
	if attr != "values" {
		return scriptURL(strings.TrimSpace(v))
	}
	for _, part := range strings.Split(v, ";") {
		if p := strings.TrimSpace(part); p != "" && scriptURL(p) {
			return true
		}
	}
	return false
}

// Package htmlcheck finds what in generated HTML or SVG could run script:
// an element outside the set benchbook writes, an event handler attribute,
// a javascript: URL. Tests of the renderer and the site builder use it on
// pages made from hostile notebooks and results; fuzz targets use it on
// pages made from random ones.
//
// It is a checker of benchbook's own output, not a sanitizer: it tokenizes
// the way browsers do for well-formed markup (text "<" not followed by a
// letter is text; style, script, textarea and title hold raw text), which
// is enough for output that html/template and goldmark produced.
package htmlcheck

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"strings"
)

// Payloads are classic cross-site scripting probes. Each has the marker
// %d for the place it is put, so a test can tell which field leaked.
var Payloads = []string{
	`xss%d<script>alert(1)</script>`,
	`xss%d"><img src=x onerror=alert(1)>`,
	`xss%d'><svg onload=alert(1)>`,
	`xss%d</title></style></textarea><script>alert(1)</script>`,
	`xss%d<a href="javascript:alert(1)">x</a>`,
	`xss%d<!--<script>alert(1)//-->`,
	`xss%d]]><script>alert(1)</script><![CDATA[`,
	`xss%d&lt;script&gt;alert(1)&lt;/script&gt;`,
	`xss%d<iframe srcdoc="<script>alert(1)</script>">`,
	`xss%d` + "\u2028<script>\n---\n<script>alert(1)</script>",
}

// Payload returns payload i (cycling) marked with n.
func Payload(i, n int) string { return fmt.Sprintf(Payloads[i%len(Payloads)], n) }

// allowed are the elements benchbook's pages are made of: its templates,
// goldmark's GFM output (task lists bring input) and chroma's spans.
var allowed = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`html head meta title style link body article header footer nav main section
		h1 h2 h3 h4 h5 h6 p span div ul ol li dl dt dd hr br blockquote pre code kbd
		strong em b i s del sup sub small mark abbr time a img figure figcaption
		table caption thead tbody tfoot tr th td details summary input label`) {
		allowed[t] = true
	}
}

// allowedSVG are the elements of a plot drawn inline in a page. Inside
// <svg> an HTML parser builds SVG elements, so a list of its own; and
// <title> there holds markup, not raw text (an <img> in it breaks out into
// HTML), so its content is checked like any other.
var allowedSVG = map[string]bool{}

func init() {
	for _, t := range strings.Fields(`svg g path text tspan title desc rect circle ellipse line polyline polygon defs clippath`) {
		allowedSVG[t] = true
	}
}

// rawText elements hold text up to their end tag, never markup.
var rawText = map[string]bool{"style": true, "script": true, "textarea": true, "title": true, "xmp": true, "iframe": true, "noscript": true}

// urlAttrs hold URLs a browser may follow or load.
var urlAttrs = map[string]bool{"href": true, "src": true, "action": true, "formaction": true, "poster": true, "background": true, "xlink:href": true, "cite": true, "data": true}

// HTML returns the problems of an HTML document or fragment, one per
// element or attribute, or nil.
func HTML(page []byte) []string {
	var probs []string
	s := string(page)
	inSVG := 0 // depth of <svg> elements around i
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return append(probs, "unterminated comment")
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return append(probs, "unterminated declaration")
			}
			i += end + 1
		case strings.HasPrefix(rest, "</"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return append(probs, "unterminated end tag")
			}
			if inSVG > 0 && strings.EqualFold(strings.TrimSpace(rest[2:end]), "svg") {
				inSVG--
			}
			i += end + 1
		case len(rest) > 1 && isLetter(rest[1]):
			name, attrs, n, ok := startTag(rest)
			if !ok {
				return append(probs, fmt.Sprintf("unterminated tag %.40q", rest))
			}
			i += n
			if inSVG > 0 || name == "svg" {
				if !allowedSVG[name] {
					probs = append(probs, fmt.Sprintf("element <%s> in an inline <svg>", name))
				}
				probs = append(probs, checkElement(name, attrs, true)...)
				if name == "svg" && !strings.HasSuffix(rest[:n], "/>") {
					inSVG++
				}
				continue
			}
			probs = append(probs, checkElement(name, attrs, false)...)
			if rawText[name] {
				end := strings.Index(strings.ToLower(s[i:]), "</"+name)
				if end < 0 {
					return append(probs, fmt.Sprintf("<%s> never closed", name))
				}
				i += end
			}
		default:
			i++ // a "<" that starts no tag is text
		}
	}
	return probs
}

type attr struct{ name, value string }

// startTag reads "<name attr=value ...>" at the start of s.
func startTag(s string) (name string, attrs []attr, n int, ok bool) {
	i := 1
	for i < len(s) && !isSpace(s[i]) && s[i] != '>' && s[i] != '/' {
		i++
	}
	name = strings.ToLower(s[1:i])
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			return "", nil, 0, false
		}
		if s[i] == '>' {
			return name, attrs, i + 1, true
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && (s[i] != '/' || i == start) {
			i++
		}
		a := attr{name: strings.ToLower(s[start:i])}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return "", nil, 0, false
				}
				a.value = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				a.value = s[vs:i]
			}
		}
		attrs = append(attrs, a)
	}
}

func checkElement(name string, attrs []attr, svg bool) []string {
	var probs []string
	switch {
	case svg && (name == "script" || name == "foreignobject" || name == "iframe" || name == "handler"):
		probs = append(probs, fmt.Sprintf("element <%s>", name))
	case !svg && !allowed[name]:
		probs = append(probs, fmt.Sprintf("element <%s>", name))
	}
	for _, a := range attrs {
		value := html.UnescapeString(a.value)
		switch {
		case strings.HasPrefix(a.name, "on"):
			probs = append(probs, fmt.Sprintf("<%s %s=%q>: event handler", name, a.name, value))
		case a.name == "srcdoc" || a.name == "http-equiv":
			probs = append(probs, fmt.Sprintf("<%s %s=%q>", name, a.name, value))
		case urlAttrs[a.name] || strings.HasSuffix(a.name, ":href"):
			if bad := dangerousURL(name, value); bad != "" {
				probs = append(probs, fmt.Sprintf("<%s %s=%q>: %s", name, a.name, value, bad))
			}
		case a.name == "style":
			v := strings.ToLower(value)
			if strings.Contains(v, "expression(") || strings.Contains(v, "javascript:") || strings.Contains(v, "url(") {
				probs = append(probs, fmt.Sprintf("<%s style=%q>", name, value))
			}
		case svg && (name == "set" || name == "animate") && a.name == "attributename" && strings.Contains(strings.ToLower(value), "href"):
			probs = append(probs, fmt.Sprintf("<%s attributeName=%q>", name, value))
		}
	}
	return probs
}

// dangerousURL says why a URL would run script, or "".
func dangerousURL(element, u string) string {
	// Browsers ignore ASCII whitespace and control characters inside the
	// scheme ("java\tscript:").
	var b strings.Builder
	for _, r := range u {
		if r > ' ' {
			b.WriteRune(r)
		}
	}
	v := strings.ToLower(b.String())
	switch {
	case strings.HasPrefix(v, "javascript:"), strings.HasPrefix(v, "vbscript:"):
		return "script URL"
	case strings.HasPrefix(v, "data:"):
		if element == "img" && (strings.HasPrefix(v, "data:image/png") || strings.HasPrefix(v, "data:image/gif") || strings.HasPrefix(v, "data:image/jpeg") || strings.HasPrefix(v, "data:image/webp")) {
			return ""
		}
		return "data URL"
	}
	return ""
}

// SVG returns the problems of an SVG image: not well-formed XML, script
// elements, event handlers, script URLs.
func SVG(img []byte) []string {
	var probs []string
	d := xml.NewDecoder(bytes.NewReader(img))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return probs
		}
		if err != nil {
			return append(probs, fmt.Sprintf("not well-formed XML: %v", err))
		}
		if se, ok := tok.(xml.StartElement); ok {
			var attrs []attr
			for _, a := range se.Attr {
				name := a.Name.Local
				if a.Name.Space != "" && a.Name.Local == "href" {
					name = "xlink:href"
				}
				attrs = append(attrs, attr{name: strings.ToLower(name), value: a.Value})
			}
			probs = append(probs, checkElement(strings.ToLower(se.Name.Local), attrs, true)...)
		}
	}
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// Without unsafe_html, a linked file that would run script on the site is
// refused by Check, at the link, naming the file; plain images and data
// are published; with unsafe_html everything is.
func TestScriptAssets(t *testing.T) {
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="4" height="4">`
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"an HTML page", "evil.html", "<script>alert(1)</script>", "is an HTML page"},
		{"an upper-case extension", "evil.HTM", "x", "is an HTML page"},
		{"an XHTML page", "evil.xhtml", "x", "is an XHTML page"},
		{"a script", "evil.js", "alert(1)", "is a JavaScript file"},
		{"a module", "evil.mjs", "alert(1)", "is a JavaScript module"},
		{"an SVG with a script", "evil.svg", svg + "\n<script>alert(1)</script></svg>", "has a <script> element (line 2)"},
		{"an SVG with an event handler", "evil.svg", svg + `<rect onload="alert(1)"/></svg>`, "an event handler attribute onload on <rect>"},
		{"an SVG with upper-case handler", "evil.svg", svg + `<rect ONCLICK="alert(1)"/></svg>`, "event handler attribute ONCLICK"},
		{"an SVG with a javascript: link", "evil.svg", svg + `<a xlink:href="javascript:alert(1)"><rect/></a></svg>`, "a script URL in href on <a>"},
		{"an SVG with an entity-spelled link", "evil.svg", svg + `<a href="&#106;avascript:alert(1)"><rect/></a></svg>`, "a script URL in href"},
		{"an SVG animating a link", "evil.svg", svg + `<a><set attributeName="href" to="javascript:alert(1)"/></a></svg>`, "a script URL in to on <set>"},
		{"an SVG animating values", "evil.svg", svg + `<animate attributeName="href" values="#a;javascript:alert(1)"/></svg>`, "a script URL in values"},
		{"an SVG setting a handler", "evil.svg", svg + `<set attributeName="onmouseover" to="alert(1)"/></svg>`, "an animation of the event handler onmouseover"},
		{"an SVG with foreignObject", "evil.svg", svg + `<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>`, "a <foreignObject> element"},
		{"an SVG with an iframe", "evil.svg", svg + `<iframe/></svg>`, "a <iframe> element"},
		{"an SVG declaring entities", "evil.svg", `<!DOCTYPE svg [<!ENTITY x "&#60;script&#62;alert(1)&#60;/script&#62;">]>` + svg + `&x;</svg>`, "an entity declaration"},
		{"an SVG with a style sheet", "evil.svg", `<?xml-stylesheet type="text/xsl" href="x.xsl"?>` + svg + `</svg>`, "an xml-stylesheet instruction"},
		{"a broken SVG", "evil.svg", svg + `<rect`, "cannot be checked for script (not well-formed XML"},
		{"an XML page with script", "evil.xml", `<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>`, "has a <script> element"},
		{"a compressed SVG", "plot.svgz", "x", "compressed SVG"},
		{"a plain SVG", "dot.svg", `<?xml version="1.0"?>` + svg + `<a href="https://example.org/"><circle cx="2" cy="2" r="2" style="fill:red;stroke:blue"/></a><image href="data:image/png;base64,AAAA"/></svg>`, ""},
		{"a PNG", "dot.png", "PNG", ""},
		{"a CSV", "data.csv", "1,2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, unsafe := range []bool{false, true} {
				src := "title = \"t\"\n"
				if unsafe {
					src += "unsafe_html = true\n"
				}
				src += "[[cells]]\nkind = \"markdown\"\ntext = \"See [the file](" + tc.file + ").\"\n"
				nb := nbtest.Parse(t, src, map[string]string{tc.file: tc.content})
				errs := Check(nb)
				want := tc.want
				if unsafe {
					want = ""
				}
				const line = 4 // the text = line
				switch {
				case want == "" && len(errs) > 0:
					t.Errorf("unsafe_html=%v: Check = %v, want no problem", unsafe, errs)
				case want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), want) || !strings.Contains(errs[0].Error(), `link "`+tc.file+`"`)):
					t.Errorf("unsafe_html=%v: Check = %v, want %q naming %s", unsafe, errs, want, tc.file)
				case want != "" && !strings.HasPrefix(errs[0].Error(), fmt.Sprintf("%s:%d:13: ", nb.Path, line)):
					t.Errorf("Check = %v, want it at line %d", errs, line)
				}
			}
		})
	}
}

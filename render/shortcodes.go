package render

import (
	"bytes"
	"regexp"
	"strings"
)

// Site generators run a template language over a Markdown page before they
// render it: Hugo expands shortcodes ({{< gist ... >}}, {{% ... %}}), which
// can embed third-party scripts and iframes; Jekyll runs Liquid ({% ... %},
// {{ ... }}) over the whole post. Both do so inside code spans and blocks
// too. Unless the notebook sets unsafe_html, the Markdown output shows such
// markup as text, as the HTML page does: every field that is not prose, and
// prose too without unsafe_html.

// hugoText rewrites every Hugo shortcode delimiter in s so that Hugo shows
// it as written. A shortcode becomes its comment form, {{</* x */>}} or
// {{%/* x */%}}, which Hugo prints as {{< x >}} or {{% x %}}, in code as
// well as in text. An opening delimiter with no closing one after it gets
// a backslash ({{\<), which Markdown drops in text (Hugo would otherwise
// stop with an unclosed shortcode).
func hugoText(s string) string {
	if !strings.Contains(s, "{{<") && !strings.Contains(s, "{{%") {
		return s
	}
	var b strings.Builder
	for i := 0; ; {
		j := nextShortcode(s, i)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		kind := s[j+2]
		closer := string(kind) + "}}"
		if kind == '<' {
			closer = ">}}"
		}
		k := strings.Index(s[j+3:], closer)
		if k < 0 {
			b.WriteString(s[i : j+2])
			b.WriteByte('\\')
			b.WriteByte(kind)
			i = j + 3
			continue
		}
		k += j + 3
		b.WriteString(s[i : j+3])
		b.WriteString("/*")
		b.WriteString(s[j+3 : k])
		b.WriteString("*/")
		b.WriteString(closer)
		i = k + len(closer)
	}
}

// nextShortcode returns the index of the next "{{<" or "{{%" in s from i,
// or -1.
func nextShortcode(s string, i int) int {
	for {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return -1
		}
		j += i
		if j+2 < len(s) && (s[j+2] == '<' || s[j+2] == '%') {
			return j
		}
		i = j + 1
	}
}

// Liquid's raw block ends at the first tag named endraw, whatever its
// spacing and whitespace control ({%- endraw -%}).
var endrawRE = regexp.MustCompile(`\{%-?\s*endraw`)

const (
	rawOpen  = "{% raw %}\n"
	rawClose = "{% endraw %}\n"
)

// liquidEscape makes s show as written inside a raw block: each "{%" that
// would end the block early is written by Liquid itself, outside it.
func liquidEscape(s string) string {
	return endrawRE.ReplaceAllStringFunc(s, func(m string) string {
		return `{% endraw %}{{ "{%" }}{% raw %}` + m[2:]
	})
}

// bodyWriter writes the blocks of the Markdown body. Blocks that are not
// live (all of them but prose with unsafe_html) have the markup of the
// generator shown as text: Hugo's shortcodes by default, Liquid for Jekyll,
// where a run of such blocks shares one raw block.
type bodyWriter struct {
	b      *bytes.Buffer
	jekyll bool
	inRaw  bool
}

func (w *bodyWriter) block(s string, live bool) {
	w.b.WriteByte('\n')
	switch {
	case live:
		w.end()
	case w.jekyll:
		if !w.inRaw {
			w.b.WriteString(rawOpen)
			w.inRaw = true
		}
		s = liquidEscape(s)
	default:
		s = hugoText(s)
	}
	w.b.WriteString(s)
}

// end closes the raw block, if one is open.
func (w *bodyWriter) end() {
	if w.inRaw {
		w.b.WriteString(rawClose)
		w.inRaw = false
	}
}

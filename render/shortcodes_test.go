package render

import (
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

func TestHugoText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no shortcode {{ value }} {{x}}", "no shortcode {{ value }} {{x}}"},
		{`{{< gist spf13 7896402 >}}`, `{{</* gist spf13 7896402 */>}}`},
		{`{{% youtube w7Ft2ymGmfc %}}`, `{{%/* youtube w7Ft2ymGmfc */%}}`},
		{"`{{< youtube x >}}` in code", "`{{</* youtube x */>}}` in code"},
		{`{{</x>}}`, `{{</*/x*/>}}`},
		{`{{< a */>}}{{< youtube x >}}`, `{{</* a */*/>}}{{</* youtube x */>}}`},
		{`{{< a {{< b >}}`, `{{</* a {{< b */>}}`},
		{`{{<x and {{%y`, `{{\<x and {{\%y`},
		{`{{</* already a comment */>}}`, `{{</*/* already a comment */*/>}}`},
		{`{{{{<x>}}`, `{{{{</*x*/>}}`},
	} {
		if got := hugoText(tc.in); got != tc.want {
			t.Errorf("hugoText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// With unsafe_html = false every shortcode and every piece of Liquid is
// shown as text in the Markdown output, prose and other fields alike; with
// unsafe_html = true the prose's are left to the generator, the other
// fields' are not.
func TestMarkdownTemplateMarkup(t *testing.T) {
	const prose = "Hi {{< youtube x >}} and {% include evil.html %} {{ site.x }}.\n\n```\n{{< gist a b >}}\n{% endraw %}\n```\n"
	src := func(unsafe bool) string {
		s := "title = \"t\"\n"
		if unsafe {
			s += "unsafe_html = true\n"
		}
		return s + "[[cells]]\nkind = \"markdown\"\ntext = '''\n" + prose + "'''\n" +
			"[[cells]]\nkind = \"plot\"\nfrom = \"b\"\ny = \"ops_per_sec\"\ncaption = \"{{% youtube cap %}} {% raw %}\"\n" +
			"[[cells]]\nkind = \"bench\"\nid = \"b\"\nguests = [\"g\"]\nload = \"l\"\n" +
			"[guests.g]\nkind = \"process\"\ncommand = [\"true\"]\n[loads.l]\ntool = \"builtin\"\n"
	}
	for _, tc := range []struct {
		name           string
		unsafe, jekyll bool
		want, not      []string
	}{
		{name: "hugo", want: []string{"{{</* youtube x */>}}", "{{</* gist a b */>}}", "{{%/* youtube cap */%}}", "{% include evil.html %}"},
			not: []string{"{{< youtube", "{{< gist", "{{% youtube", "---\n\n{% raw %}"}},
		{name: "hugo, unsafe_html", unsafe: true, want: []string{"Hi {{< youtube x >}}", "{{< gist a b >}}", "{{%/* youtube cap */%}}"}},
		{name: "jekyll", jekyll: true, want: []string{"---\n\n{% raw %}\nHi {{< youtube x >}} and {% include evil.html %}",
			`{% endraw %}{{ "{%" }}{% raw %} endraw %}`, "{{% youtube cap %}} {% raw %}", "{% endraw %}\n"},
			not: []string{"{{</*"}},
		{name: "jekyll, unsafe_html", unsafe: true, jekyll: true, want: []string{"---\n\nHi {{< youtube x >}} and {% include evil.html %}",
			"{% endraw %}\n```\n\n{% raw %}\n> **"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := renderMarkdown(t, nbtest.Parse(t, src(tc.unsafe), nil), Options{Jekyll: tc.jekyll})
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("the Markdown lacks %q:\n%s", w, md)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(md, n) {
					t.Errorf("the Markdown has %q:\n%s", n, md)
				}
			}
		})
	}
}

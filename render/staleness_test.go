package render

import (
	"bytes"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// A cell measured with another redis and kernel than the notebook's newest
// run says so in its summary and its appendix, from the stored files
// alone; the newest run itself, and a notebook whose runs agree, say
// nothing.
func TestRenderEnvironmentAcrossCells(t *testing.T) {
	src := resultsNotebook + `
` + nbtest.BenchCell("again", "mt", 5, "host")
	nb, store := withResults(t, src)
	newer := fixture(nb)
	newer.Cell, newer.InputHash = "again", nb.InputHash(nb.Bench("again"), nil)
	newer.Started = newer.Started.Add(24 * time.Hour)
	newer.Guests = newer.Guests[:1]
	if err := store.Save(newer); err != nil {
		t.Fatal(err)
	}
	render := func() (string, string) {
		var html, md bytes.Buffer
		if err := HTML(&html, nb, Options{Results: store}); err != nil {
			t.Fatal(err)
		}
		if err := Markdown(&md, nb, Options{Results: store}); err != nil {
			t.Fatal(err)
		}
		return html.String(), md.String()
	}
	if html, md := render(); strings.Contains(html, "differs from that") || strings.Contains(md, "differs from that") {
		t.Error("runs in the same environment are said to differ")
	}

	newer.Env.Kernel = "6.1.0-57"
	newer.Guests[0].Facts["redis_version"] = "7.2.4"
	if err := store.Save(newer); err != nil {
		t.Fatal(err)
	}
	html, md := render()
	const note = "differs from that of the notebook's newest run (cell again, 2026-11-28 05:00 UTC): kernel 6.1.0 → 6.1.0-57, redis 7.0.15 → 7.2.4 (host)"
	escaped := template.HTMLEscapeString(note)
	for _, want := range []string{
		"results fresh</span>. <span class=\"bb-env\">Note: the environment " + escaped + ".</span>",
		"<dt>Environment</dt><dd>" + escaped + "</dd>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, want := range []string{
		"; the results are fresh. Note: the environment " + mdEscape(note) + ".",
		"- Environment: " + mdEscape(note) + "\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if n := strings.Count(html, "<dt>Environment</dt>"); n != 1 {
		t.Errorf("%d cells have an environment note, want 1 (the older)", n)
	}
}

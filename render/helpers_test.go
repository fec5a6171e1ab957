package render

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// redisProcesses is the [guests] section that most test notebooks share:
// each named guest a local redis-server process, so a test notebook states
// only what sets it apart.
func redisProcesses(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		b.WriteString("[guests." + n + "]\nkind = \"process\"\ncommand = [\"redis-server\", \"--port\", \"{port}\"]\n")
	}
	return b.String()
}

func renderHTML(t testing.TB, nb *notebook.Notebook, opt Options) string {
	t.Helper()
	return rendered(t, "HTML", HTML, nb, opt)
}

func renderMarkdown(t testing.TB, nb *notebook.Notebook, opt Options) string {
	t.Helper()
	return rendered(t, "Markdown", Markdown, nb, opt)
}

// rendered is the page that render (HTML or Markdown, called name in a
// failure) makes of nb.
func rendered(t testing.TB, name string, render func(io.Writer, *notebook.Notebook, Options) error, nb *notebook.Notebook, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := render(&b, nb, opt); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.String()
}

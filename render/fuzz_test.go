package render

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/benchbook/benchbook/internal/testutil/htmlcheck"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/results"
)

// fuzzPath is where fuzzed notebooks pretend to live: nothing is there, so
// local links are "not found" and positions come from the text itself.
const fuzzPath = "/nonexistent-benchbook-fuzz/nb.toml"

// FuzzRender renders arbitrary notebooks. A notebook that parses must
// render to Markdown and HTML without panicking; every problem Check finds
// is positioned; unless it sets unsafe_html, its HTML page holds nothing
// that runs script, and when Check finds no problem (so `benchbook render`
// would write it) neither does its Markdown, rendered by a site generator
// that passes raw HTML through.
func FuzzRender(f *testing.F) {
	for _, p := range []string{"../notebooks/clsf-2014-day2.toml", "../notebooks/unikernels-redis.toml", goldenNotebook} {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte(xssNotebook(false)))
	f.Fuzz(func(t *testing.T, src []byte) {
		nb, err := notebook.Parse(fuzzPath, src)
		if err != nil {
			return // the CLI refuses to render it
		}
		probs := Check(nb)
		for _, e := range probs {
			if e.File != fuzzPath || !e.Pos.IsValid() || e.Pos.Col < 1 {
				t.Fatalf("check problem without a position: %q", e.Error())
			}
		}
		var page, md bytes.Buffer
		if err := HTML(&page, nb, Options{}); err != nil {
			return
		}
		if err := Markdown(&md, nb, Options{}); err != nil {
			t.Fatalf("HTML rendered but Markdown failed: %v", err)
		}
		if nb.UnsafeHTML {
			return
		}
		if bad := htmlcheck.HTML(page.Bytes()); len(bad) > 0 {
			t.Fatalf("the page could run script: %s", strings.Join(bad, "; "))
		}
		if len(probs) == 0 {
			if bad := htmlcheck.HTML(permissive(t, md.Bytes())); len(bad) > 0 {
				t.Fatalf("the Markdown could run script in a permissive site generator: %s\n%s", strings.Join(bad, "; "), md.String())
			}
		}
	})
}

// permissive renders Markdown the way the least careful site generator
// would: raw HTML passed through, URLs not filtered.
func permissive(t *testing.T, md []byte) []byte {
	var b bytes.Buffer
	body := md
	if bytes.HasPrefix(md, []byte("---\n")) {
		if end := bytes.Index(md[4:], []byte("\n---\n")); end >= 0 {
			body = md[4+end+5:]
		}
	}
	if err := permissiveMarkdown().Convert(body, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resultsNotebookFuzz has every kind of cell that shows stored results.
var resultsNotebookFuzz = `title = "t"
[params]
clients = 2
` + nbtest.ProcessGuest("host", nbtest.Redis) + `[guests.vm]
kind = "qemu"
image = "builtin:linux-redis"
[loads.l]
clients = "{clients}"
[[cells]]
kind = "markdown"
text = """
{{ value "tp" "host" "ops_per_sec" }} and {{ ratio "tp" "vm" "host" "latency_p99" "clients=2" }}
"""
` + nbtest.BenchCell("tp", "l", 0, "host", "vm") + `sweep = { clients = [1, 2] }
[[cells]]
kind = "plot"
from = "tp"
group = true
error = "ci95"
[[cells]]
kind = "plot"
from = "tp"
style = "line"
y = "latency_p99"
[[cells]]
kind = "plot"
from = "tp"
style = "percentiles"
[[cells]]
kind = "table"
from = "tp"
baseline = "vm"
[[cells]]
kind = "check"
from = "tp"
claims = ["host.ops_per_sec > 2 * vm.ops_per_sec", "vm.latency_p99 <= host.latency_p99 + 1"]
`

var fuzzResultsNotebook = sync.OnceValue(func() *notebook.Notebook {
	nb, err := notebook.Parse(fuzzPath, []byte(resultsNotebookFuzz))
	if err != nil {
		panic(err)
	}
	return nb
})

// bytesResults is a results store holding one file, as bytes read from disk.
type bytesResults struct{ data []byte }

func (b bytesResults) Load(cell string) (*results.File, error) {
	f, err := results.Decode(cell+".json", b.data)
	if err == nil && f.Cell != cell {
		return nil, errors.New("another cell's file")
	}
	return f, err
}

func (b bytesResults) LoadFailure(cell string) (*results.File, error) {
	f, err := b.Load(cell)
	if err != nil || f.Failure == "" {
		return nil, os.ErrNotExist
	}
	return f, nil
}

// FuzzRenderResults renders a fixed notebook over arbitrary stored
// results: whatever a results file holds (hand-edited, truncated, hostile),
// the page renders without panicking, holds nothing that runs script, and
// so do its plots.
func FuzzRenderResults(f *testing.F) {
	if b, err := os.ReadFile("../results/testdata/sample.json"); err == nil {
		f.Add(bytes.ReplaceAll(b, []byte(`"throughput"`), []byte(`"tp"`)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nb := fuzzResultsNotebook()
		rep := newReport(nb, Options{Results: bytesResults{data}})
		var page, md bytes.Buffer
		if err := writeHTML(&page, rep); err != nil {
			t.Fatalf("html: %v", err)
		}
		if err := writeMarkdown(&md, rep); err != nil {
			t.Fatalf("markdown: %v", err)
		}
		if bad := htmlcheck.HTML(page.Bytes()); len(bad) > 0 {
			t.Fatalf("the page could run script: %s", strings.Join(bad, "; "))
		}
		if bad := htmlcheck.HTML(permissive(t, md.Bytes())); len(bad) > 0 {
			t.Fatalf("the Markdown could run script in a permissive site generator: %s", strings.Join(bad, "; "))
		}
		for _, fig := range rep.plots {
			if fig != nil && fig.Err == "" {
				if bad := htmlcheck.SVG(fig.SVG); len(bad) > 0 {
					t.Fatalf("plot %s could run script: %s", fig.Name, strings.Join(bad, "; "))
				}
			}
		}
	})
}

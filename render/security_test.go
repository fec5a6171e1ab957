package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/htmlcheck"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/results"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// hostile is a notebook and a stored run with a cross-site scripting probe
// in every value that reaches a page. Each probe starts with "xssN", N
// naming its field in fields, so a failure says which one leaked.
type hostile struct {
	src    string
	good   *results.File
	failed *results.File
	fields map[int]string
}

func newHostile(unsafe bool) *hostile {
	h := &hostile{fields: map[int]string{}}
	n := 0
	p := func(field string) string {
		n++
		h.fields[n] = field
		return htmlcheck.Payload(n, n)
	}
	q := func(field string) string { return strconv.Quote(p(field)) }

	var b strings.Builder
	fmt.Fprintf(&b, "title = %s\nsummary = %s\nauthors = [%s]\ntags = [%s]\nunsafe_html = %t\n",
		q("title"), q("summary"), q("author"), q("tag"), unsafe)
	fmt.Fprintf(&b, "[params]\nmode = %s\n", q("param value"))
	fmt.Fprintf(&b, "[guests.host]\nkind = \"process\"\ncommand = [\"redis-server\", \"--port\", \"{port}\"]\ndescription = %s\n", q("guest description"))
	fmt.Fprintf(&b, "[guests.vm]\nkind = \"qemu\"\nimage = \"builtin:linux-redis\"\noptional = true\n")
	fmt.Fprintf(&b, "[loads.l]\ntool = \"builtin\"\nrequests = 10\ndescription = %s\n", q("load description"))
	prose := fmt.Sprintf("Prose %s, [a link](https://example.org/?q=%%22%%3E) <https://example.org/>\n\n%s\n",
		p("inline raw HTML in prose"), p("raw HTML block in prose"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"markdown\"\ntext = %s\n", strconv.Quote(prose))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"bench\"\nid = \"tp\"\nguests = [\"host\", \"vm\"]\nload = \"l\"\ntitle = %s\ndescription = %s\nsweep = { mode = [%s, %s] }\n",
		q("bench title"), q("bench description"), q("sweep value 1"), q("sweep value 2"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"plot\"\nfrom = \"tp\"\ntitle = %s\ncaption = %s\nalt = %s\n", q("plot title"), q("plot caption"), q("plot alt"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"plot\"\nfrom = \"tp\"\nstyle = \"line\"\ntitle = %s\n", q("line plot title"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"plot\"\nfrom = \"tp\"\nstyle = \"percentiles\"\ntitle = %s\n", q("percentile plot title"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"table\"\nfrom = \"tp\"\nbaseline = \"host\"\ntitle = %s\ncaption = %s\n", q("table title"), q("table caption"))
	fmt.Fprintf(&b, "[[cells]]\nkind = \"check\"\nfrom = \"tp\"\ntitle = %s\nclaims = [\"host.ops_per_sec > 2 * vm.ops_per_sec\", \"vm.ops_per_sec <host.ops_per_sec\", \"vm.latency_p99<=host.latency_p99/2\"]\n", q("check title"))
	h.src = b.String()

	started := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	point := func(mode string, ops float64) results.Point {
		pt := results.Point{Params: map[string]any{"mode": mode}}
		for i := range 3 {
			pt.Repeats = append(pt.Repeats, results.Repeat{
				Index: i, Started: started, Seconds: 1, Log: p("repeat log path"),
				Metrics:     map[string]float64{"ops_per_sec": ops * float64(10+i) / 10, "latency_avg": 100, "latency_p99": 200},
				Percentiles: []results.Percentile{{P: 50, LatencyUs: 100}, {P: 99, LatencyUs: 200}, {P: 100, LatencyUs: 900}},
			})
		}
		pt.Summarize()
		for k, s := range pt.Summary {
			s.Warning = p("summary warning")
			pt.Summary[k] = s
		}
		return pt
	}
	h.good = &results.File{
		Notebook: p("results notebook path"), Cell: "tp", InputHash: p("input hash"),
		Started: started, Finished: started.Add(time.Minute),
		Env: results.Env{
			CPUModel: p("env cpu model"), Cores: 2, MemoryBytes: 1 << 30, Kernel: p("env kernel"), OS: p("env os"),
			Arch: p("env arch"), GoVersion: p("env go version"), Benchbook: p("env benchbook version"),
			Virtualization: p("env virtualization"), Container: p("env container"),
			Tools: map[string]string{p("tool name"): p("tool version")},
		},
		Params: map[string]any{"mode": p("stored param")},
		Guests: []results.Guest{
			{
				Name: "host", Kind: p("guest kind"), Status: results.StatusOK,
				Facts:    map[string]string{p("fact name"): p("fact value"), "accel": p("accel fact"), "redis_version": p("redis version fact")},
				Commands: []string{p("guest command"), p("load command")},
				Points:   []results.Point{point(p("point param 1"), 60000), point(p("point param 2"), 50000)},
			},
			{Name: "vm", Kind: "qemu", Status: results.StatusFailed, Reason: p("failed guest reason"), Points: []results.Point{{}, {}}},
			{Name: p("guest name only in the results"), Kind: "process", Status: results.StatusSkipped, Reason: p("skipped guest reason"), Points: []results.Point{{}}},
		},
	}
	h.failed = &results.File{
		Notebook: "nb.toml", Cell: "tp", InputHash: "sha256:0", Started: started, Finished: started,
		Failure: p("failure of the last run"), Guests: []results.Guest{},
	}
	return h
}

// fakeResults serves files from memory, as a results.Store would from disk.
type fakeResults struct{ good, failed *results.File }

func (f fakeResults) Load(cell string) (*results.File, error)        { return orNotExist(f.good) }
func (f fakeResults) LoadFailure(cell string) (*results.File, error) { return orNotExist(f.failed) }

func orNotExist(f *results.File) (*results.File, error) {
	if f == nil {
		return nil, os.ErrNotExist
	}
	return f, nil
}

// leaked returns the fields whose probe appears unescaped: "xssN" followed by
// a raw "<" or by the quote that would close an attribute.
func (h *hostile) leaked(out string) []string {
	var bad []string
	for n, field := range h.fields {
		m := fmt.Sprintf("xss%d", n)
		if strings.Contains(out, m+"<") || strings.Contains(out, m+`">`) || strings.Contains(out, m+`'>`) {
			bad = append(bad, fmt.Sprintf("%d (%s)", n, field))
		}
	}
	sort.Strings(bad)
	return bad
}

// shown returns the fields whose probe appears at all.
func (h *hostile) shown(out string) map[string]bool {
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`xss(\d+)`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		seen[h.fields[n]] = true
	}
	return seen
}

// Every value of a notebook and of its stored results reaches the HTML page
// escaped: the page holds only the elements and attributes benchbook
// writes, no probe appears raw, and the plots (SVG, opened on their own by
// a browser) hold no script either.
func TestHostileValuesAreEscaped(t *testing.T) {
	h := newHostile(false)
	nb := nbtest.Parse(t, h.src, nil)
	out := t.TempDir()
	opt := Options{Results: fakeResults{h.good, h.failed}, Version: htmlcheck.Payload(0, 999)}
	if err := Write(out, nb, opt); err != nil {
		t.Fatal(err)
	}
	page := readOut(t, out, HTMLFile)
	if probs := htmlcheck.HTML([]byte(page)); len(probs) > 0 {
		t.Errorf("the page could run script:\n%s", strings.Join(probs, "\n"))
	}
	if bad := h.leaked(page); len(bad) > 0 {
		t.Errorf("unescaped on the page: %s", strings.Join(bad, ", "))
	}
	// The probes must have been there to be escaped: every field that a
	// page shows is on it.
	shown := h.shown(page)
	for _, field := range []string{
		"title", "summary", "author", "tag", "inline raw HTML in prose", "raw HTML block in prose",
		"bench title", "bench description", "plot caption", "table title", "table caption", "check title",
		"env cpu model", "env kernel", "env os", "tool name", "tool version", "stored param",
		"fact name", "fact value", "guest command", "load command", "failed guest reason",
		"guest name only in the results", "skipped guest reason", "point param 1", "summary warning",
		"input hash", "failure of the last run", "accel fact", "env arch", "env benchbook version", "env container",
		"env go version", "env virtualization", "guest kind", "line plot title", "percentile plot title",
		"point param 2", "redis version fact", "sweep value 1", "sweep value 2",
	} {
		if !shown[field] {
			t.Errorf("the page does not show the %s: the test no longer covers it", field)
		}
	}

	svgs, _ := filepath.Glob(filepath.Join(out, "*.svg"))
	// The line plot of a sweep over strings cannot be drawn: a placeholder
	// says so (and shows its title, escaped).
	if len(svgs) != 2 {
		t.Errorf("%d plots written, want 2", len(svgs))
	}
	svgShown := map[string]bool{}
	for _, f := range svgs {
		svg := readOut(t, out, filepath.Base(f))
		if probs := htmlcheck.SVG([]byte(svg)); len(probs) > 0 {
			t.Errorf("%s could run script:\n%s", filepath.Base(f), strings.Join(probs, "\n"))
		}
		for k := range h.shown(svg) {
			svgShown[k] = true
		}
	}
	for _, field := range []string{"plot title", "percentile plot title", "guest name only in the results"} {
		if !svgShown[field] {
			t.Errorf("no plot shows the %s: the test no longer covers it", field)
		}
	}

	// The fragment a site embeds is the same article.
	var frag bytes.Buffer
	opt.Fragment = true
	if err := HTML(&frag, nb, opt); err != nil {
		t.Fatal(err)
	}
	if probs := htmlcheck.HTML(frag.Bytes()); len(probs) > 0 {
		t.Errorf("the fragment could run script:\n%s", strings.Join(probs, "\n"))
	}

	checkMarkdownSafe(t, h, readOut(t, out, MarkdownFile))
}

// checkMarkdownSafe renders the Markdown output the way the most permissive
// site generator would (raw HTML passed through, no URL filtering) and
// checks the result, and that the front matter is one block of quoted
// values no probe can break out of.
func checkMarkdownSafe(t *testing.T, h *hostile, md string) {
	t.Helper()
	if !strings.HasPrefix(md, "---\n") {
		t.Fatalf("markdown does not start with front matter:\n%.200s", md)
	}
	end := strings.Index(md[4:], "\n---\n")
	if end < 0 {
		t.Fatal("front matter never closed")
	}
	front, body := md[4:4+end], md[4+end+5:]
	line := regexp.MustCompile(`^(?:[a-z]+: "(?:[^"\\]|\\.)*"|  - "(?:[^"\\]|\\.)*"|[a-z]+:|date: [0-9-]+|draft: (?:true|false))$`)
	for _, l := range strings.Split(front, "\n") {
		if !line.MatchString(l) {
			t.Errorf("front matter line is not a quoted value: %q", l)
		}
	}
	var page bytes.Buffer
	if err := permissiveMarkdown().Convert([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if probs := htmlcheck.HTML(page.Bytes()); len(probs) > 0 {
		t.Errorf("the Markdown output, rendered with raw HTML allowed, could run script:\n%s\n\nmarkdown:\n%s", strings.Join(probs, "\n"), body)
	}
	if bad := h.leaked(page.String()); len(bad) > 0 {
		t.Errorf("unescaped in the Markdown output: %s", strings.Join(bad, ", "))
	}
}

// With unsafe_html = true the prose keeps its raw HTML, and nothing else
// does: every other field is still escaped.
func TestUnsafeHTMLOnlyProse(t *testing.T) {
	h := newHostile(true)
	nb := nbtest.Parse(t, h.src, nil)
	page := renderHTML(t, nb, Options{Results: fakeResults{h.good, h.failed}})
	var bad []string
	for _, f := range h.leaked(page) {
		if !strings.Contains(f, "in prose") {
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		t.Errorf("unsafe_html let through more than prose: %s", strings.Join(bad, ", "))
	}
	prose := 0
	for n, f := range h.fields {
		if f == "inline raw HTML in prose" {
			prose = n
		}
	}
	if !strings.Contains(page, fmt.Sprintf("xss%d<", prose)) {
		t.Errorf("unsafe_html = true, but the prose's raw HTML was escaped")
	}
}

// Rendering never starts a process: a notebook whose guest would create a
// file when run is rendered and written, and the file does not appear.
// (cmd/benchbook's tests do the same through render, build and serve.)
func TestRenderRunsNothing(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	src := nbtest.OneBench("inert", fmt.Sprintf(`["sh", "-c", "touch %s"]`, marker)) + `[[cells]]
kind = "plot"
from = "tp"
`
	nb := nbtest.Parse(t, src, nil)
	if err := Write(t.TempDir(), nb, Options{Results: results.ForNotebook(nb.Path)}); err != nil {
		t.Fatal(err)
	}
	Check(nb)
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("rendering ran the guest's command (%s exists)", marker)
	}
}

// The render packages do not even import what starts processes: the
// renderer's only way to the outside world is reading and writing files.
func TestRenderImportsNoExec(t *testing.T) {
	for _, dir := range []string{".", "plot", "site"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, banned := range []string{`"os/exec"`, `os.StartProcess`, `syscall.Exec`, `syscall.ForkExec`, `benchbook/runner`, `results.CollectEnv`} {
				if bytes.Contains(src, []byte(banned)) {
					t.Errorf("%s uses %s: rendering must never start a process", f, banned)
				}
			}
		}
	}
}

// A link that would run script (or reach the reader's files) is refused at
// check time, with its position, whatever its spelling; rendering such a
// notebook writes nothing. The HTML page would blank it, but the Markdown
// output hands prose to site generators as written.
func TestScriptURLsRefused(t *testing.T) {
	links := []string{
		"[a](javascript:alert(1))",
		"![i](JaVaScRiPt:alert(1))",
		"<vbscript:msgbox(1)>",
		"[a](&#106;avascript:alert(1))",
		"[a](<java\tscript:alert(1)>)",
		"[a](data:text/html,<script>alert(1)</script>)",
		"[a](file:///etc/passwd)",
		"[r]\n\n[r]: javascript:alert(1)",
	}
	for _, link := range links {
		src := fmt.Sprintf("title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = %s\n", strconv.Quote("Some text.\n"+link))
		nb := nbtest.Parse(t, src, nil)
		errs := Check(nb)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "URLs are refused") || errs[0].Pos.Line != 4 {
			t.Errorf("%q: check gave %v", link, errs)
		}
		out := t.TempDir()
		if err := Write(out, nb, Options{}); err == nil {
			t.Errorf("%q: rendered", link)
		}
		if _, err := os.Stat(filepath.Join(out, MarkdownFile)); !os.IsNotExist(err) {
			t.Errorf("%q: a page was written", link)
		}
	}
	// Images may be inline data; unsafe_html lets an author link anything.
	for _, src := range []string{
		"title = \"t\"\n[[cells]]\nkind = \"markdown\"\ntext = \"![dot](data:image/png;base64,iVBORw0KGgo=)\"\n",
		"title = \"t\"\nunsafe_html = true\n[[cells]]\nkind = \"markdown\"\ntext = \"[a](javascript:void(0))\"\n",
	} {
		if errs := Check(nbtest.Parse(t, src, nil)); len(errs) > 0 {
			t.Errorf("%s: %v", src, errs)
		}
	}
}

// permissiveMarkdown is a Markdown renderer as permissive as site
// generators get: GFM, raw HTML passed through, URLs not filtered.
var permissiveMarkdown = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.GFM, extension.Footnote), goldmark.WithRendererOptions(html.WithUnsafe()))
})

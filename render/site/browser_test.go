package site

import (
	"bytes"
	"context"
	"encoding/csv"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

// chromium finds a Chromium to drive, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed (Debian package chromium; make setup installs it)")
	return ""
}

// browser starts a headless Chromium with a fresh profile. chromedp kills it,
// and every child process that used its profile, when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
	})
	return ctx
}

// consoleErrors collects the errors a page reports: console.error calls,
// uncaught exceptions, and browser log errors such as a failed image load.
func consoleErrors(ctx context.Context) func() []string {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	messages := chromedp.Console(ctx)
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				errs = append(errs, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// The built site, served by a plain static server, in a real browser: the
// index lists both example reports, its link leads to a page whose plot is
// an SVG of non-zero size, and nothing logs an error.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	dir, out := examples(t), t.TempDir()
	if rep := build(t, dir, out); len(rep.Failed) > 0 {
		t.Fatalf("build: %v", rep.Failed[0].Err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()

	// Start the browser first, then bound the test: a timeout on the first
	// run would end the browser itself.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	errs := consoleErrors(ctx)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()

	// A sub-path, as on a project site: relative links must hold.
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/index.html"), chromedp.WaitVisible(chromedp.CSS(".bb-list"))); err != nil {
		t.Fatalf("index: %v", err)
	}
	titles, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".bb-item-title a")].map(a => a.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(titles) != 2 || !strings.HasPrefix(titles[0], "Redis on unikernels") || !strings.HasPrefix(titles[1], "CLSF 2014") {
		t.Fatalf("index titles = %q", titles)
	}

	_, err = chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`.bb-item-title a[href="unikernels-redis/index.html"]`))))
	if err != nil {
		t.Fatalf("follow the link: %v", err)
	}
	loc, err := chromedp.Run(tctx, chromedp.Location())
	// A static server may redirect .../index.html to .../; both are the page.
	if err != nil || !strings.Contains(loc, "/unikernels-redis/") {
		t.Fatalf("after the click: %s %v", loc, err)
	}
	type box struct {
		Src         string
		W, H        float64
		Tips        []string
		HoverTitle  string // the title of the <g> under the first mark's centre
		FirstMarkOf string // that mark's own title
	}
	// Plots are drawn inline: scroll each into view, as a reader does, and
	// ask what a pointer over its first titled mark would hover.
	plots, err := chromedp.Run(tctx, chromedp.Evaluate[[]box](`(() => {
		const out = [];
		for (const fig of document.querySelectorAll('figure.bb-figure')) {
			const svg = fig.querySelector('.bb-plot > svg');
			const link = fig.querySelector('figcaption a[href$=".svg"]');
			if (!svg || !link) { out.push({Src: link ? link.getAttribute("href") : "(no link)"}); continue; }
			svg.scrollIntoView();
			const r = svg.getBoundingClientRect();
			const b = {Src: link.getAttribute("href"), W: r.width, H: r.height,
				Tips: [...svg.querySelectorAll("g > title")].map(t => t.textContent)};
			const g = svg.querySelector("g > title") && svg.querySelector("g > title").parentElement;
			const mark = g && g.querySelector("path, rect, circle");
			if (mark) {
				const m = mark.getBoundingClientRect();
				const el = document.elementFromPoint(m.left + m.width / 2, m.top + m.height / 2);
				const hit = el && el.closest("g");
				const t = hit && hit.querySelector(":scope > title");
				b.HoverTitle = t ? t.textContent : "";
				b.FirstMarkOf = g.querySelector(":scope > title").textContent;
			}
			out.push(b);
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) == 0 {
		t.Fatalf("the page shows no plot")
	}
	for _, p := range plots {
		if p.W <= 0 || p.H <= 0 {
			t.Errorf("plot %s: drawn %gx%g", p.Src, p.W, p.H)
		}
	}
	// The first plot is a bar chart: a tip per bar with a figure, each
	// shown when the pointer is over its bar, on the page itself.
	t.Logf("plot %s: %d tips; over its first bar: %q", plots[0].Src, len(plots[0].Tips), plots[0].HoverTitle)
	tipsMatchCSV(t, out, plots[0].Src, plots[0].Tips)
	if plots[0].HoverTitle == "" || plots[0].HoverTitle != plots[0].FirstMarkOf {
		t.Errorf("plot %s: over its first bar the pointer hovers %q, want its tip %q", plots[0].Src, plots[0].HoverTitle, plots[0].FirstMarkOf)
	}
	// The link beside a plot opens its SVG, whose marks carry the same figures.
	_, err = chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`figcaption a[href="`+plots[0].Src+`"]`))))
	if err != nil {
		t.Fatalf("open the plot %s: %v", plots[0].Src, err)
	}
	checkTips(t, tctx, out)
	for _, e := range errs() {
		t.Errorf("console: %s", e)
	}
}

// The preview in a real browser: saving the notebook reloads the open page,
// and a broken notebook shows its problem on the page until it is fixed.
func TestBrowserPreviewReloads(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("First title", "2020-01-01"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir, Options: Options{Version: "test"}, Debounce: 50 * time.Millisecond}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(sctx, ln) }()
	ended := false // Serve returned, and its error was taken
	defer func() {
		stop()
		if !ended {
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}()
	waitFirstBuild(t, s, served, &ended)

	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	errs := consoleErrors(ctx)
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate("http://"+ln.Addr().String()+"/a/")); err != nil {
		t.Fatal(err)
	}
	// Poll from here, not in the page: a reload ends any script polling in it.
	waitFor := func(what, js string) {
		t.Helper()
		for {
			ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			select {
			case <-tctx.Done():
				t.Fatalf("%s: %v (last error %v)", what, tctx.Err(), err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// The page listens before anything changes.
	for s.clientCount() == 0 {
		select {
		case <-tctx.Done():
			t.Fatal("the page never opened its event stream")
		case <-time.After(10 * time.Millisecond):
		}
	}

	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("Second title", "2020-01-01"))
	waitFor("reload after an edit", `document.title === "Second title"`)

	nbtest.File(t, filepath.Join(dir, "b.toml"), "title = \n")
	waitFor("problems shown", `!!document.getElementById("bb-preview-problems")?.textContent.includes("b.toml:1:")`)
	nbtest.File(t, filepath.Join(dir, "b.toml"), nb("B", "2020-01-02"))
	waitFor("problems cleared", `document.getElementById("bb-preview-problems") === null`)

	for _, e := range errs() {
		t.Errorf("console: %s", e)
	}
}

// waitFirstBuild waits until s has built once, and fails the test with
// Serve's error if Serve returns first (a watch or a build that failed),
// rather than waiting for ever.
func waitFirstBuild(t *testing.T, s *Server, served <-chan error, ended *bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for s.Builds() == 0 {
		select {
		case err := <-served:
			*ended = true
			t.Fatalf("serve ended before its first build: %v", err)
		case <-deadline:
			t.Fatal("serve did not build within 30s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// checkTips checks the plot's SVG the browser shows by itself (an <img>
// shows no tooltips, so the page links it): Chromium reads it as SVG with
// a <title> on every mark, one per figure of the plot's CSV, each naming
// its row's guest.
func checkTips(t *testing.T, ctx context.Context, out string) {
	t.Helper()
	type doc struct {
		Root   string
		Errors int
		Tips   []string
	}
	svgURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.HasSuffix(svgURL, ".svg") {
		t.Fatalf("the browser shows %s, not the plot's SVG: %v", svgURL, err)
	}
	d, err := chromedp.Run(ctx, chromedp.Evaluate[doc](`({
		Root: document.documentElement.localName,
		Errors: document.getElementsByTagName("parsererror").length,
		Tips: [...document.querySelectorAll("g > title")].map(t => t.textContent),
	})`))
	if err != nil {
		t.Fatalf("open %s: %v", svgURL, err)
	}
	if d.Root != "svg" || d.Errors > 0 {
		t.Fatalf("%s in Chromium: root <%s>, %d parse errors", svgURL, d.Root, d.Errors)
	}
	u, err := url.Parse(svgURL)
	if err != nil {
		t.Fatal(err)
	}
	tipsMatchCSV(t, out, path.Base(u.Path), d.Tips)
}

// tipsMatchCSV checks the tips of the bar chart svg (a file name in out)
// against its CSV: one per bar with a figure, in order, each beginning with
// its bar's category.
func tipsMatchCSV(t *testing.T, out, svg string, tips []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, "unikernels-redis", strings.TrimSuffix(svg, ".svg")+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if recs[0][0] != "category" {
		t.Fatalf("%s: the first plot of the page is no bar chart: %q", svg, recs[0])
	}
	var want []string
	for _, r := range recs[1:] {
		if r[len(r)-4] != "" { // a bar with a figure (a missing one has only its note)
			want = append(want, r[0])
		}
	}
	if len(tips) != len(want) || len(want) == 0 {
		t.Fatalf("%s: %d tips for %d figures: %q", svg, len(tips), len(want), tips)
	}
	for i, tip := range tips {
		if !strings.HasPrefix(tip, want[i]+": ") {
			t.Errorf("%s: tip %d is %q, its CSV row is %s's", svg, i, tip, want[i])
		}
	}
}

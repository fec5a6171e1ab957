package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/benchbook/benchbook/internal/buildinfo"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render/site"
	"github.com/benchbook/benchbook/results"
	"github.com/benchbook/benchbook/runner"
)

const defaultNotebooks = "notebooks"

type buildOpts struct {
	out     string
	baseURL string
	title   string
	format  string
	drafts  bool
	execute bool
	force   bool
	jobs    int

	forceOverwrite bool
}

func buildCommand() *command {
	return &command{
		name:  "build",
		args:  "[DIR] [-o OUT] [--format html|hugo|jekyll] [--execute]",
		short: "build a folder of notebooks into a static site",
		long: `Builds the notebooks of DIR (default notebooks/, its *.toml files) into
OUT (default public/): a page per notebook at OUT/SLUG/index.html with its
plots, assets and index.md beside it; OUT/index.html listing the reports
newest first; a page per tag under OUT/tags/; an Atom feed OUT/feed.xml and
OUT/sitemap.xml. Links are relative, so the site works from file://, from
any sub-path and from --base-url, which makes the feed and sitemap absolute.

Builds are incremental: a manifest in OUT records what each page was made
from (the notebook, its stored results, its assets, benchbook's version),
and a rebuild renders only what changed and removes the pages of deleted
notebooks. Drafts are left out unless --drafts.

A build replaces or removes only what its manifest says benchbook wrote:
a page folder, a site file or a post in OUT that it did not write stops
the build before anything is written, naming the path (--force-overwrite
replaces it). OUT may not be the notebooks folder or hold it, nor be /,
your home folder or a results folder.

A notebook with problems is reported (file:line:col) and left out; the
rest is built and the exit status is 1.

Building never executes anything, unless --execute: then the stale bench
cells of every notebook are run first, one notebook after another; a failed
run shows in its page, the build goes on, and the exit status is 1.

After the summary, a line names the pages that show results which are not
current: a cell never run, its newest run failed, its inputs changed, or
its results were measured in another environment (redis, load tool,
kernel, image...) than the notebook's newest run. The build reads that
from the stored files; it never probes this machine, so whether the
results still describe it is for benchbook status NOTEBOOK.

--format hugo writes page bundles (OUT/SLUG/index.md and its files) for a
Hugo site's content folder; --format jekyll writes OUT/_posts/DATE-SLUG.md
with its files in OUT/SLUG/. See docs/site.md.

Example:

  benchbook build -o public
  benchbook build notebooks --base-url https://example.org/bench/
  benchbook build --format hugo -o site/content/posts`,
		flags: func(fs *flag.FlagSet) any {
			o := &buildOpts{}
			fs.StringVar(&o.out, "o", "public", "output `folder`")
			fs.StringVar(&o.baseURL, "base-url", "", "the site's public `URL`; makes the feed and sitemap absolute")
			fs.StringVar(&o.title, "title", site.DefaultTitle, "site title, for the index and the feed")
			fs.StringVar(&o.format, "format", string(site.HTML), "output `format`: html (a site), hugo (page bundles) or jekyll (_posts)")
			fs.BoolVar(&o.drafts, "drafts", false, "include notebooks with draft = true")
			fs.BoolVar(&o.execute, "execute", false, "run the stale bench cells of every notebook before building")
			fs.BoolVar(&o.force, "force", false, "render every page, even unchanged ones")
			fs.BoolVar(&o.forceOverwrite, "force-overwrite", false, "replace or remove paths in OUT that benchbook did not write")
			fs.IntVar(&o.jobs, "j", 0, "pages rendered in parallel (default: one per core)")
			return o
		},
		maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			dir := defaultNotebooks
			if len(args) == 1 {
				dir = args[0]
			}
			return runBuild(ctx, env, opts.(*buildOpts), dir)
		},
	}
}

// runBuild builds the site of dir (after running its stale cells with
// --execute), prints what failed and the summary, and judges the claims.
func runBuild(ctx context.Context, env *cmdEnv, o *buildOpts, dir string) error {
	if o.baseURL != "" && !strings.Contains(o.baseURL, "://") {
		return fmt.Errorf("--base-url %q: give a full URL, such as https://example.org/bench/", o.baseURL)
	}
	var ran []execFailure
	if o.execute {
		var err error
		if ran, err = executeNotebooks(ctx, env, dir, o.drafts); err != nil {
			return err
		}
	}
	if os.Getenv("GOGC") == "" {
		// A build makes much short-lived garbage (goldmark trees,
		// chroma tokens) and keeps little: fewer collections cut a
		// cold build's CPU time by about a fifth, for tens of MB.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	bar := newProgressBar(env.stderr)
	rep, err := site.Build(ctx, dir, site.Options{
		Out:     o.out,
		Format:  site.Format(o.format),
		BaseURL: o.baseURL,
		Title:   o.title,
		Drafts:  o.drafts,
		Jobs:    o.jobs,
		Force:   o.force,

		ForceOverwrite: o.forceOverwrite,
		Version:        buildinfo.Version(),
		Render:         renderOptions,
		Progress:       bar.update,
	})
	bar.done()
	if ctx.Err() != nil {
		fmt.Fprintf(env.stderr, "benchbook build: interrupted; the next build finishes the job\n")
		return silent(130, ctx.Err())
	}
	if rep == nil {
		return err
	}
	for _, f := range rep.Failed {
		if list := notebook.Errors(f.Err); list != nil {
			for _, e := range list {
				fmt.Fprintln(env.stderr, e)
			}
		} else {
			fmt.Fprintf(env.stderr, "%s: %v\n", f.Notebook, f.Err)
		}
	}
	for _, f := range ran {
		fmt.Fprintf(env.stderr, "benchbook build: %s: %v\n", f.notebook, f.err)
	}
	fmt.Fprintln(env.stdout, rep.Summary())
	if line := rep.StaleLine(); line != "" {
		fmt.Fprintln(env.stdout, line)
	}
	// A site never publishes a sentence its data no longer support.
	// An inconclusive claim is said, not failed: its page says why.
	claims := buildClaims(env, rep.Checked)
	if line := claims.testLine(); line != "" {
		fmt.Fprintf(env.stderr, "benchbook build: claims under test (mode = \"test\", never failing the build): %s\n", line)
	}
	if claims.inconclusive > 0 {
		fmt.Fprintf(env.stderr, "benchbook build: %s inconclusive: the data neither support nor contradict them; their pages say why\n", plural(claims.inconclusive, "claim"))
	}
	if failed := claims.fail; failed > 0 {
		fmt.Fprintf(env.stderr, "benchbook build: %s failed; their pages show which\n", plural(failed, "claim"))
		if err == nil && len(ran) == 0 {
			return silent(1, fmt.Errorf("%d claims failed", failed))
		}
	}
	switch {
	case err != nil && len(ran) > 0:
		return silent(1, fmt.Errorf("%d notebooks failed to build, %d failed to run", len(rep.Failed), len(ran)))
	case err != nil:
		return silent(1, err)
	case len(ran) > 0:
		fmt.Fprintf(env.stderr, "benchbook build: %s failed to run; their pages show the failure\n", plural(len(ran), "notebook"))
		return silent(1, fmt.Errorf("%d notebooks failed to run", len(ran)))
	}
	return nil
}

type execFailure struct {
	notebook string
	err      error
}

// executeNotebooks runs the stale bench cells of every notebook of dir, one
// notebook at a time: benchmarks running side by side would measure each
// other. Notebooks with problems are skipped here; the build reports them.
func executeNotebooks(ctx context.Context, env *cmdEnv, dir string, drafts bool) ([]execFailure, error) {
	paths, err := site.Notebooks(dir)
	if err != nil {
		return nil, err
	}
	var failed []execFailure
	for _, p := range paths {
		nb, err := notebook.ParseFile(p)
		if err != nil || (nb.Draft && !drafts) {
			continue
		}
		store := results.ForNotebook(nb.Path)
		stale := 0
		for _, st := range runner.State(nb, store) {
			if !st.Fresh {
				stale++
			}
		}
		if stale == 0 {
			continue
		}
		fmt.Fprintf(env.stdout, "running %s (%s)\n", p, plural(stale, "stale cell"))
		outcomes, err := runner.Run(ctx, nb, store, runner.Options{
			Version:  buildinfo.Version(),
			Progress: env.stdout,
			Live:     isTerminal(env.stdout),
			Noise:    loadNoise(env),
		})
		if ctx.Err() != nil {
			fmt.Fprintf(env.stderr, "benchbook build: interrupted while running %s: every guest stopped; nothing was built\n", p)
			return nil, silent(130, ctx.Err())
		}
		if errors.Is(err, runner.ErrFailed) {
			var cells []string
			for _, oc := range outcomes {
				if oc.Err != nil {
					cells = append(cells, fmt.Sprintf("cell %s: %v", oc.Cell, oc.Err))
				}
			}
			err = errors.New(strings.Join(cells, "; "))
		}
		if err != nil {
			failed = append(failed, execFailure{notebook: p, err: err})
		}
	}
	return failed, nil
}

// progressBar draws the build's progress on a terminal and stays silent
// elsewhere (CI logs get the summary line only).
type progressBar struct {
	w     io.Writer
	mu    sync.Mutex
	last  int
	shown bool
}

func newProgressBar(w io.Writer) *progressBar {
	if !isTerminal(w) {
		return &progressBar{}
	}
	return &progressBar{w: w, last: -1}
}

func (p *progressBar) update(done, total int) {
	if p.w == nil || total == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	const width = 30
	filled := done * width / total
	if filled == p.last && done != total {
		return // redraw only when the bar moves
	}
	p.last, p.shown = filled, true
	fmt.Fprintf(p.w, "\rrendering [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func (p *progressBar) done() {
	if p.w != nil && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

type serveOpts struct {
	port   int
	drafts bool
	title  string
}

func serveCommand() *command {
	return &command{
		name:  "serve",
		args:  "[DIR] [--port N]",
		short: "preview the site, rebuilt on every save",
		long: `Builds the notebooks of DIR (default notebooks/) into a temporary folder and
serves the site on http://127.0.0.1:PORT/. Saving a notebook, its results
or an asset rebuilds what changed and reloads the pages open on it; a
notebook with problems shows them at the bottom of every page until fixed.
The preview includes drafts unless --drafts=false. It never executes cells:
run them with benchbook run.

Example:

  benchbook serve notebooks --port 8080`,
		flags: func(fs *flag.FlagSet) any {
			o := &serveOpts{}
			fs.IntVar(&o.port, "port", 8080, "port on 127.0.0.1 (0 picks a free one)")
			fs.BoolVar(&o.drafts, "drafts", true, "include notebooks with draft = true")
			fs.StringVar(&o.title, "title", site.DefaultTitle, "site title")
			return o
		},
		maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*serveOpts)
			dir := defaultNotebooks
			if len(args) == 1 {
				dir = args[0]
			}
			if _, err := site.Notebooks(dir); err != nil {
				return err
			}
			// SIGHUP (the terminal went away) ends the preview as SIGINT
			// does, so its temporary folder is removed.
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
			defer stop()
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.port)))
			if err != nil {
				return fmt.Errorf("serve: %w (is another preview running? try --port 0)", err)
			}
			fmt.Fprintf(env.stdout, "serving %s on http://%s/ (Ctrl-C to stop)\n", dir, ln.Addr())
			s := &site.Server{
				Dir: dir,
				Log: env.stdout,
				Options: site.Options{
					Title:   o.title,
					Drafts:  o.drafts,
					Version: buildinfo.Version(),
					Render:  renderOptions,
				},
			}
			err = s.Serve(ctx, ln)
			if ctx.Err() != nil && err == nil {
				return nil
			}
			return err
		},
	}
}

// buildClaims judges the claims of the site's notebooks, prints the
// failed ones and counts each status.
func buildClaims(env *cmdEnv, notebooks []string) claimCounts {
	var vs []claimVerdict
	for _, p := range notebooks {
		nb, err := notebook.ParseFile(p)
		if err != nil {
			continue
		}
		vs = append(vs, judgeClaims(nb)...)
	}
	return reportClaims(env.stderr, vs, false)
}

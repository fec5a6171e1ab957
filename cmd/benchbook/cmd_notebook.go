package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/benchbook/benchbook/internal/buildinfo"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
	"github.com/benchbook/benchbook/render/site"
	"github.com/benchbook/benchbook/results"
)

type checkOpts struct{ claims, strict bool }

func checkCommand() *command {
	return &command{
		name:  "check",
		args:  "PATH...",
		short: "validate notebooks and print every problem",
		long: `Validates notebooks without running anything. PATH is a notebook or a
folder (its *.toml files). Every problem of every file is printed, one per
line, as file:line:col: message, sorted by position; the exit status is 1
when there is any.

Example:

  benchbook check notebooks/
  notebooks/x.toml:12:1: unknown key "guets" at the top level (did you mean "guests"?)

With --claims it also judges the claims of check cells against the stored
results: a claim passes when the 95 % intervals of its two sides are apart
the way it says, fails when they are apart the other way, and is
inconclusive when they overlap or a figure has no spread to judge by (one
repeat, on a machine without a noise floor: see benchbook calibrate). A
line per claim, then the count of each. A failed claim makes the exit
status 1, like a failed test; an inconclusive or unknown one does not,
unless --strict is given:

  benchbook check --claims notebooks/unikernels-redis.toml
  notebooks/unikernels-redis.toml: throughput: pass  host.ops_per_sec > osv.ops_per_sec (61234 vs 18120)
  claims: 1 pass, 0 fail, 0 inconclusive, 0 unknown

The claims of a check cell with mode = "test" are under test, not
asserted: each is supported, not supported or inconclusive, counted apart
("tests: ..."), and never changes the exit status, --strict or not.`,
		flags: func(fs *flag.FlagSet) any {
			o := &checkOpts{}
			fs.BoolVar(&o.claims, "claims", false, "also judge check cells' claims against the stored results")
			fs.BoolVar(&o.strict, "strict", false, "with --claims: an inconclusive or unknown claim fails too")
			return o
		},
		minArgs: 1, maxArgs: -1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*checkOpts)
			paths, err := notebookPaths(args)
			if err != nil {
				return err
			}
			var problems notebook.ErrorList
			var verdicts []claimVerdict
			for _, p := range paths {
				nb, err := notebook.ParseFile(p)
				if list := notebook.Errors(err); list != nil {
					problems = append(problems, list...)
				} else if err != nil {
					return err
				}
				if nb != nil {
					problems = append(problems, render.Check(nb)...)
					if o.claims && err == nil {
						verdicts = append(verdicts, judgeClaims(nb)...)
					}
				}
			}
			problems.Sort()
			for _, e := range problems {
				fmt.Fprintln(env.stderr, e)
			}
			if len(problems) > 0 {
				return silent(1, fmt.Errorf("%d problems", len(problems)))
			}
			if o.claims {
				if err := checkClaims(env, verdicts, o.strict); err != nil {
					return err
				}
			}
			fmt.Fprintf(env.stdout, "%s ok\n", plural(len(paths), "notebook"))
			return nil
		},
	}
}

// checkClaims prints every claim and the count of each status; a failed
// claim is an error, and with strict an inconclusive or unknown one too.
func checkClaims(env *cmdEnv, verdicts []claimVerdict, strict bool) error {
	n := reportClaims(env.stdout, verdicts, true)
	fmt.Fprintf(env.stdout, "claims: %s\n", n)
	switch {
	case n.fail > 0:
		fmt.Fprintf(env.stderr, "benchbook check: %s failed: the stored results no longer support them\n", plural(n.fail, "claim"))
		return silent(1, fmt.Errorf("%d claims failed", n.fail))
	case strict && n.inconclusive+n.unknown > 0:
		fmt.Fprintf(env.stderr, "benchbook check: --strict: %d claims inconclusive, %d unknown: the stored results do not support them\n", n.inconclusive, n.unknown)
		return silent(1, fmt.Errorf("%d claims not supported", n.inconclusive+n.unknown))
	}
	return nil
}

type renderOpts struct {
	out            string
	forceOverwrite bool
}

func renderCommand() *command {
	return &command{
		name:  "render",
		args:  "NOTEBOOK [-o DIR]",
		short: "write a notebook's report as HTML and Markdown",
		long: `Renders NOTEBOOK and its stored results (NOTEBOOK.results/) into
DIR/index.html (a standalone page) and DIR/index.md (GitHub-flavoured
Markdown with front matter for Hugo or Jekyll), with the files the prose
links copied beside them. Rendering never executes anything: cells without
stored results show a placeholder.

DIR may hold other files: render records what it wrote there in
DIR/.benchbook-render, replaces only those (a file of someone else's where
the page goes is an error, unless --force-overwrite) and removes the files
of its last render that it no longer writes. DIR may not be the notebook's
folder or hold it, nor be /, your home folder or a results folder.

Example:

  benchbook render notebooks/clsf-2014-day2.toml -o out/clsf
  open out/clsf/index.html`,
		flags: func(fs *flag.FlagSet) any {
			o := &renderOpts{}
			fs.StringVar(&o.out, "o", "", "output folder (default out/SLUG)")
			fs.BoolVar(&o.forceOverwrite, "force-overwrite", false, "replace files in DIR that benchbook did not write")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: onNotebook(nil, func(ctx context.Context, env *cmdEnv, o *renderOpts, nb *notebook.Notebook) error {
			out := o.out
			if out == "" {
				out = filepath.Join("out", nb.Slug)
			}
			ropt := renderOptions(nb)
			ropt.ForceOverwrite = o.forceOverwrite
			if err := render.Write(out, nb, ropt); err != nil {
				return fmt.Errorf("render %s: %w", nb.Path, err)
			}
			fmt.Fprintf(env.stdout, "wrote %s and %s\n", filepath.Join(out, "index.html"), filepath.Join(out, "index.md"))
			return nil
		}),
	}
}

func renderOptions(nb *notebook.Notebook) render.Options {
	return render.Options{Results: results.ForNotebook(nb.Path), Version: buildinfo.Version()}
}

func versionCommand() *command {
	return &command{
		name:    "version",
		short:   "print benchbook's version",
		long:    "Prints benchbook's version.\n\nExample:\n\n  benchbook version",
		maxArgs: 0,
		run: func(ctx context.Context, env *cmdEnv, _ any, _ []string) error {
			fmt.Fprintf(env.stdout, "benchbook %s\n", buildinfo.Version())
			return nil
		},
	}
}

// onNotebook is the run of a command whose one argument is a notebook:
// check (when not nil) refuses bad flags before the notebook is read, then
// the notebook must parse and be valid (its problems printed, one per
// line), and run gets it with the command's typed options.
func onNotebook[O any](check func(*O) error, run func(ctx context.Context, env *cmdEnv, o *O, nb *notebook.Notebook) error) func(context.Context, *cmdEnv, any, []string) error {
	return func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
		o := opts.(*O)
		if check != nil {
			if err := check(o); err != nil {
				return err
			}
		}
		nb, err := parseValid(env, args[0])
		if err != nil {
			return err
		}
		return run(ctx, env, o, nb)
	}
}

// benchCellsOnly are the notebook's bench cells, or only the one whose id
// a flag such as --only or --cell gives (none when no cell has it).
func benchCellsOnly(nb *notebook.Notebook, only string) []*notebook.Cell {
	cells := nb.BenchCells()
	if only == "" {
		return cells
	}
	for _, c := range cells {
		if c.ID == only {
			return []*notebook.Cell{c}
		}
	}
	return nil
}

// parseValid parses a notebook and prints its problems, one per line.
func parseValid(env *cmdEnv, path string) (*notebook.Notebook, error) {
	nb, err := notebook.ParseFile(path)
	if list := notebook.Errors(err); list != nil {
		for _, e := range list {
			fmt.Fprintln(env.stderr, e)
		}
		return nil, silent(1, err)
	}
	return nb, err
}

// notebookPaths expands folders into their notebooks, sorted, as build
// lists them (site.Notebooks): hidden files such as an editor's lock link
// .#x.toml and folders named *.toml are not notebooks.
func notebookPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		matches, err := site.Notebooks(a)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no *.toml notebooks in this folder", a)
		}
		out = append(out, matches...)
	}
	return out, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

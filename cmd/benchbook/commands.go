package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

var errUsage = errors.New("usage")

// command is one subcommand. All of them are listed in commands, in the
// order `benchbook help` shows them.
type command struct {
	name    string
	args    string // argument synopsis
	short   string
	long    string // what it does, why, and an example
	flags   func(fs *flag.FlagSet) any
	run     func(ctx context.Context, env *cmdEnv, opts any, args []string) error
	minArgs int
	maxArgs int // -1: any
}

// cmdEnv is what a command may touch of the outside world.
type cmdEnv struct {
	stdout, stderr io.Writer
}

func commands() []*command {
	return []*command{
		newCommand(),
		checkCommand(),
		runCommand(),
		statusCommand(),
		historyCommand(),
		resultsCommand(),
		exportCommand(),
		verifyCommand(),
		calibrateCommand(),
		renderCommand(),
		buildCommand(),
		serveCommand(),
		schemaCommand(),
		imageCommand(),
		doctorCommand(),
		versionCommand(),
	}
}

const intro = `benchbook turns TOML notebooks -- prose mixed with executable benchmark
cells -- into reproducible reports. Running a notebook executes its stale
bench cells and stores their figures beside it; rendering reads the notebook
and its stored results and never executes anything.

Usage:

  benchbook <command> [flags] [arguments]

Commands:
`

const outro = `
Run "benchbook help <command>" or "benchbook <command> --help" for details.

A first notebook, from nothing to a page:

  benchbook new notebooks/first.toml
  benchbook check notebooks/first.toml
  benchbook run notebooks/first.toml
  benchbook render notebooks/first.toml -o out/first

The format is documented in docs/notebook-format.md.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env := &cmdEnv{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				commandUsage(stdout, c, nil)
				return nil
			}
			return fmt.Errorf("help: unknown command %q", args[1])
		}
		usage(stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	c := lookup(name)
	if c == nil {
		usage(stderr)
		return fmt.Errorf("unknown command %q%s", name, suggestCommand(name))
	}
	fs := flag.NewFlagSet("benchbook "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opts any
	if c.flags != nil {
		opts = c.flags(fs)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, c, fs)
		return nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "benchbook %s: %v\n", c.name, err)
		commandUsage(stderr, c, fs)
		return errUsage
	}
	if len(pos) < c.minArgs || (c.maxArgs >= 0 && len(pos) > c.maxArgs) {
		fmt.Fprintf(stderr, "benchbook %s: wrong number of arguments\n", c.name)
		commandUsage(stderr, c, fs)
		return errUsage
	}
	return c.run(ctx, env, opts, pos)
}

// parseInterspersed lets flags follow arguments, as in
// `benchbook render x.toml -o out`, which the flag package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func lookup(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func suggestCommand(name string) string {
	for _, c := range commands() {
		if strings.HasPrefix(c.name, name) || strings.HasPrefix(name, c.name) {
			return fmt.Sprintf(" (did you mean %q?)", c.name)
		}
	}
	return ""
}

func usage(w io.Writer) {
	fmt.Fprint(w, intro)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.short)
	}
	fmt.Fprint(w, outro)
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: benchbook %s %s\n\n%s\n", c.name, c.args, strings.TrimSpace(c.long))
	if fs == nil {
		fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
		if c.flags != nil {
			c.flags(fs)
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// multiFlag collects a repeatable flag such as -p key=value.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
)

type schemaOpts struct{ out string }

func schemaCommand() *command {
	return &command{
		name:  "schema",
		args:  "[-o FILE]",
		short: "print the JSON Schema of the notebook format, for editors",
		long: `Prints the notebook format as a JSON Schema (draft-07), made from the
same declarations ` + "`benchbook check`" + ` validates against: every key of the top
level, of each guest kind, load tool and cell kind, with its type, allowed
values, range, default and meaning. A TOML language server (taplo, or the
Even Better TOML extension, which uses it) then completes keys and flags a
misspelt one as you type. The schema says less than check does: a
{param}'s type, sweep values and references between cells are check's.

The repository keeps it as docs/notebook.schema.json (a test fails when it
is stale) and its .taplo.toml points notebooks/*.toml at it. For your own
notebooks, save it and add a taplo rule, or put a directive on the first
line of a notebook:

  #:schema ./notebook.schema.json

Example:

  benchbook schema -o notebook.schema.json
  taplo lint --schema file://$PWD/notebook.schema.json notebooks/*.toml`,
		flags: func(fs *flag.FlagSet) any {
			o := &schemaOpts{}
			fs.StringVar(&o.out, "o", "", "write the schema to `file` instead of stdout")
			return o
		},
		maxArgs: 0,
		run: func(ctx context.Context, env *cmdEnv, opts any, _ []string) error {
			o := opts.(*schemaOpts)
			data, err := notebook.JSONSchema()
			if err != nil {
				return fmt.Errorf("schema: %w", err)
			}
			if o.out == "" {
				_, err = env.stdout.Write(data)
				return err
			}
			return atomicfile.Write(o.out, data)
		},
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/benchbook/benchbook/internal/atomicfile"
	"github.com/benchbook/benchbook/notebook"
	"github.com/benchbook/benchbook/render"
)

type exportOpts struct {
	format string
	out    string
}

func exportCommand() *command {
	return &command{
		name:  "export",
		args:  "NOTEBOOK --format csv|json -o DIR",
		short: "write a notebook's figures as CSV or its results as JSON",
		long: `Writes the data behind a notebook's report into DIR, the same files its
rendered page links beside each table and plot:

  csv   the CSV of every table (table-CELL-N.csv: one row per guest, sweep
        point and metric, with n, median, 95 % interval, min, max and
        stddev in the metric's stored unit) and plot (plot-CELL-N.csv: the
        figures drawn, in the units of its axis)
  json  the stored results of every bench cell (results-CELL.json)

Nothing is run; cells without stored results are left out. A file of the
same name in DIR is replaced.

Example:

  benchbook export notebooks/unikernels-redis.toml --format csv -o data/
  wrote data/plot-throughput-3.csv
  wrote data/table-throughput-6.csv`,
		flags: func(fs *flag.FlagSet) any {
			o := &exportOpts{}
			fs.StringVar(&o.format, "format", "csv", "`csv` (tables and plots) or json (results)")
			fs.StringVar(&o.out, "o", "", "write into folder `DIR` (required)")
			return o
		},
		minArgs: 1, maxArgs: 1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			o := opts.(*exportOpts)
			if o.out == "" {
				return errors.New("export needs -o DIR, the folder to write the files into")
			}
			nb, err := notebook.ParseFile(args[0])
			if err != nil {
				return err
			}
			files, err := render.Export(nb, renderOptions(nb), o.format)
			if err != nil {
				return fmt.Errorf("export %s: %w", args[0], err)
			}
			if len(files) == 0 {
				fmt.Fprintf(env.stderr, "benchbook export: %s has no stored results to export: run it first (benchbook run %s)\n", args[0], args[0])
				return nil
			}
			if err := os.MkdirAll(o.out, 0o755); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			for _, f := range files {
				path := filepath.Join(o.out, f.Name)
				if err := atomicfile.Write(path, f.Data); err != nil {
					return fmt.Errorf("export: %w", err)
				}
				fmt.Fprintf(env.stdout, "wrote %s\n", path)
			}
			return nil
		},
	}
}

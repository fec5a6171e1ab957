package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/benchbook/benchbook/results"
)

func resultsCommand() *command {
	return &command{
		name:  "results",
		args:  "merge NOTEBOOK OTHER.results...",
		short: "merge the results of other machines into a notebook's",
		long: `results merge adds the runs kept in each OTHER.results folder (the results
folder of the same notebook run on another machine: its CELL.history.jsonl,
or for a folder from before the history its CELL.json) to the history of
NOTEBOOK's results, cell by cell. Runs are known by their id (the machine's
id, the cell and the start), so merging a folder twice adds nothing, and
merging in any order gives the same files. CELL.json, what the report
shows, stays this folder's newest run; a cell that has none here gets the
newest merged run.

benchbook history and the site's history page then show each machine's
runs side by side (a column or a line per machine), the report's tables
and plots show each machine's newest run ("GUEST @ MACHINE"), and both
list how the machines' environments differ (docs/history.md). Nothing
runs: merge reads and writes files.

Example (a CI matrix uploads each runner's folder, then):

  benchbook results merge notebooks/x.toml runner-a/x.results runner-b/x.results
  benchbook history notebooks/x.toml`,
		minArgs: 3, maxArgs: -1,
		run: func(ctx context.Context, env *cmdEnv, opts any, args []string) error {
			if args[0] != "merge" {
				return fmt.Errorf("results %s: unknown; the subcommand is merge", args[0])
			}
			return mergeResults(env, args[1], args[2:])
		},
	}
}

// mergeResults merges the runs of the folders others into the results of
// the notebook at path.
func mergeResults(env *cmdEnv, path string, others []string) error {
	if _, err := parseValid(env, path); err != nil {
		return err
	}
	into := results.ForNotebook(path)
	for _, dir := range others {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s: not a results folder (want the NOTEBOOK.results folder of another machine)", dir)
		}
		if err := mergeFolder(env, into, results.Store{Dir: dir}); err != nil {
			return fmt.Errorf("merge %s: %w", dir, err)
		}
	}
	return nil
}

func mergeFolder(env *cmdEnv, into, from results.Store) error {
	cells, err := from.HistoryCells()
	if err != nil {
		return err
	}
	if len(cells) == 0 {
		return errors.New("no results in it")
	}
	for _, cell := range cells {
		runs, err := from.History(cell)
		if err != nil {
			return err
		}
		added, err := into.Merge(cell, runs)
		if err != nil {
			return err
		}
		if _, err := into.Load(cell); errors.Is(err, os.ErrNotExist) && len(runs) > 0 {
			if err := into.Save(runs[len(runs)-1].Run); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.stdout, "%s: %d of %d runs added from %s (machines: %s)\n", cell, added, len(runs), from.Dir, machinesOf(runs))
	}
	return nil
}

func machinesOf(runs []results.Entry) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		m := short(r.Run.Env.Machine, 16)
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

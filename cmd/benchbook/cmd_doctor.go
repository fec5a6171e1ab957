package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/benchbook/benchbook/internal/doctor"
)

func doctorCommand() *command {
	return &command{
		name:  "doctor",
		short: "list the external programs benchbook uses, and how to get missing ones",
		long: `Looks for every external program benchbook can use (redis-server,
redis-benchmark, memtier_benchmark, qemu, libvirtd, hugo, chromium), prints
whether it was found, its version, what it is for, and how to install it.
The exit status is 1 only when a required program is missing.

Example:

  benchbook doctor`,
		maxArgs: 0,
		run: func(ctx context.Context, env *cmdEnv, _ any, _ []string) error {
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROGRAM\tSTATUS\tVERSION\tUSED FOR")
			var missing []doctor.Finding
			requiredMissing := 0
			for _, f := range doctor.Check(ctx, 10*time.Second) {
				status, version := "ok", f.Version
				if f.Path == "" {
					status, version = "missing", "-"
					missing = append(missing, f)
					if f.Required {
						requiredMissing++
					}
				} else if version == "" {
					version = "?"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, status, version, f.Purpose)
			}
			tw.Flush()
			if len(missing) > 0 {
				fmt.Fprintln(env.stdout, "\nTo get what is missing:")
				for _, f := range missing {
					fmt.Fprintf(env.stdout, "  %s: %s\n", f.Name, f.Get)
				}
			}
			if requiredMissing > 0 {
				return silent(1, fmt.Errorf("required programs missing"))
			}
			return nil
		},
	}
}

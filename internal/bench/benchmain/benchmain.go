// Package benchmain is the main function and the flag set of the bench
// programs under internal/bench: thin mains whose run(ctx, args, stdout,
// stderr) the programs' tests call in-process.
package benchmain

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs run with the command line, cancelled by SIGINT or SIGTERM, and
// exits 1 with "name: error" when it fails.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Flags is the flag set of program name: its errors and usage go to
// stderr, and Parse returns them instead of exiting.
func Flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

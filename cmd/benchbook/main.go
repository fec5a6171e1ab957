// Command benchbook runs benchmark notebooks and renders them into reports.
//
// The main function only wires the process to run; every command is a
// function of (ctx, args, stdout, stderr) so tests call it in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/benchbook/benchbook/runner/image/guestinit"
)

func main() {
	// In benchbook's Linux micro-VM, benchbook itself is /init (PID 1).
	if guestinit.IsInit() {
		guestinit.Main()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv("BENCHBOOK_CPUPROFILE"))
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitError carries a specific exit status (130 after an interrupt) and may
// have been reported already.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// silent marks err as already printed: the command wrote its own report
// (one line per problem) and only the exit status is left to set.
func silent(code int, err error) error { return &exitError{code: code, err: err, reported: true} }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.reported {
			return code
		}
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	fmt.Fprintf(stderr, "benchbook: %v\n", err)
	return code
}

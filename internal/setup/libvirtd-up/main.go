// Command libvirtd-up starts virtlogd and libvirtd (in the network
// namespace libvirttest.Netns) unless a libvirtd already answers, and
// waits for its socket. `make setup` and .ci/run use it on machines
// without systemd.
//
// With -remote it also starts a second libvirtd that plays another
// machine (libvirttest.StartRemote: its own network and mount
// namespaces, listening on TCP), prints its URI, and keeps it until
// interrupted, then stops it and removes its namespaces: the "remote
// host" of docs/history.md's worked example.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
)

func main() {
	remote := flag.Bool("remote", false, "also start a second libvirtd as another machine, until interrupted")
	flag.Parse()
	if err := run(*remote); err != nil {
		fmt.Fprintln(os.Stderr, "libvirtd-up:", err)
		os.Exit(1)
	}
}

func run(remote bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := libvirttest.EnsureSystem(ctx); err != nil {
		return err
	}
	if !remote {
		return nil
	}
	r, err := libvirttest.StartRemote(ctx)
	if err != nil {
		return err
	}
	fmt.Println(r.URI)
	<-ctx.Done()
	return r.Stop()
}

// Command libvirtd-up starts virtlogd and libvirtd (in the network
// namespace libvirttest.Netns) unless a libvirtd already answers, and
// waits for its socket. `make setup` and .ci/run use it on machines
// without systemd.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/benchbook/benchbook/internal/testutil/libvirttest"
)

func main() {
	if err := libvirttest.EnsureSystem(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "libvirtd-up:", err)
		os.Exit(1)
	}
}

// Command init is benchbook's guest init as a program of its own, for
// images whose /init should not be benchbook itself (tests, or a digest
// that does not change with every benchbook build). Build it statically:
//
//	CGO_ENABLED=0 go build -o init ./runner/image/initrd/init
//
// and pass it as image.BuildOptions.InitBinary.
package main

import (
	"fmt"
	"os"

	"github.com/benchbook/benchbook/runner/image/guestinit"
)

func main() {
	if !guestinit.IsInit() {
		fmt.Fprintln(os.Stderr, "init: this is the init of benchbook's Linux guest image; it runs only as PID 1 started as /init")
		os.Exit(2)
	}
	guestinit.Main()
}

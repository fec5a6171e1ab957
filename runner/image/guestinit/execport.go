package guestinit

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchbook/benchbook/runner/guestexec"
)

// serveExec answers the host's requests on the exec port (see package
// guestexec) for as long as the guest runs: the command line said the VM
// has the port.
func serveExec(r *reaper) {
	dev := findPort(guestexec.PortName, 10*time.Second)
	if dev == "" {
		logf("exec port: no virtio-serial port named %s (is virtio_console in the image?)", guestexec.PortName)
		return
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		logf("exec port %s: %v", dev, err)
		return
	}
	logf("exec port %s ready", dev)
	run := func(req guestexec.Request, cancel <-chan struct{}) guestexec.Reply {
		return guestexec.Exec(req, cancel, r.wait)
	}
	for {
		// A read returns end of file while the host's side is not
		// connected (before it dials, after it closes): wait and read on.
		if err := guestexec.Serve(f, run); err != nil {
			logf("exec port: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// findPort is the device of the virtio-serial port called name, waiting
// for it to appear (its driver names it after the module loads), or "".
func findPort(name string, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		ports, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, p := range ports {
			if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == name {
				return "/dev/" + filepath.Base(filepath.Dir(p))
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

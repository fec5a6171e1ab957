// Package guest starts and stops the systems under test: a program on the
// host (kind process), a virtual machine under qemu or libvirt (kinds qemu
// and libvirt) booting an image of one flavor: linux, osv, rumprun or raw,
// or the machine itself with a scratch folder (kind host). A guest is ready
// when its ready check passes (Ready: redis, tcp, http, log or none). A
// guest owns everything it starts and tears all of it down on every path.
package guest

import (
	"context"
	"errors"
	"github.com/benchbook/benchbook/runner/guestexec"
	"net"
	"sync"

	"github.com/benchbook/benchbook/internal/netns"
)

// Endpoint is where a started guest answers, and where a load works.
type Endpoint struct {
	Addr  string // host:port, reachable from where the load runs; "" for a host guest
	Netns string // the network namespace the load must run in; "" for this one
	// Dir is the start's scratch folder on this machine, removed by Stop
	// ("" when the guest has none): the notebook's {dir}, where loads that
	// need no server work.
	Dir string
	// Exec runs programs inside the guest (a VM booted with Boot.Exec);
	// nil for a guest without the exec port.
	Exec *guestexec.Client
	// Inside is the server's host:port seen from inside the guest (its
	// loopback), for a load that runs there.
	Inside string
	// InsideOnly: the load must run inside the guest (network =
	// "loopback"), its path from the host being only for the ready check.
	InsideOnly bool
}

// Dial connects to the endpoint from inside its namespace.
func (e Endpoint) Dial(ctx context.Context) (net.Conn, error) {
	return netns.Dial(ctx, e.Netns, e.Addr)
}

// Guest is one system under test.
type Guest interface {
	// Start boots the guest and returns once it passed its ready check
	// (by default, redis answered PING).
	Start(ctx context.Context) (Endpoint, error)
	// Stop tears down everything Start started. It is safe to call more
	// than once, and after a failed or cancelled Start.
	Stop(ctx context.Context) error
	// Facts describe how the guest ran (versions, accel, network...).
	Facts() map[string]string
}

// ErrNotReady is wrapped by Start when the guest did not answer in time.
var ErrNotReady = errors.New("guest not ready")

// ErrUnavailable is wrapped when a guest cannot be started on this machine
// at all (a program or an image is missing), as opposed to failing while it
// runs. The runner skips optional guests for it.
var ErrUnavailable = errors.New("guest unavailable")

// factSet is what a guest learns about itself while it runs (versions,
// addresses, notes), safe to set from any goroutine. The zero value is
// ready to use.
type factSet struct {
	mu sync.Mutex
	m  map[string]string
}

// set records a fact; an empty value records nothing.
func (f *factSet) set(k, v string) {
	if v == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]string{}
	}
	f.m[k] = v
}

// addTo copies the facts into out, over what out holds.
func (f *factSet) addTo(out map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range f.m {
		out[k] = v
	}
}

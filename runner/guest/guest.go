// Package guest starts and stops the systems under test: a program on the
// host (kind process) or a virtual machine under qemu or libvirt (kinds qemu
// and libvirt) booting an image of one flavor: linux, osv, rumprun or raw. A
// guest owns everything it starts and tears all of it down on every path.
package guest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/benchbook/benchbook/internal/netns"
	"github.com/benchbook/benchbook/internal/resp"
)

// Endpoint is where a started guest's redis answers.
type Endpoint struct {
	Addr  string // host:port, reachable from where the load runs
	Netns string // the network namespace the load must run in; "" for this one
}

// Dial connects to the endpoint from inside its namespace.
func (e Endpoint) Dial(ctx context.Context) (net.Conn, error) {
	return netns.Dial(ctx, e.Netns, e.Addr)
}

// Guest is one system under test.
type Guest interface {
	// Start boots the guest and returns once redis answers PING.
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

// waitReadyDial polls the endpoint with PING until it answers PONG, the
// timeout passes, or exited reports that the guest died (then waiting
// longer is pointless).
func waitReadyDial(parent context.Context, ep Endpoint, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		err := pingOnce(ctx, ep)
		if err == nil {
			return nil
		}
		// The attempt cut short by the timeout says only that; the one
		// before says why the guest did not answer.
		if deadline, _ := ctx.Deadline(); last == nil || time.Now().Before(deadline) {
			last = err
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering PING")
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: no PONG from %s within %s (last: %v)", ErrNotReady, ep.Addr, timeout, last)
		case <-tick.C:
		}
	}
}

func pingOnce(ctx context.Context, ep Endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := ep.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return resp.PingConn(ctx, conn)
}

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

// Package guest starts and stops the systems under test: a redis on the host
// (process) today, virtual machines in later kinds. A guest owns everything
// it starts and tears all of it down on every path.
package guest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
)

// Endpoint is where a started guest's redis answers.
type Endpoint struct {
	Addr string // host:port, reachable from where the load runs
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

// waitReady polls addr with PING until it answers PONG, the deadline passes,
// or exited reports that the guest died (then waiting longer is pointless).
func waitReady(parent context.Context, addr string, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := resp.Ping(pctx, addr)
		pcancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("exited before answering PING")
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: no PONG from %s within %s (last: %v)", ErrNotReady, addr, timeout, last)
		case <-tick.C:
		}
	}
}

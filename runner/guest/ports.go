package guest

import (
	"fmt"
	"net"
	"sync"
)

var (
	portsMu sync.Mutex
	given   = map[int]bool{}
)

// FreePort returns a loopback TCP port that is free now and that this
// process has not handed out before, so guests started in parallel by one
// benchbook never collide. Another program may still take it between now and
// the guest's bind; the guest then fails to start with the log saying so.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[port] {
			given[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("free port: no new port after 100 tries")
}

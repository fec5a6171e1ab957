//go:build !linux

package load

import "errors"

// readyQueue is Linux-only (readyqueue_linux.go): elsewhere builtin's
// clients wait in the runtime's poller.
type readyQueue struct{}

func newReadyQueue(int) (*readyQueue, error) { return nil, errors.ErrUnsupported }
func (*readyQueue) add(*batchConn) error     { return nil }
func (*readyQueue) run()                     {}
func (*readyQueue) close()                   {}
func (*readyQueue) failed() error            { return nil }

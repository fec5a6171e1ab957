package load

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// readyQueue wakes builtin's clients in the order their replies arrived.
//
// Left to Go's poller, the clients waiting on a read are woken last come,
// first served: the runtime collects the goroutines of one poll in a list
// it pushes onto (netpollready) and runs the last pushed first. On one P
// that reverses every wave of replies, so a connection served early in one
// wave is served late in the next and its latencies alternate between short
// and long: at pipeline 16 the same mean as memtier's, whose event loop
// takes sockets in the order epoll reports them, but p90 and p99 a third
// higher. The generator's own scheduling made that tail.
//
// So the builtin clients do not wait in the runtime's poller. Their sockets
// are also in an epoll set of the queue's own (edge-triggered, so each
// arrival is reported once), and a client whose read finds nothing waits on
// its wake channel; one goroutine waits, in the runtime's poller, for that
// epoll set to be readable and wakes the clients in the order epoll gives.
type readyQueue struct {
	epoll   *os.File // the epoll set, pollable by the runtime
	rc      syscall.RawConn
	waiters []*batchConn // by the index in each event's data
	events  []syscall.EpollEvent
	n       int                // events from the last wait
	waitFn  func(uintptr) bool // q.wait, made once: a method value allocates
	err     error              // of the last wait: the queue gives up
	done    chan struct{}
	closed  sync.Once
	failure atomic.Pointer[error] // why run stopped before close, if it did
}

// epollET is syscall.EPOLLET, which the syscall package declares as a
// negative int.
const epollET = 1 << 31

func newReadyQueue(size int) (*readyQueue, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	q := &readyQueue{epoll: f, rc: rc, events: make([]syscall.EpollEvent, max(size, 1)), done: make(chan struct{})}
	q.waitFn = q.wait
	return q, nil
}

// add puts b's socket in the set; b then waits for its replies on the queue.
func (q *readyQueue) add(b *batchConn) error {
	if b.rc == nil {
		return nil // no socket: b reads as a plain connection does
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(len(q.waiters))}
	var ctlErr, qErr error
	connErr := b.rc.Control(func(fd uintptr) {
		qErr = q.rc.Control(func(epfd uintptr) {
			ctlErr = syscall.EpollCtl(int(epfd), syscall.EPOLL_CTL_ADD, int(fd), &ev)
		})
	})
	if err := errors.Join(connErr, qErr, ctlErr); err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	q.waiters = append(q.waiters, b)
	b.wake = make(chan struct{}, 1)
	b.done = q.done
	return nil
}

// run wakes waiters until close. It is the only goroutine that waits in
// the runtime's poller for the queue's sockets.
func (q *readyQueue) run() {
	// Whatever ends the loop, no client is left waiting for a wake-up
	// that will not come: with done closed they read as plain
	// connections do.
	defer q.close()
	for {
		err := q.rc.Read(q.waitFn)
		if err == nil {
			err = q.err
		}
		if err != nil {
			select {
			case <-q.done: // closed: the run is over
			default:
				// The runtime cannot poll the set, or epoll failed: the
				// clients go on in the runtime's poller, in the order
				// this queue is there to avoid, so the run must say so.
				failure := err // a copy: taking err's address would put every loop's err on the heap
				q.failure.Store(&failure)
			}
			return
		}
		ev := q.events[:q.n]
		// A wake-up goes to the runtime's "run next" slot, and each one
		// after pushes the one before to the back of the run queue: waking
		// the first last makes the order first, second, ... , last.
		for i := 1; i < len(ev); i++ {
			q.waiters[ev[i].Fd].notify()
		}
		if len(ev) > 0 {
			q.waiters[ev[0].Fd].notify()
		}
	}
}

// wait is rc.Read's callback: false parks run until the set is readable.
func (q *readyQueue) wait(epfd uintptr) bool {
	for {
		n, err := syscall.EpollWait(int(epfd), q.events, 0)
		if err == syscall.EINTR {
			continue
		}
		q.n, q.err = max(n, 0), err
		return n > 0 || err != nil
	}
}

// close stops run and wakes every waiter for good: their reads then fail
// on their closed connections.
func (q *readyQueue) close() {
	if q == nil {
		return
	}
	q.closed.Do(func() {
		close(q.done)
		q.epoll.Close()
	})
}

// failed is why the queue stopped waking its clients before the run
// ended; nil when it did not.
func (q *readyQueue) failed() error {
	if q == nil {
		return nil
	}
	if err := q.failure.Load(); err != nil {
		return *err
	}
	return nil
}

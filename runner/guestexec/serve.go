package guestexec

import (
	"errors"
	"io"
	"sync"
)

// RunFunc runs one request in the guest and says how it ended; when
// cancel closes, it kills what it started and returns.
type RunFunc func(req Request, cancel <-chan struct{}) Reply

// Serve answers the requests read from rw with run's replies until rw
// ends (io.EOF: the host closed the port), then returns nil. Requests run
// concurrently with the reading, so that a cancel is read while its
// request runs.
func Serve(rw io.ReadWriter, run RunFunc) error {
	r := newLineReader(rw)
	var (
		mu      sync.Mutex // running, and writes to rw
		running = map[uint64]chan struct{}{}
		wg      sync.WaitGroup
	)
	defer wg.Wait()
	for {
		var req Request
		err := r.next(&req)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			// A line that is no request: say so, and read on.
			mu.Lock()
			werr := writeLine(rw, Reply{Error: "guestexec: bad request: " + err.Error()})
			mu.Unlock()
			if werr != nil {
				return werr
			}
			continue
		}
		mu.Lock()
		if req.Cancel {
			if c, ok := running[req.ID]; ok {
				close(c)
				delete(running, req.ID)
			}
			mu.Unlock()
			continue
		}
		cancel := make(chan struct{})
		running[req.ID] = cancel
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := run(req, cancel)
			rep.ID = req.ID
			mu.Lock()
			if running[req.ID] == cancel {
				delete(running, req.ID)
			}
			_ = writeLine(rw, rep) // a host gone away reads nothing
			mu.Unlock()
		}()
	}
}

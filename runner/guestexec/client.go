package guestexec

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Client is the host's end of a guest's exec port.
type Client struct {
	conn io.ReadWriteCloser
	r    *lineReader

	mu     sync.Mutex // one request at a time
	last   uint64
	broken error
}

// Dial connects to the exec port's unix socket on the host (qemu's
// chardev, libvirt's channel), retrying until ctx ends: the socket exists
// once qemu has started.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return NewClient(conn), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("exec port %s: %w (last: %v)", path, context.Cause(ctx), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// NewClient speaks the protocol over conn (a test's pipe, the stream
// libvirt opens on a remote domain's channel). Close closes conn.
func NewClient(conn io.ReadWriteCloser) *Client {
	return &Client{conn: conn, r: newLineReader(conn)}
}

// Close closes the port; a request running in the guest runs on to its
// timeout, and the guest's stop ends it anyway.
func (c *Client) Close() error { return c.conn.Close() }

// cancelGrace is how long a cancelled request has to be killed and
// answered before the client gives up on the port.
const cancelGrace = 5 * time.Second

// Exec runs req in the guest and returns its reply. When ctx ends first it
// asks the guest to kill the program, waits for the reply (which says it
// was cancelled) and returns it with context.Cause(ctx). An error without
// a reply means the port is gone: every later Exec fails with it.
func (c *Client) Exec(ctx context.Context, req Request) (Reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return Reply{}, c.broken
	}
	if err := context.Cause(ctx); err != nil {
		return Reply{}, err
	}
	c.last++
	req.ID = c.last
	if err := writeLine(c.conn, req); err != nil {
		return Reply{}, c.fail(fmt.Errorf("exec port: sending: %w", err))
	}
	type result struct {
		rep Reply
		err error
	}
	got := make(chan result, 1)
	go func() {
		for {
			var rep Reply
			if err := c.r.next(&rep); err != nil {
				got <- result{err: err}
				return
			}
			if rep.ID == req.ID {
				got <- result{rep: rep}
				return
			}
			// A reply to a request given up on: its late answer.
		}
	}()
	select {
	case res := <-got:
		if res.err != nil {
			return Reply{}, c.fail(fmt.Errorf("exec port: reading: %w", res.err))
		}
		return res.rep, nil
	case <-ctx.Done():
	}
	if err := writeLine(c.conn, Request{ID: req.ID, Cancel: true}); err != nil {
		return Reply{}, c.fail(fmt.Errorf("exec port: cancelling: %w", err))
	}
	select {
	case res := <-got:
		if res.err != nil {
			return Reply{}, c.fail(fmt.Errorf("exec port: reading: %w", res.err))
		}
		return res.rep, context.Cause(ctx)
	case <-time.After(cancelGrace):
		return Reply{}, c.fail(fmt.Errorf("exec port: the guest did not answer a cancel within %s: %w", cancelGrace, context.Cause(ctx)))
	}
}

// fail marks the port broken (its reader may be mid-message) and closes it.
func (c *Client) fail(err error) error {
	c.broken = fmt.Errorf("%w (the exec port is closed since)", err)
	c.conn.Close()
	return err
}

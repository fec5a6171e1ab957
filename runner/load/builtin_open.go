package load

import (
	"errors"
	"sync"
	"time"
)

// Open loop (rate > 0): each connection sends its batches on a schedule,
// the total rate spread evenly over the connections and staggered between
// them, and a request's latency runs from the time it was meant to be
// sent, not from when it was. A connection waits for its replies before
// sending again, so a server that stalls leaves its requests piling up
// behind the schedule; sent late, they carry their whole wait in their
// latency. This is wrk2's correction of coordinated omission: a closed
// loop sends nothing while the server stalls, and so records one slow
// request per connection instead of every request that would have come.
type openLoop struct {
	every time.Duration // between two batches of one connection
	next  time.Time     // intended send time of the next batch; zero before the first
	first time.Duration // this connection's offset in the schedule
	timer *time.Timer
	wake  <-chan struct{} // closed when the run stops
}

// errStopped ends a connection's schedule when the run is stopped; the
// run reports why.
var errStopped = errors.New("run stopped")

// schedule gives every client its place in the open-loop schedule; a
// closed-loop run (rate 0) is left as it is.
func (r *builtinRun) schedule() {
	s := r.spec
	if s.Rate <= 0 {
		return
	}
	wake := make(chan struct{})
	r.stopSchedule = sync.OnceFunc(func() { close(wake) })
	n := len(r.clients)
	every := time.Duration(float64(time.Second) * float64(s.Pipeline*n) / float64(s.Rate))
	for i, c := range r.clients {
		c.open = &openLoop{every: every, first: every * time.Duration(i) / time.Duration(n), wake: wake}
	}
}

// openPhase sends batches when they are due: count requests, or those due
// before until when count is 0.
func (c *client) openPhase(until time.Time, count int) error {
	o := c.open
	timed := count == 0
	for {
		n := c.batchLen(timed, count)
		if n == 0 {
			return nil
		}
		intended := o.next
		if timed && !intended.Before(until) {
			return nil
		}
		if err := o.wait(intended); err != nil {
			return err
		}
		if now := time.Now(); c.tl.due(now) {
			c.roll(now)
		}
		if err := c.batch(n, intended); err != nil {
			return err
		}
		o.next = intended.Add(o.every)
		c.progress.Add(int64(n))
		count -= n
	}
}

// wait sleeps until t, or returns errStopped when the run stops first. A
// batch already due is sent at once: that is how a late schedule catches
// up.
func (o *openLoop) wait(t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	o.timer.Reset(d)
	select {
	case <-o.timer.C:
		return nil
	case <-o.wake:
		return errStopped
	}
}

// batch sends n requests, reads their replies, and records each latency
// from since.
func (c *client) batch(n int, since time.Time) error {
	c.queue(n)
	if err := c.w.Flush(); err != nil {
		return err
	}
	for i := range n {
		kind, size, line, err := readReply(c.r, c.maxBulk)
		if err != nil {
			return err
		}
		c.record(c.pending[i], kind, size, line, time.Since(since))
	}
	// As phase does after each batch: the warmup's last latencies must
	// not fall into the measured phase, nor the last ones be left out.
	c.same.flush(&c.stats)
	return nil
}

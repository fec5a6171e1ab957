package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/benchbook/benchbook/internal/resp"
)

// BuiltinVersion is stored with every builtin measurement. Bump it whenever a
// change could move the figures, so old and new results are not compared as
// if they came from the same generator.
// 3: one read syscall per pipelined batch (batchConn); 4: clients woken in
// the order their replies arrive (readyQueue), and no garbage, so no
// collection, in the measured phase (the timeline's intervals).
const BuiltinVersion = "4"

// builtin is the Go RESP load generator. Each client is a goroutine owning
// one connection; Threads only multiplies the number of clients, since the Go
// scheduler spreads goroutines over GOMAXPROCS by itself.
//
// Ops, latencies and hits count successful replies only; error replies
// ("-ERR ...") count in Measurement.Errors. A connection lost during the run
// fails the whole run: a benchmark missing some of its clients measures
// something other than what was asked.
type builtin struct{}

var _ Load = builtin{}

// Histogram geometry: microseconds from 1 to one minute with two significant
// digits (1% precision, as memtier records). Three digits would cost
// 140 KB per histogram, two per connection.
const (
	histMaxUs   = int64(time.Minute / time.Microsecond)
	histSigFigs = 2
)

// spectrum is the set of percentiles reported in Stats.Percentiles.
var spectrum = []float64{50, 75, 90, 95, 99, 99.9, 99.99, 100}

const (
	opSet = 0
	opGet = 1
)

func (builtin) Run(ctx context.Context, t Target, s Spec) (Measurement, error) {
	s, err := s.forTool(ToolBuiltin)
	m := Measurement{Tool: ToolBuiltin, ToolVersion: BuiltinVersion, Command: builtinArgv(t, s)}
	if err != nil {
		return m, fmt.Errorf("builtin: %w", err)
	}
	// Threads means what it means to memtier: the generator uses that many
	// CPUs and leaves the others to the server. Left to all of them, Go's
	// scheduler spreads 50 connections over every core and competes with
	// redis for them (on 2 cores: 680k against 820k ops/s at pipeline 16).
	// Placed on fewer CPUs than threads, it gets no more Ps than CPUs:
	// more would only take turns on them.
	procs := s.Threads
	if len(t.CPUs) > 0 {
		procs = min(procs, len(t.CPUs))
	}
	if procs < runtime.NumCPU() {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	r := newBuiltinRun(t, s)
	err = r.run(ctx)
	r.measure(&m)
	if err != nil {
		return m, fmt.Errorf("builtin: %w", err)
	}
	if m.Totals.Ops == 0 {
		if r.firstError != "" {
			return m, fmt.Errorf("builtin: no request succeeded against %s: %d error replies, the first %q", t.Addr, m.Errors, r.firstError)
		}
		return m, fmt.Errorf("builtin: no request completed against %s", t.Addr)
	}
	return m, nil
}

// builtinArgv describes a builtin run as if it were a command, so stored
// results say what ran in the same form as for the external tools.
func builtinArgv(t Target, s Spec) []string {
	argv := []string{
		"benchbook-builtin",
		"--server=" + t.Addr,
		"--threads=" + strconv.Itoa(s.Threads),
		"--clients=" + strconv.Itoa(s.Clients),
	}
	if s.TestTime > 0 {
		argv = append(argv, "--test-time="+s.TestTime.String())
	} else {
		argv = append(argv, "--requests="+strconv.Itoa(s.Requests))
	}
	argv = append(argv,
		"--ratio="+s.Ratio.String(),
		"--data-size="+strconv.Itoa(s.DataSize),
		"--pipeline="+strconv.Itoa(s.Pipeline),
		"--key-pattern="+s.KeyPattern,
		"--key-minimum="+strconv.Itoa(s.KeyMinimum),
		"--key-maximum="+strconv.Itoa(s.KeyMaximum),
		"--seed="+strconv.FormatInt(s.Seed, 10),
	)
	if s.Warmup > 0 {
		argv = append(argv, "--warmup="+s.Warmup.String())
	}
	if s.Rate > 0 {
		argv = append(argv, "--rate="+strconv.Itoa(s.Rate))
	}
	return argv
}

type builtinRun struct {
	target   Target
	spec     Spec
	clients  []*client
	timeline *timeline // per second figures (timeseries.go)
	// stopSchedule wakes open-loop clients waiting to send (builtin_open.go).
	stopSchedule func()
	queue        *readyQueue // nil until the clients are connected

	// Written by the coordinator before the clients are released.
	measureStart, measureEnd time.Time

	mu           sync.Mutex
	connErrors   int64
	firstConnErr error
	firstError   string // first error reply, for the message of a failed run
	lastEnd      time.Time
}

func newBuiltinRun(t Target, s Spec) *builtinRun {
	r := &builtinRun{target: t, spec: s, timeline: &timeline{}}
	n := s.Threads * s.Clients
	value := make([]byte, s.DataSize)
	for i := range value {
		value[i] = 'x' // memtier's default (non-random) data
	}
	setPat, getPat, _ := parseKeyPattern(s.KeyPattern)
	lo, hi := uint64(s.KeyMinimum), uint64(s.KeyMaximum)
	cycle := s.Ratio.Set + s.Ratio.Get
	for i := range n {
		rng := rand.New(rand.NewPCG(uint64(s.Seed), uint64(i)))
		c := &client{
			ratio:    s.Ratio,
			cycle:    cycle,
			pos:      i % cycle, // staggered, so short runs still mix SETs and GETs
			pipeline: s.Pipeline,
			pending:  make([]uint8, s.Pipeline),
			maxBulk:  s.DataSize,
			setCmds:  newCommandSet("SET", value, lo, hi),
			getCmds:  newCommandSet("GET", nil, lo, hi),
			setKeys:  newKeyGen(setPat, lo, hi, i, n, rng),
			getKeys:  newKeyGen(getPat, lo, hi, i, n, rng),
			tl:       clientTimeline{tl: r.timeline},
		}
		for op := range c.stats {
			c.stats[op].hist = hdr.New(1, histMaxUs, histSigFigs)
		}
		r.clients = append(r.clients, c)
	}
	r.schedule()
	return r
}

var errTimeout = errors.New("timeout")

func (r *builtinRun) run(parent context.Context) error {
	s := r.spec
	ctx, cancel := context.WithTimeoutCause(parent, s.Timeout, errTimeout)
	defer cancel()
	// Closing the connections is what unblocks clients stuck in a read.
	stop := context.AfterFunc(ctx, r.closeAll)
	defer stop()

	var dialed, finished sync.WaitGroup
	dialErrs := make([]error, len(r.clients))
	release := make(chan struct{})
	var abort atomic.Bool
	for i, c := range r.clients {
		dialed.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			conn, err := r.target.dial(ctx)
			if err == nil {
				r.attach(ctx, c, conn)
			}
			dialErrs[i] = err
			dialed.Done()
			<-release
			if err != nil || abort.Load() {
				return
			}
			defer c.conn.Close()
			if err := c.run(r.measureStart, r.measureEnd, s.Requests); err != nil {
				if ctx.Err() == nil {
					r.mu.Lock()
					r.connErrors++
					r.mu.Unlock()
					cancel() // the run is void; stop the other clients now
					r.failed(err)
				}
			}
			r.mu.Lock()
			if c.end.After(r.lastEnd) {
				r.lastEnd = c.end
			}
			r.mu.Unlock()
		}()
	}
	dialed.Wait()
	// abandon ends a run that cannot start: its clients are let go
	// without sending, and err is what to say unless it was cancelled.
	abandon := func(err error) error {
		abort.Store(true)
		close(release)
		r.closeAll()
		finished.Wait()
		switch {
		case parent.Err() != nil:
			return fmt.Errorf("cancelled while connecting: %w", context.Cause(parent))
		case context.Cause(ctx) == errTimeout:
			return fmt.Errorf("run did not start within its timeout of %s", s.Timeout)
		}
		return err
	}
	if err := errors.Join(dialErrs...); err != nil {
		return abandon(fmt.Errorf("cannot connect to redis at %s (is it listening?): %w", r.target.Addr, firstError(dialErrs)))
	}
	if err := r.startReadyQueue(); err != nil {
		return abandon(err)
	}
	if r.queue != nil {
		defer r.queue.close()
	}

	now := time.Now()
	r.measureStart = now.Add(s.Warmup)
	r.lastEnd = r.measureStart
	if s.TestTime > 0 {
		r.measureEnd = r.measureStart.Add(s.TestTime)
	}
	progressDone := r.startProgress(now)
	close(release)
	finished.Wait()
	progressDone()

	switch {
	case parent.Err() != nil:
		return fmt.Errorf("cancelled: %w", context.Cause(parent))
	case context.Cause(ctx) == errTimeout:
		return fmt.Errorf("run did not finish within its timeout of %s", s.Timeout)
	case r.queue.failed() != nil:
		return fmt.Errorf("the clients' ready queue failed during the run, so its latencies are not those of this generator's version: %w", r.queue.failed())
	case r.connErrors > 0:
		var bad *resp.ProtocolError
		if errors.As(r.firstConnErr, &bad) {
			return fmt.Errorf("the server at %s sent a reply the load cannot have asked for, so the run was stopped: %w", r.target.Addr, r.firstConnErr)
		}
		return fmt.Errorf("connection to %s failed during the run, which was stopped: %w", r.target.Addr, r.firstConnErr)
	}
	return nil
}

// attach gives c its connection. closeAll may have run between the dial
// and here: it runs once ctx is done, so this closes what it could not.
func (r *builtinRun) attach(ctx context.Context, c *client, conn net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.attach(conn)
	if ctx.Err() != nil {
		conn.Close()
	}
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *builtinRun) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstConnErr == nil {
		r.firstConnErr = err
	}
}

func (r *builtinRun) closeAll() {
	if r.stopSchedule != nil {
		r.stopSchedule()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		if c.conn != nil {
			c.conn.Close()
		}
	}
	if r.queue != nil {
		r.queue.close()
	}
}

// startReadyQueue has the clients woken in the order their replies
// arrive (readyqueue_linux.go). Where there is no such queue they wait
// in the runtime's poller, as they would anyway.
//
// With no more clients than Ps there is no wave to put in order, and the
// queue's hand-off would only add to every round trip (a single client at
// pipeline 1 took 35-42 µs a request through it here, 30-33 µs without):
// the clients then wait in the runtime's poller.
func (r *builtinRun) startReadyQueue() error {
	if len(r.clients) <= runtime.GOMAXPROCS(0) {
		return nil
	}
	q, err := newReadyQueue(len(r.clients))
	if errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, c := range r.clients {
		if err := q.add(c.w); err != nil {
			q.close()
			return err
		}
	}
	r.mu.Lock()
	r.queue = q
	r.mu.Unlock()
	go q.run()
	return nil
}

// startProgress calls Spec.Progress twice a second until the returned func
// is called, which makes a last call with the final count.
func (r *builtinRun) startProgress(begin time.Time) (stop func()) {
	fn := r.spec.Progress
	if fn == nil {
		return func() {}
	}
	const every = 500 * time.Millisecond
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var last int64
		lastAt := begin
		report := func(now time.Time) {
			var ops int64
			for _, c := range r.clients {
				ops += c.progress.Load()
			}
			p := Progress{Warmup: now.Before(r.measureStart), Ops: ops}
			p.Elapsed = now.Sub(r.measureStart)
			if p.Warmup {
				p.Elapsed = now.Sub(begin)
			}
			if dt := now.Sub(lastAt).Seconds(); dt > 0 && ops >= last {
				p.OpsPerSec = float64(ops-last) / dt
			}
			last, lastAt = ops, now
			fn(p)
		}
		for {
			select {
			case now := <-tick.C:
				report(now)
			case <-done:
				report(time.Now())
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// measure fills m from the clients' figures, merging their histograms.
func (r *builtinRun) measure(m *Measurement) {
	m.Duration = r.lastEnd.Sub(r.measureStart)
	if m.Duration < 0 {
		m.Duration = 0
	}
	var total opStats
	total.hist = hdr.New(1, histMaxUs, histSigFigs)
	var perOp [2]opStats
	for op := range perOp {
		perOp[op].hist = hdr.New(1, histMaxUs, histSigFigs)
	}
	for _, c := range r.clients {
		for op := range c.stats {
			perOp[op].add(&c.stats[op])
		}
		if r.firstError == "" {
			r.firstError = c.firstError
		}
	}
	// The total from the two sums, not from every client again: merging
	// is by bucket, so the counts are the same, for half the merges.
	for op := range perOp {
		total.add(&perOp[op])
	}
	m.Sets = perOp[opSet].stats(m.Duration)
	m.Gets = perOp[opGet].stats(m.Duration)
	m.Totals = total.stats(m.Duration)
	m.Errors = total.errors + r.connErrors
	m.FirstError = r.firstError
	m.Timeline = r.timeline.result(m.Duration)
}

// opStats are one client's figures for one kind of request.
type opStats struct {
	ops, hits, misses, errors int64
	bytes                     int64 // sent + received
	hist                      *hdr.Histogram
}

func (s *opStats) reset() {
	h := s.hist
	h.Reset()
	*s = opStats{hist: h}
}

func (s *opStats) add(o *opStats) {
	s.ops += o.ops
	s.hits += o.hits
	s.misses += o.misses
	s.errors += o.errors
	s.bytes += o.bytes
	s.hist.Merge(o.hist)
}

func (s *opStats) stats(d time.Duration) Stats {
	st := Stats{Ops: s.ops, Hits: s.hits, Misses: s.misses}
	if sec := d.Seconds(); sec > 0 {
		st.OpsPerSec = float64(s.ops) / sec
		st.KBPerSec = float64(s.bytes) / 1024 / sec
	}
	h := s.hist
	if h.TotalCount() == 0 {
		return st
	}
	st.LatencyAvg = h.Mean()
	st.LatencyP50 = float64(h.ValueAtQuantile(50))
	st.LatencyP90 = float64(h.ValueAtQuantile(90))
	st.LatencyP99 = float64(h.ValueAtQuantile(99))
	st.LatencyP999 = float64(h.ValueAtQuantile(99.9))
	st.LatencyMax = float64(h.Max())
	for _, p := range spectrum {
		st.Percentiles = append(st.Percentiles, Percentile{P: p, LatencyUs: float64(h.ValueAtQuantile(p))})
	}
	return st
}

// client is one connection and everything its hot loop touches, built before
// the run so that the loop allocates nothing.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *batchConn

	ratio    Ratio
	cycle    int // ratio.Set + ratio.Get
	pos      int // position in the SET/GET cycle
	pipeline int
	pending  []uint8 // op of each request in flight, in send order
	maxBulk  int     // the longest value a reply can hold: the load SETs no longer

	setCmds, getCmds *commandSet
	setKeys, getKeys *keyGen

	stats      [2]opStats  // indexed by opSet, opGet
	same       sameLatency // latencies not yet in stats' histograms
	firstError string
	end        time.Time
	progress   atomic.Int64 // requests answered in the current phase
	tl         clientTimeline
	open       *openLoop // the schedule of an open loop, nil for a closed one
}

const ioBufferSize = 16 << 10

func (c *client) attach(conn net.Conn) {
	c.conn = conn
	c.w = newBatchConn(conn, ioBufferSize)
	c.r = bufio.NewReaderSize(c.w, ioBufferSize)
	c.w.r = c.r
}

// run drives the warmup phase (until measureStart) and then the measured one:
// requests per client, or until measureEnd when requests is 0.
// An open loop (rate) runs the same phases on its schedule (openPhase).
func (c *client) run(measureStart, measureEnd time.Time, requests int) error {
	phase := c.phase
	if o := c.open; o != nil {
		o.next = time.Now().Add(o.first)
		o.timer = time.NewTimer(time.Hour)
		defer o.timer.Stop()
		phase = c.openPhase
	}
	if time.Now().Before(measureStart) {
		if err := phase(measureStart, 0); err != nil {
			return err
		}
		for op := range c.stats {
			c.stats[op].reset()
		}
		c.progress.Store(0)
	}
	c.tl.begin(measureStart)
	c.same.interval = c.tl.hist
	err := phase(measureEnd, requests)
	c.end = time.Now()
	c.same.flush(&c.stats)
	c.endTimeline()
	c.same.interval = nil
	return err
}

// queue buffers the next n requests, remembering each one's operation for
// its reply in c.pending. A write error resurfaces from the flush that
// sends them.
func (c *client) queue(n int) {
	for i := range n {
		var b []byte
		op := c.nextOp()
		if op == opSet {
			b = c.setCmds.forKey(c.setKeys.key())
		} else {
			b = c.getCmds.forKey(c.getKeys.key())
		}
		c.w.Write(b)
		c.pending[i] = op
		c.stats[op].bytes += int64(len(b))
	}
}

// batchLen is how many requests the next batch of a phase sends: a
// pipeline's worth, fewer when the phase counts requests and fewer are
// left; 0 when none are.
func (c *client) batchLen(timed bool, left int) int {
	if timed {
		return c.pipeline
	}
	return min(c.pipeline, left)
}

// phase sends requests in batches of c.pipeline and reads their replies:
// count requests, or until the deadline when count is 0. This is the hot
// loop: it must not allocate (see TestBuiltinHotPathDoesNotAllocate).
func (c *client) phase(until time.Time, count int) error {
	timed := count == 0
	for {
		n := c.batchLen(timed, count)
		if n == 0 {
			return nil
		}
		start := time.Now()
		if timed && !start.Before(until) {
			return nil
		}
		if c.tl.due(start) {
			c.roll(start)
		}
		c.queue(n)
		if err := c.w.Submit(); err != nil { // sent by the first read below
			return err
		}
		for i := range n {
			kind, size, line, err := readReply(c.r, c.maxBulk)
			if err != nil {
				c.same.flush(&c.stats)
				return err
			}
			// The reply came with the read that completed it: replies
			// parsed from one read arrived together, and one clock
			// reading serves them all.
			c.record(c.pending[i], kind, size, line, max(c.w.readAt.Sub(start), 0))
		}
		c.same.flush(&c.stats)
		c.progress.Add(int64(n))
		count -= n
	}
}

func (c *client) nextOp() uint8 {
	op := uint8(opGet)
	if c.pos < c.ratio.Set {
		op = opSet
	}
	c.pos++
	if c.pos == c.cycle {
		c.pos = 0
	}
	return op
}

func (c *client) record(op uint8, kind replyKind, size int, line []byte, latency time.Duration) {
	st := &c.stats[op]
	st.bytes += int64(size)
	switch kind {
	case replyError:
		st.errors++
		if c.firstError == "" {
			c.firstError = string(line) // once per client: not on the hot path
		}
		return
	case replyHit:
		st.hits++
	case replyMiss:
		st.misses++
	}
	st.ops++
	c.same.record(&c.stats, op, min(latency.Microseconds(), histMaxUs))
}

// sameLatency counts replies of one kind with the same latency in a row,
// recorded in the histogram with one call: at pipeline 16 the replies of a
// batch mostly arrive in one read, so this is one call where it was 16.
type sameLatency struct {
	op uint8
	us int64
	n  int64
	// interval, when set, also gets every latency: the timeline's
	// current interval (clientTimeline.hist).
	interval *hdr.Histogram
}

func (s *sameLatency) record(stats *[2]opStats, op uint8, us int64) {
	if s.n > 0 && (op != s.op || us != s.us) {
		s.flush(stats)
	}
	s.op, s.us = op, us
	s.n++
}

func (s *sameLatency) flush(stats *[2]opStats) {
	if s.n > 0 {
		stats[s.op].hist.RecordValues(s.us, s.n)
		if s.interval != nil {
			s.interval.RecordValues(s.us, s.n)
		}
		s.n = 0
	}
}

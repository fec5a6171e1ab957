package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/benchbook/benchbook/internal/resp"
)

// Ready is how benchbook knows a started guest is ready for its load: the
// notebook's ready key. Its zero value is redis, which was the only check
// before there was a key.
type Ready struct {
	Check string         // ReadyRedis, ReadyTCP, ReadyHTTP, ReadyLog or ReadyNone
	Path  string         // ReadyHTTP: the path to GET, like "/health"
	Line  *regexp.Regexp // ReadyLog: the line of the guest's output to wait for
}

// The checks a guest may become ready by.
const (
	ReadyRedis = "redis" // PING answered PONG
	ReadyTCP   = "tcp"   // a TCP connection to the port succeeded
	ReadyHTTP  = "http"  // GET of a path answered 2xx
	ReadyLog   = "log"   // a line of the output (a VM's console) matched
	ReadyNone  = "none"  // started is ready: nothing to wait for
)

// ParseReady reads a ready key's value: "redis" (also the value of ""),
// "tcp", "http:/PATH", "log:REGEX" or "none".
func ParseReady(s string) (Ready, error) {
	switch {
	case s == "" || s == ReadyRedis:
		return Ready{Check: ReadyRedis}, nil
	case s == ReadyTCP || s == ReadyNone:
		return Ready{Check: s}, nil
	case strings.HasPrefix(s, "http:"):
		path := strings.TrimPrefix(s, "http:")
		if !strings.HasPrefix(path, "/") {
			return Ready{}, fmt.Errorf(`ready = %q: want a path after "http:", like "http:/" or "http:/health"`, s)
		}
		if _, err := url.ParseRequestURI(path); err != nil || strings.ContainsAny(path, " \t#") {
			return Ready{}, fmt.Errorf(`ready = %q: %q is not a path an HTTP request can ask for`, s, path)
		}
		return Ready{Check: ReadyHTTP, Path: path}, nil
	case strings.HasPrefix(s, "log:"):
		expr := strings.TrimPrefix(s, "log:")
		if expr == "" {
			return Ready{}, fmt.Errorf(`ready = %q: want a regular expression after "log:", like "log:ready to accept"`, s)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return Ready{}, fmt.Errorf("ready = %q: %w", s, err)
		}
		return Ready{Check: ReadyLog, Line: re}, nil
	}
	return Ready{}, fmt.Errorf(`ready = %q: want "redis", "tcp", "http:/PATH", "log:REGEX" or "none"`, s)
}

// check is the check's name, redis for the zero value.
func (r Ready) check() string {
	if r.Check == "" {
		return ReadyRedis
	}
	return r.Check
}

// String is the value as a notebook writes it.
func (r Ready) String() string {
	switch r.check() {
	case ReadyHTTP:
		return "http:" + r.Path
	case ReadyLog:
		return "log:" + r.Line.String()
	}
	return r.check()
}

// IsRedis reports whether the guest is a redis server benchbook may PING.
func (r Ready) IsRedis() bool { return r.check() == ReadyRedis }

// polls reports whether the check is a request to the guest's port, made
// again until it succeeds; log and none are not.
func (r Ready) polls() bool {
	c := r.check()
	return c == ReadyRedis || c == ReadyTCP || c == ReadyHTTP
}

// Probe makes the check once against ep: PING, a connection, a GET. The log
// and none checks have nothing to ask a running guest and always pass.
func (r Ready) Probe(ctx context.Context, ep Endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	switch r.check() {
	case ReadyRedis:
		return pingOnce(ctx, ep)
	case ReadyTCP:
		conn, err := ep.Dial(ctx)
		if err != nil {
			return err
		}
		return conn.Close()
	case ReadyHTTP:
		return getOnce(ctx, ep, r.Path)
	}
	return nil
}

func pingOnce(ctx context.Context, ep Endpoint) error {
	conn, err := ep.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return resp.PingConn(ctx, conn)
}

// getOnce GETs path from ep (inside its namespace) on a connection of its
// own, and wants a 2xx answer. Redirects are answers, not readiness.
func getOnce(ctx context.Context, ep Endpoint, path string) error {
	client := &http.Client{
		Transport: &http.Transport{
			DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return ep.Dial(ctx) },
			DisableKeepAlives: true,
			Proxy:             nil, // never a proxy from the environment: the guest is here
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ep.Addr+path, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("GET %s answered %s", path, res.Status)
	}
	return nil
}

// waitPoll makes the check against ep every 10 ms until it passes, the
// timeout passes, or exited reports that the guest died (then waiting
// longer is pointless). The error says which check failed and the last
// reason it did.
func (r Ready) waitPoll(parent context.Context, ep Endpoint, timeout time.Duration, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		err := r.Probe(ctx, ep)
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
			return errors.New("exited before " + r.wanted())
		case <-ctx.Done():
			if err := parent.Err(); err != nil {
				return err
			}
			return fmt.Errorf("%w: %s within %s (last: %v)", ErrNotReady, r.missing(ep.Addr), timeout, last)
		case <-tick.C:
		}
	}
}

// wanted is what a guest that died did not do, for "exited before ...".
func (r Ready) wanted() string {
	switch r.check() {
	case ReadyTCP:
		return "accepting a TCP connection"
	case ReadyHTTP:
		return "answering GET " + r.Path
	case ReadyLog:
		return fmt.Sprintf("printing a line matching %q", r.Line)
	}
	return "answering PING"
}

// missing is what did not happen in time, for "guest not ready: ...".
func (r Ready) missing(addr string) string {
	switch r.check() {
	case ReadyTCP:
		return "no TCP connection to " + addr
	case ReadyHTTP:
		return "no 2xx answer to GET http://" + addr + r.Path
	case ReadyLog:
		return fmt.Sprintf("no line matching %q", r.Line)
	}
	return "no PONG from " + addr
}

// forwardedTCP refuses the tcp check through user networking: qemu's port
// forward accepts the connection itself, before (and whether or not) the
// guest does, so a connection proves nothing.
func forwardedTCP(name string, r Ready, mode string) error {
	if r.check() != ReadyTCP || mode != "user" && mode != "passt" && mode != "loopback" {
		return nil
	}
	if mode == "passt" {
		return fmt.Errorf(`guest %s: ready = "tcp" cannot work through passt (it accepts connections on its port before the guest does): use "http:/PATH", "log:REGEX" or "redis", or a network where the guest is reached directly`, name)
	}
	return fmt.Errorf(`guest %s: ready = "tcp" cannot work through user networking (its port forward accepts connections before the guest does): use "http:/PATH", "log:REGEX" or "redis", or a network where the guest is reached directly`, name)
}

// consoleLine is the line a VM's console must print to be ready: the
// user's for log, the flavor's (redis's "ready to accept connections") for
// redis, none for the other checks, which do not know what a guest prints.
func (r Ready) consoleLine(flavor *regexp.Regexp) *regexp.Regexp {
	switch r.check() {
	case ReadyLog:
		return r.Line
	case ReadyRedis:
		return flavor
	}
	return nil
}

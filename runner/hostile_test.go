package runner

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil/nbtest"
	"github.com/benchbook/benchbook/internal/testutil/proctest"
	"github.com/benchbook/benchbook/internal/testutil/resptest"
)

// A guest is not trusted: whatever its server answers, `run` must end with
// the cell recorded as failed (or measured), never die. These cases run a
// cell whose guest is this test binary re-executed as a redis impostor: it
// answers PING, INFO, SET and GET as redis does, except the commands named
// by BENCHBOOK_HOSTILE_AT, which get BENCHBOOK_HOSTILE_REPLY instead.

var hostileNotebook = `title = "hostile"
[guests.host]
kind = "process"
command = [{exe}, "-test.run=^TestHostileGuest$", "--", "{port}"]
env = { BENCHBOOK_HOSTILE_AT = "{at}", BENCHBOOK_HOSTILE_REPLY = {reply}, BENCHBOOK_FAULT_MARKER = "{marker}" }
ready_timeout = "5s"   # a bad PING reply fails at once; 5 s lets the test binary start on a loaded machine
[loads.quick]
tool = "builtin"
clients = 2
requests = 100
` + nbtest.BenchCell("tp", "quick", 2, "host")

func TestHostileReplies(t *testing.T) {
	needRedis(t) // for the good result every case starts from
	proctest.Adopt(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const (
		huge     = "$99999999999999\r\n"
		maxInt   = "$9223372036854775807\r\n"
		hugeArr  = "*99999999999\r\n"
		longLine = "+" // then a status line that never ends
	)
	tests := []struct {
		name, at, reply string
		ok              bool     // the cell is measured (the bad reply is not needed)
		want            []string // in the failure record
	}{
		{name: "PING, huge bulk", at: "PING", reply: huge,
			want: []string{"guest host", "not ready", "bulk reply of 99999999999999 bytes"}},
		{name: "PING, max int64 bulk", at: "PING", reply: maxInt,
			want: []string{"guest host", "not ready", "bulk reply of 9223372036854775807 bytes"}},
		{name: "PING, huge array", at: "PING", reply: hugeArr,
			want: []string{"guest host", "not ready", "array of 99999999999 elements"}},
		{name: "PING, endless line", at: "PING", reply: longLine,
			want: []string{"guest host", "not ready", "line longer than"}},
		// INFO only adds facts: a bad answer loses the redis version, not the cell.
		{name: "INFO, huge bulk", at: "INFO", reply: huge, ok: true},
		{name: "INFO, huge array", at: "INFO", reply: hugeArr, ok: true},
		{name: "GET and SET, huge bulk", at: "GET SET", reply: huge,
			want: []string{"guest host, repeat 1", "bulk reply of 99999999999999 bytes", "at most 32 bytes"}},
		{name: "GET and SET, max int64 bulk", at: "GET SET", reply: maxInt,
			want: []string{"guest host, repeat 1", "bulk reply of 9223372036854775807 bytes", "at most 32 bytes"}},
		{name: "GET and SET, huge array", at: "GET SET", reply: hugeArr,
			want: []string{"guest host, repeat 1", "array of 99999999999 elements"}},
		{name: "GET, value longer than any SET", at: "GET", reply: "$33\r\n" + strings.Repeat("x", 33) + "\r\n",
			want: []string{"guest host, repeat 1", "bulk reply of 33 bytes", "at most 32 bytes"}},
		{name: "GET and SET, endless line", at: "GET SET", reply: longLine,
			want: []string{"guest host, repeat 1", "line longer than"}},
	}
	seed := seedRun(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store, good := seedFaultResults(t, seed, dir)
			before := proctest.Children()
			src := strings.NewReplacer(
				"{exe}", strconv.Quote(exe),
				"{at}", tt.at,
				"{reply}", strconv.Quote(tt.reply),
				"{marker}", dir,
			).Replace(hostileNotebook)
			nb := nbtest.Write(t, dir, src)
			var out bytes.Buffer
			start := time.Now()
			_, err := Run(context.Background(), nb, store, Options{Force: true, Version: "test", Progress: &out})
			took := time.Since(start)
			if took > 20*time.Second {
				t.Errorf("the run took %v, want the bad reply noticed at once", took.Round(time.Millisecond))
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("the run failed: %v\n%s", err, out.String())
				}
			} else {
				if !errors.Is(err, ErrFailed) {
					t.Fatalf("err = %v, want ErrFailed\n%s", err, out.String())
				}
				rec, rerr := store.LoadFailure("tp")
				if rerr != nil {
					t.Fatalf("no failure record: %v\n%s", rerr, out.String())
				}
				for _, w := range tt.want {
					if !strings.Contains(rec.Failure, w) {
						t.Errorf("failure lacks %q:\n%s", w, rec.Failure)
					}
				}
				t.Logf("failure: %s", firstLine(errors.New(rec.Failure)))
				checkUntouched(t, store, good)
			}
			if entries, _ := os.ReadDir(store.Dir); true {
				for _, e := range entries {
					if strings.HasPrefix(e.Name(), ".run-") {
						t.Errorf("staging folder %s left behind", e.Name())
					}
				}
			}
			proctest.NoneLeft(t, before, dir)
		})
	}
}

// TestHostileGuest is the guest of TestHostileReplies, not a test: run
// without BENCHBOOK_HOSTILE_AT it does nothing.
func TestHostileGuest(t *testing.T) {
	at := os.Getenv("BENCHBOOK_HOSTILE_AT")
	if at == "" || flag.NArg() != 1 {
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "hostile guest on %s, bad replies to %s\n", l.Addr(), at)
	hostile := strings.Fields(at)
	reply := os.Getenv("BENCHBOOK_HOSTILE_REPLY")
	for {
		conn, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		go resptest.Serve(conn, func(name string) string { return hostileReply(hostile, reply, name) })
	}
}

// hostileReply answers a command as redis would, but those named in
// hostile with reply.
func hostileReply(hostile []string, reply, name string) string {
	if slices.Contains(hostile, name) {
		return reply
	}
	switch name {
	case "PING":
		return "+PONG\r\n"
	case "INFO":
		info := "# Server\r\nredis_version:0.0.0-hostile\r\n"
		return fmt.Sprintf("$%d\r\n%s\r\n", len(info), info)
	case "SET":
		return "+OK\r\n"
	case "GET":
		return "$-1\r\n"
	}
	return "-ERR unknown command\r\n"
}

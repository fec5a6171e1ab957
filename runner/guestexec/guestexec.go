// Package guestexec runs programs inside benchbook's Linux guest for the
// host: a load with at = "guest" (fio on the guest's scratch disk, a
// command) is started by the guest's init, and its exit status, output and
// resource use come back over a virtio-serial port, not mixed into the
// console.
//
// The protocol is one JSON object per line in each direction. The host
// sends a [Request]; the guest answers each with one [Reply] carrying the
// same ID. While a request runs the host may send a [Request] with Cancel
// set and the same ID: the guest kills the process group, and the reply
// says so. One request runs at a time; the host waits for each reply.
//
// The package has both ends: [Serve] (the guest's init) and [Client] (the
// runner), so the two cannot drift apart.
package guestexec

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// PortName is the virtio-serial port's name, as qemu's virtserialport and
// libvirt's channel target give it; the guest finds the port by it under
// /sys/class/virtio-ports.
const PortName = "org.benchbook.exec"

// Request is one program to run in the guest.
type Request struct {
	ID uint64 `json:"id"`
	// Cancel asks the guest to kill request ID's process group.
	Cancel bool `json:"cancel,omitempty"`
	// Argv is the program and its arguments, run without a shell; a name
	// without a slash is looked up on the guest's PATH. A request without
	// one only makes and removes folders.
	Argv []string `json:"argv,omitempty"`
	Dir  string   `json:"dir,omitempty"` // working directory; "" is /
	// Env is added to the guest's environment (PATH, HOME, LC_ALL=C).
	Env []string `json:"env,omitempty"`
	// Mkdir are folders made (with their parents) before the program
	// starts; Files are written before it too (path to content, base64 in
	// the JSON); Remove are removed, with what they hold, after it ends,
	// whatever its end.
	Mkdir  []string          `json:"mkdir,omitempty"`
	Files  map[string][]byte `json:"files,omitempty"`
	Remove []string          `json:"remove,omitempty"`
	// Collect are glob patterns (filepath.Match's) of files read back
	// after the program ends, before Remove: a tool's logs. At most
	// CollectLimit bytes of them come back, whole files only (0: 16 MiB).
	Collect      []string `json:"collect,omitempty"`
	CollectLimit int      `json:"collect_limit,omitempty"`
	// Timeout kills the process group after this long (0: 10 minutes).
	Timeout time.Duration `json:"timeout,omitempty"`
	// StdoutLimit keeps the first bytes of stdout (0: none kept); stderr's
	// last StderrTail bytes are kept.
	StdoutLimit int `json:"stdout_limit,omitempty"`
	StderrTail  int `json:"stderr_tail,omitempty"`
}

// DefaultTimeout bounds a request that gives none.
const DefaultTimeout = 10 * time.Minute

// DefaultCollectLimit bounds the files a request collects when it gives no
// limit: a reply's line must stay under maxLine once in base64.
const DefaultCollectLimit = 16 << 20

// Reply is how a request ended.
type Reply struct {
	ID uint64 `json:"id"`
	// Error says why the program could not run at all (not found, a
	// folder that could not be made); then nothing else is set.
	Error    string `json:"error,omitempty"`
	NotFound bool   `json:"not_found,omitempty"`
	// Exit is the exit status, or -1 when a signal ended it (Signal names
	// it); TimedOut and Cancelled say why benchbook killed it.
	Exit      int    `json:"exit"`
	Signal    string `json:"signal,omitempty"`
	TimedOut  bool   `json:"timed_out,omitempty"`
	Cancelled bool   `json:"cancelled,omitempty"`
	// Wall is from just before the start to the exit, on the guest's
	// clock; User, Sys and MaxRSS (bytes) are the kernel's account of the
	// process and its waited-for children.
	Wall   time.Duration `json:"wall"`
	User   time.Duration `json:"user"`
	Sys    time.Duration `json:"sys"`
	MaxRSS int64         `json:"max_rss"`
	Stdout []byte        `json:"stdout,omitempty"`
	Stderr []byte        `json:"stderr,omitempty"`
	// Collected are the files Collect matched, path to content;
	// CollectError says why some are missing (over the limit, unreadable).
	Collected    map[string][]byte `json:"collected,omitempty"`
	CollectError string            `json:"collect_error,omitempty"`
}

// Success reports whether the program ran and exited 0.
func (r Reply) Success() bool { return r.Error == "" && r.Exit == 0 && r.Signal == "" }

// ExitText is how the end reads in an error, as os/exec says it: "exit
// status 2", "signal: killed".
func (r Reply) ExitText() string {
	if r.Signal != "" {
		return "signal: " + r.Signal
	}
	return fmt.Sprintf("exit status %d", r.Exit)
}

// maxLine bounds one message: a reply carries at most a few MiB of output,
// which base64 makes a third larger.
const maxLine = 64 << 20

// lineReader reads one JSON message per line.
type lineReader struct{ s *bufio.Scanner }

func newLineReader(r io.Reader) *lineReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &lineReader{s: s}
}

func (l *lineReader) next(v any) error {
	if !l.s.Scan() {
		if err := l.s.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	return json.Unmarshal(l.s.Bytes(), v)
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/benchbook/benchbook/notebook"
)

// ToolIperf3 is iperf3, the network throughput tester (Debian iperf3).
const ToolIperf3 = "iperf3"

const iperf3Prog = "iperf3"

// Iperf3Spec declares the keys of an iperf3 load: the client, run as
// `iperf3 --client HOST --port PORT --json ...` against the server a guest
// runs (`iperf3 -s -p {port}`).
type Iperf3Spec struct {
	Tool     string        `key:"tool" required:"" doc:"the load generator"`
	Duration time.Duration `key:"duration" default:"10s" min:"1s" step:"1s" doc:"how long the test sends, in whole seconds (iperf3's -t)"`
	Parallel int           `key:"parallel" default:"1" min:"1" max:"128" doc:"streams sending at once (-P); figures are of all of them"`
	UDP      bool          `key:"udp" default:"false" doc:"UDP instead of TCP (-u): adds jitter and loss; iperf3 then sends 1 Mbit/s per stream unless bitrate says otherwise"`
	Bitrate  string        `key:"bitrate" pattern:"^(0|[1-9][0-9]*(\\.[0-9]+)?[KMGTkmgt]?)$" help:"want bits per second like \"100M\", \"2.5G\" or \"0\" (unlimited)" doc:"target bits per second of each stream (-b); 0: unlimited; iperf3's default: unlimited for TCP, 1M for UDP"`
	Reverse  bool          `key:"reverse" default:"false" doc:"the server sends and the client receives (-R)"`
	Length   string        `key:"length" pattern:"^[1-9][0-9]*[KMGkmg]?$" help:"want a size like \"128K\" or \"1400\"" doc:"bytes of each write (-l); iperf3's default: 128K for TCP, the path's MTU payload for UDP"`
	Omit     time.Duration `key:"omit" default:"0s" min:"0s" step:"1s" doc:"send this long first, in whole seconds, and leave it out of the figures (-O): past TCP's slow start"`
	// Congestion is checked against what the sender reports it used: a
	// kernel without the module would otherwise measure its default.
	Congestion string `key:"congestion" pattern:"^[a-z][a-z0-9_]*$" help:"want a TCP congestion control's name like \"cubic\", \"reno\" or \"bbr\" (sysctl net.ipv4.tcp_available_congestion_control)" when:"udp=false" doc:"TCP congestion control of the streams (-C), e.g. cubic or bbr; default: the sender's system default"`

	Timeout     time.Duration `key:"timeout" min:"1s" doc:"kill iperf3 after this long (default: omit + duration + 1m)"`
	Description string        `key:"description" noparam:"" doc:"shown in the report"`
}

// iperf3Metrics: rates in bits per second, as iperf3 counts them.
var iperf3Metrics = []notebook.Metric{
	{Name: "received_bits_per_sec", Unit: "bits/s", Better: notebook.BetterHigher, Doc: "bits per second the receiving side got, all streams"},
	{Name: "sent_bits_per_sec", Unit: "bits/s", Better: notebook.BetterHigher, Doc: "bits per second the sending side wrote, all streams"},
	{Name: "retransmits", Better: notebook.BetterLower, Doc: "TCP: segments the sender retransmitted (on Linux)"},
	{Name: "jitter_ms", Unit: "ms", Better: notebook.BetterLower, Doc: "UDP: variation of the packets' transit time, as the receiver measured it"},
	{Name: "lost_percent", Unit: "%", Better: notebook.BetterLower, Doc: "UDP: percentage of the packets sent that did not arrive"},
	{Name: "lost_packets", Better: notebook.BetterLower, Doc: "UDP: packets sent that did not arrive"},
	{Name: "host_cpu_percent", Unit: "%", Doc: "CPU time of the client (user and system) over the test's wall time, in percent"},
	{Name: "remote_cpu_percent", Unit: "%", Doc: "CPU time of the server (user and system) over the test's wall time, in percent"},
}

func iperf3Version(ctx context.Context) (string, error) {
	return toolVersion(ctx, iperf3Prog, secondField("iperf")) // "iperf 3.12 (cJSON 1.7.15)"
}

// iperf3Run runs one iperf3 test against t and judges it: the error iperf3
// reports (no server, a busy one, a connection lost) fails the repeat with
// iperf3's words.
func iperf3Run(ctx context.Context, t Target, v notebook.Values) (Measurement, error) {
	m := Measurement{Tool: ToolIperf3}
	fail := func(err error) (Measurement, error) { return m, fmt.Errorf("iperf3: %w", err) }
	s, path, err := decodeTool[Iperf3Spec](t, v, iperf3Prog)
	if err != nil {
		return fail(err)
	}
	argv, err := s.argv(path, t.Addr)
	if err != nil {
		return fail(err)
	}
	m.Command = argv
	timeout := s.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()
	res, out, err, perr := iperf3Attempts(ctx, t, argv)
	m.CPU = res.cpu()
	if ctx.Err() != nil {
		return fail(describeProcErr(ctx, err, timeout, res.stderr))
	}
	switch {
	case perr == nil && out.Error != "":
		// iperf3 3.12 exits 0 after some of its errors: this is the one
		// sure sign.
		if iperf3Refused(out.Error) {
			return fail(fmt.Errorf("%s (server %s, tried %d times: is the guest running iperf3 -s -p {port}?)", out.Error, t.Addr, iperf3Tries))
		}
		return fail(fmt.Errorf("%s (server %s)", out.Error, t.Addr))
	case err != nil:
		return fail(fmt.Errorf("%w%s", err, stderrHint(res.stderr)))
	case perr != nil:
		return fail(fmt.Errorf("%w%s", perr, stderrHint(res.stderr)))
	}
	if err := out.judge(s); err != nil {
		return fail(err)
	}
	out.fill(&m)
	if m.ToolVersion == "" {
		m.ToolVersion, _ = iperf3Version(ctx)
	}
	return m, nil
}

// iperf3Tries is how often a test is tried that could not start because the
// server refused it: its port can be closed for a moment between two tests
// (seen here once in some 250 tests back to back), and a server still
// finishing the last test says it is busy. Nothing was measured then, so
// trying again is safe.
const iperf3Tries = 3

// iperf3Attempts runs the client until a test starts, or iperf3Tries times.
func iperf3Attempts(ctx context.Context, t Target, argv []string) (res procResult, out iperf3Output, err, perr error) {
	for try := 1; ; try++ {
		res, err = runProc(ctx, t.wrap(argv), t.Dir, nil)
		if ctx.Err() != nil {
			return res, out, err, perr
		}
		out, perr = parseIperf3(res.stdout)
		if perr != nil || !iperf3Refused(out.Error) || try == iperf3Tries {
			return res, out, err, perr
		}
		select {
		case <-ctx.Done():
			return res, out, context.Cause(ctx), perr
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// iperf3Refused tells the errors of a test that did not start because the
// server was not taking one.
func iperf3Refused(msg string) bool {
	return strings.HasPrefix(msg, "unable to connect to server: Connection refused") || strings.HasPrefix(msg, "the server is busy")
}

func (s Iperf3Spec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return s.Omit + s.Duration + slack
}

// argv is the client's command line against the server at addr.
func (s Iperf3Spec) argv(path, addr string) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("the server's address %q: %w", addr, err)
	}
	argv := []string{path, "--client", host, "--port", port, "--json",
		"--time", strconv.FormatInt(int64(s.Duration/time.Second), 10),
		"--parallel", strconv.Itoa(s.Parallel),
		// A server that does not answer the connection (a dropped SYN)
		// fails in 10 s instead of the kernel's two minutes.
		"--connect-timeout", "10000",
	}
	if s.Omit > 0 {
		argv = append(argv, "--omit", strconv.FormatInt(int64(s.Omit/time.Second), 10))
	}
	if s.UDP {
		argv = append(argv, "--udp")
	}
	if s.Bitrate != "" {
		argv = append(argv, "--bitrate", s.Bitrate)
	}
	if s.Length != "" {
		argv = append(argv, "--length", s.Length)
	}
	if s.Reverse {
		argv = append(argv, "--reverse")
	}
	if s.Congestion != "" {
		argv = append(argv, "--congestion", s.Congestion)
	}
	return argv, nil
}

// iperf3Output is what benchbook reads of `iperf3 --json`.
type iperf3Output struct {
	Start struct {
		Version   string `json:"version"` // "iperf 3.12"
		TestStart struct {
			Protocol   string `json:"protocol"` // "TCP", "UDP"
			NumStreams int    `json:"num_streams"`
			Reverse    int    `json:"reverse"`
		} `json:"test_start"`
	} `json:"start"`
	End struct {
		SumSent     *iperf3Sum `json:"sum_sent"`
		SumReceived *iperf3Sum `json:"sum_received"`
		// Sum is UDP's, with the receiver's jitter and loss (as is
		// SumReceived in iperf3 3.12).
		Sum *iperf3Sum `json:"sum"`
		// SenderCongestion is the TCP congestion control the sender
		// used (TCP only).
		SenderCongestion string `json:"sender_tcp_congestion"`
		CPU              *struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
	// Error is iperf3's message when the test failed ("unable to connect
	// to server: Connection refused").
	Error string `json:"error"`
}

// iperf3Sum is one of the end's sums over the streams.
type iperf3Sum struct {
	Seconds       float64  `json:"seconds"`
	Bytes         float64  `json:"bytes"`
	BitsPerSecond float64  `json:"bits_per_second"`
	Retransmits   *float64 `json:"retransmits"`
	JitterMs      *float64 `json:"jitter_ms"`
	LostPackets   *float64 `json:"lost_packets"`
	Packets       *float64 `json:"packets"`
	LostPercent   *float64 `json:"lost_percent"`
}

// parseIperf3 reads iperf3's --json output: one JSON document.
func parseIperf3(stdout []byte) (iperf3Output, error) {
	var out iperf3Output
	if len(bytes.TrimSpace(stdout)) == 0 {
		return out, errors.New("no output")
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		return out, fmt.Errorf("reading its JSON output: %w", err)
	}
	if out.Error != "" {
		return out, nil
	}
	return out, out.sane()
}

// sane refuses figures no iperf3 can have printed.
func (o iperf3Output) sane() error {
	for name, s := range map[string]*iperf3Sum{"sum_sent": o.End.SumSent, "sum_received": o.End.SumReceived, "sum": o.End.Sum} {
		if s == nil {
			continue
		}
		xs := map[string]float64{"seconds": s.Seconds, "bytes": s.Bytes, "bits_per_second": s.BitsPerSecond}
		for k, p := range map[string]*float64{"retransmits": s.Retransmits, "jitter_ms": s.JitterMs, "lost_packets": s.LostPackets, "packets": s.Packets, "lost_percent": s.LostPercent} {
			if p != nil {
				xs[k] = *p
			}
		}
		for k, x := range xs {
			if x < 0 || math.IsInf(x, 0) || x > 1e300 {
				return fmt.Errorf("end.%s.%s = %g", name, k, x)
			}
		}
		if s.Seconds > 1e9 {
			return fmt.Errorf("end.%s.seconds = %g", name, s.Seconds)
		}
	}
	if c := o.End.CPU; c != nil && (c.HostTotal < 0 || c.RemoteTotal < 0 || c.HostTotal > 1e6 || c.RemoteTotal > 1e6) {
		return fmt.Errorf("cpu_utilization_percent host %g, remote %g", c.HostTotal, c.RemoteTotal)
	}
	return nil
}

// judge fails a test that did not run as asked or moved nothing.
func (o iperf3Output) judge(s Iperf3Spec) error {
	ts := o.Start.TestStart
	want := map[bool]string{false: "TCP", true: "UDP"}[s.UDP]
	switch {
	case o.End.SumSent == nil || o.End.SumReceived == nil:
		return errors.New("its JSON has no end.sum_sent or end.sum_received, which benchbook reads (iperf3 3.12 writes them)")
	case ts.Protocol != want:
		return fmt.Errorf("it ran a %s test, not %s", ts.Protocol, want)
	case ts.NumStreams != s.Parallel:
		return fmt.Errorf("it ran %d streams, not %d", ts.NumStreams, s.Parallel)
	case o.End.SumReceived.Bytes == 0:
		return errors.New("nothing was received")
	case s.UDP && o.udpReceiver() == nil:
		return errors.New("its UDP test has no jitter or loss in end.sum_received or end.sum")
	case s.Congestion != "" && o.End.SenderCongestion != s.Congestion:
		return fmt.Errorf("its sender used TCP congestion control %q, not %q (is the module loaded? sysctl net.ipv4.tcp_available_congestion_control)", o.End.SenderCongestion, s.Congestion)
	}
	return nil
}

// udpReceiver is the sum with the receiver's jitter and loss: sum_received
// (iperf3 3.12), or sum.
func (o iperf3Output) udpReceiver() *iperf3Sum {
	for _, s := range []*iperf3Sum{o.End.SumReceived, o.End.Sum} {
		if s != nil && s.JitterMs != nil && s.LostPercent != nil {
			return s
		}
	}
	return nil
}

// fill puts the figures of a judged test into m.
func (o iperf3Output) fill(m *Measurement) {
	if f := strings.Fields(o.Start.Version); len(f) >= 2 {
		m.ToolVersion = f[1]
	}
	sent, recv := o.End.SumSent, o.End.SumReceived
	m.Duration = time.Duration(max(sent.Seconds, recv.Seconds) * float64(time.Second))
	m.Metrics = map[string]float64{
		"sent_bits_per_sec":     sent.BitsPerSecond,
		"received_bits_per_sec": recv.BitsPerSecond,
	}
	if sent.Retransmits != nil && o.Start.TestStart.Protocol == "TCP" {
		m.Metrics["retransmits"] = *sent.Retransmits
	}
	if u := o.udpReceiver(); o.Start.TestStart.Protocol == "UDP" && u != nil {
		m.Metrics["jitter_ms"] = *u.JitterMs
		m.Metrics["lost_percent"] = *u.LostPercent
		if u.LostPackets != nil {
			m.Metrics["lost_packets"] = *u.LostPackets
		}
	}
	if c := o.End.CPU; c != nil {
		m.Metrics["host_cpu_percent"] = c.HostTotal
		m.Metrics["remote_cpu_percent"] = c.RemoteTotal
	}
}

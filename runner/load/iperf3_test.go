package load

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/servertest"
	"github.com/benchbook/benchbook/notebook"
)

func iperf3Values(kv ...any) notebook.Values {
	return toolValues(ToolIperf3, notebook.Values{"duration": "1s"}, kv...)
}

// TestIperf3Run runs TCP and UDP tests against one real iperf3 server, one
// after another as a guest kept across repeats would see them.
func TestIperf3Run(t *testing.T) {
	needTool(t, "iperf3")
	srv := servertest.Iperf3(t)
	tests := []struct {
		name   string
		values notebook.Values
		udp    bool
	}{
		{"tcp", iperf3Values(), false},
		{"tcp reverse, 2 streams", iperf3Values("reverse", true, "parallel", int64(2), "length", "64K"), false},
		{"tcp reno", iperf3Values("congestion", "reno"), false},
		{"udp", iperf3Values("udp", true, "bitrate", "20M"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRun(t, Target{Addr: srv.Addr}, tt.values)
			checkIperf3(t, m, tt.udp)
			recv := m.Metrics["received_bits_per_sec"]
			if tt.udp {
				// 20 Mbit/s asked; loopback carries it, give or take
				// the loss of a loaded machine.
				if recv < 10e6 || recv > 21e6 {
					t.Errorf("received %g bits/s of 20M", recv)
				}
				return
			}
			if recv < 100e6 {
				t.Errorf("received %g bits/s: loopback TCP carries gigabits", recv)
			}
		})
	}
}

func checkIperf3(t *testing.T, m Measurement, udp bool) {
	t.Helper()
	if m.Tool != ToolIperf3 || m.ToolVersion != "3.12" || len(m.Command) == 0 {
		t.Errorf("tool %q, version %q, command %q", m.Tool, m.ToolVersion, m.Command)
	}
	want := []string{"sent_bits_per_sec", "received_bits_per_sec", "host_cpu_percent", "remote_cpu_percent"}
	if udp {
		want = append(want, "jitter_ms", "lost_percent", "lost_packets")
	} else {
		want = append(want, "retransmits")
	}
	for _, name := range want {
		if _, ok := m.Metrics[name]; !ok {
			t.Errorf("no %s in %v", name, m.Metrics)
		}
	}
	if len(m.Metrics) != len(want) {
		t.Errorf("metrics %v, want %v", m.Metrics, want)
	}
	sent, recv := m.Metrics["sent_bits_per_sec"], m.Metrics["received_bits_per_sec"]
	// What is received was sent (UDP loses some), but the two sides time
	// themselves apart: in reverse, the server's sending starts before
	// the client's receiving, and its rate is a little lower.
	if recv <= 0 || recv > sent*1.2 {
		t.Errorf("sent %g bits/s, received %g", sent, recv)
	}
	if m.Duration < 900*time.Millisecond || m.Duration > 3*time.Second {
		t.Errorf("duration %s", m.Duration)
	}
	if lost := m.Metrics["lost_percent"]; lost < 0 || lost > 100 {
		t.Errorf("lost_percent %g", lost)
	}
}

func TestIperf3Fails(t *testing.T) {
	needTool(t, "iperf3")
	srv := servertest.Iperf3(t)
	closed := closedAddr(t)
	tests := []struct {
		name   string
		values notebook.Values
		addr   string
		want   string
	}{
		{"no server", iperf3Values(), closed, "iperf3: unable to connect to server: Connection refused (server " + closed + ", tried 3 times: is the guest running iperf3 -s -p {port}?)"},
		{"a fraction of a second", iperf3Values("duration", "1500ms"), srv.Addr, `duration = "1500ms": want whole multiples of 1s (the tool counts no less), like "1s" or "2s"`},
		{"omit in fractions", iperf3Values("omit", "500ms"), srv.Addr, `omit = "500ms": want whole multiples of 1s (the tool counts no less), like "0s" or "1s"`},
		{"a bitrate iperf3 would read as 0", iperf3Values("bitrate", "fast"), srv.Addr, `bitrate "fast": want bits per second like`},
		{"too many streams", iperf3Values("parallel", int64(500)), srv.Addr, "parallel"},
		{"congestion control of UDP", iperf3Values("udp", true, "congestion", "bbr"), srv.Addr, `congestion applies to udp = "false" only, and this table has udp = "true"`},
		{"a congestion control the kernel lacks", iperf3Values("congestion", "nosuchcc"), srv.Addr, "iperf3: unable to set TCP_CONGESTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			m, err := Run(context.Background(), Target{Addr: tt.addr}, tt.values)
			if err == nil {
				t.Fatalf("Run succeeded: %v", m.Metrics)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			if len(m.Metrics) != 0 {
				t.Errorf("a failed run has figures: %v", m.Metrics)
			}
			if left := clientsLeft(t, srv); len(left) > 0 {
				t.Errorf("children left: %v", left)
			}
		})
	}
}

// clientsLeft lists the iperf3 processes this test started, but for the
// server.
func clientsLeft(t *testing.T, srv *servertest.Server) []int {
	t.Helper()
	return slices.DeleteFunc(childrenNamed(t, "iperf3"), func(pid int) bool { return pid == srv.Pid() })
}

// TestIperf3ServerTrouble: a server killed during the test, one busy with
// another client's, and one that accepts connections but never answers.
func TestIperf3ServerTrouble(t *testing.T) {
	needTool(t, "iperf3")
	t.Run("killed", func(t *testing.T) {
		srv := servertest.Iperf3(t)
		time.AfterFunc(700*time.Millisecond, srv.Stop)
		_, err := Run(context.Background(), Target{Addr: srv.Addr}, iperf3Values("duration", "3s"))
		if err == nil {
			t.Fatal("Run succeeded although the server died")
		}
		t.Log(err)
	})
	t.Run("busy", func(t *testing.T) {
		srv := servertest.Iperf3(t)
		other := make(chan error, 1)
		go func() {
			_, err := Run(context.Background(), Target{Addr: srv.Addr}, iperf3Values("duration", "2s"))
			other <- err
		}()
		time.Sleep(500 * time.Millisecond)
		_, err := Run(context.Background(), Target{Addr: srv.Addr}, iperf3Values())
		if err == nil || !strings.Contains(err.Error(), "iperf3: the server is busy running a test. try again later (server "+srv.Addr) {
			t.Errorf("error %v, want the server busy", err)
		}
		if err := <-other; err != nil {
			t.Errorf("the other test: %v", err)
		}
	})
	t.Run("hung", func(t *testing.T) {
		srv := servertest.Iperf3(t)
		if err := syscall.Kill(srv.Pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		checkTimeout(t, Target{Addr: srv.Addr}, iperf3Values("timeout", "1s"), 3*time.Second, func() []int { return clientsLeft(t, srv) })
	})
}

// TestIperf3ParseCaptured reads the recorded runs (testdata/iperf3/capture.sh)
// as iperf3Run reads a run.
func TestIperf3ParseCaptured(t *testing.T) {
	tests := []struct {
		name     string
		spec     Iperf3Spec
		received float64 // end.sum_received.bits_per_second
		lost     float64
		want     string
	}{
		{name: "tcp", spec: Iperf3Spec{Parallel: 1}},
		{name: "tcp-reverse-2", spec: Iperf3Spec{Parallel: 2, Reverse: true}},
		{name: "tcp-omit", spec: Iperf3Spec{Parallel: 1}},
		{name: "udp", spec: Iperf3Spec{Parallel: 1, UDP: true}, received: 94046308.78787696, lost: 6.020942408376963},
		{name: "udp-reverse", spec: Iperf3Spec{Parallel: 2, UDP: true}, received: 85475676.46731026},
		{name: "udp-lossy", spec: Iperf3Spec{Parallel: 1, UDP: true}, received: 197618857.4572011, lost: 44.873556899395275},
		{name: "tcp", spec: Iperf3Spec{Parallel: 1, UDP: true}, want: "it ran a TCP test, not UDP"},
		{name: "tcp", spec: Iperf3Spec{Parallel: 4}, want: "it ran 1 streams, not 4"},
		{name: "busy", want: "the server is busy running a test. try again later"},
		{name: "noserver", want: "unable to connect to server: Connection refused"},
		{name: "killed", want: "unable to write to stream socket: Connection reset by peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _ := captured(t, "iperf3", tt.name)
			out, err := parseIperf3(stdout)
			if err == nil && out.Error != "" {
				err = errorString(out.Error)
			}
			if err == nil {
				err = out.judge(tt.spec)
			}
			if testutil.ExpectErr(t, err, tt.want) {
				return
			}
			m := Measurement{Tool: ToolIperf3, Command: []string{"iperf3"}}
			out.fill(&m)
			checkIperf3(t, m, tt.spec.UDP)
			if tt.received != 0 && m.Metrics["received_bits_per_sec"] != tt.received {
				t.Errorf("received %g, iperf3 wrote %g", m.Metrics["received_bits_per_sec"], tt.received)
			}
			if tt.spec.UDP && m.Metrics["lost_percent"] != tt.lost {
				t.Errorf("lost_percent %g, iperf3 wrote %g", m.Metrics["lost_percent"], tt.lost)
			}
		})
	}
}

// FuzzIperf3 covers the reading of iperf3's JSON, seeded with every
// recorded run: figures that are declared and finite, or an error.
func FuzzIperf3(f *testing.F) {
	for _, b := range recordedOutputs(f, "iperf3") {
		f.Add(b)
	}
	f.Add([]byte(`{"start":{"test_start":{"protocol":"UDP","num_streams":1}},"end":{"sum_sent":{"bytes":1},"sum_received":{"bytes":1,"seconds":1e300},"sum":{"jitter_ms":1,"lost_percent":1}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := parseIperf3(data)
		if err != nil || out.Error != "" {
			return
		}
		ts := out.Start.TestStart
		if out.judge(Iperf3Spec{Parallel: ts.NumStreams, UDP: ts.Protocol == "UDP"}) != nil {
			return
		}
		var m Measurement
		out.fill(&m)
		if _, ok := m.Metrics["received_bits_per_sec"]; !ok {
			t.Fatal("a judged test with no received_bits_per_sec")
		}
		checkFuzzed(t, m, iperf3Metrics, 1e300)
	})
}

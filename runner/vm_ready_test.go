package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/internal/netns"
)

// A VM's ready key: its console line alone (log), or a connection on a
// network that reaches the guest directly (tcp), in place of the redis
// flavor's line and PING; and tcp refused through user networking, whose
// port forward accepts connections itself. The built-in micro-VM under
// TCG.
func TestMicroVMReadyChecks(t *testing.T) {
	needVM(t)
	tests := []struct {
		name, keys string
		steps      []string // of the start, after qemu
		fail       string   // in the failure record
	}{
		{name: "log", keys: `ready = "log:Ready to accept connections"`, steps: []string{"ready-line", "net-facts"}},
		{name: "tcp on a tap", keys: "ready = \"tcp\"\nnetwork = \"tap\"", steps: []string{"tcp", "net-facts"}},
		{name: "tcp through user networking", keys: "ready = \"tcp\"\nnetwork = \"user\"",
			fail: `ready = "tcp" cannot work through user networking (its port forward accepts connections before the guest does)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.keys, "tap") && netns.Available() != nil {
				t.Skip("a tap needs a private network namespace, which needs root")
			}
			src := strings.Replace(vmNotebook, `memory = "256M"`, `memory = "256M"`+"\n"+tt.keys, 1)
			src = strings.Replace(src, "repeat = 2", "repeat = 1", 1)
			nb, store := writeNotebook(t, t.TempDir(), src)
			opt := vmOpts(t, &bytes.Buffer{}, t.TempDir())
			var steps []string
			qemu := false
			opt.Trace = func(ev string) {
				step, ok := strings.CutPrefix(ev, "guest-step-done linux ")
				if qemu && ok {
					steps = append(steps, step)
				}
				qemu = qemu || ev == "guest-step-done linux qemu"
			}
			_, err := Run(context.Background(), nb, store, opt)
			if tt.fail != "" {
				rec, rerr := store.LoadFailure("tp")
				if err == nil || rerr != nil || !strings.Contains(rec.Failure, tt.fail) {
					t.Fatalf("err %v, failure %+v: want %q", err, rec, tt.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(steps, " ") != strings.Join(tt.steps, " ") {
				t.Errorf("steps after qemu: %q, want %q", steps, tt.steps)
			}
			f := mustLoad(t, store, "tp")
			g := f.Guest("linux")
			if r := g.Points[0].Repeats[0]; r.Metrics["boot_ms"] <= 0 || r.Metrics["ops_per_sec"] <= 0 {
				t.Errorf("metrics %v", r.Metrics)
			}
			if v, ok := g.Facts["redis_version"]; ok {
				t.Errorf("redis_version %q without the redis check", v)
			}
		})
	}
}

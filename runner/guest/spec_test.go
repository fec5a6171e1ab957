package guest

import (
	"slices"
	"strings"
	"testing"

	"github.com/benchbook/benchbook/notebook"
)

// The flavor key accepts exactly the flavors the launchers know.
func TestFlavorKeyMatchesFlavors(t *testing.T) {
	for _, d := range Decls() {
		k := d.Key("flavor")
		if d.Name == "process" || d.Name == "host" {
			if k != nil {
				t.Errorf("a %s guest declares flavor", d.Name)
			}
			continue
		}
		if k == nil || !slices.Equal(k.OneOf, Flavors()) {
			t.Errorf("%s: flavor accepts %v, the launchers know %v", d.Name, k, Flavors())
		}
	}
}

func TestDecodeSpec(t *testing.T) {
	tests := []struct {
		name   string
		values notebook.Values
		check  func(Spec) bool
		err    string
	}{
		{
			name:   "a process guest, {port} resolved to an int",
			values: notebook.Values{"kind": "process", "command": []any{"redis-server", "--port", 6390}, "ready_timeout": "5s"},
			check: func(s Spec) bool {
				return strings.Join(s.Command, " ") == "redis-server --port 6390" && s.ReadyTimeout.Seconds() == 5
			},
		},
		{
			name:   "a qemu guest needs no command, and cmdline may be one string",
			values: notebook.Values{"kind": "qemu", "image": "builtin:linux-redis", "cmdline": "quiet", "cpus": int64(2)},
			check: func(s Spec) bool {
				return s.CPUs == 2 && len(s.Cmdline) == 1 && s.Boot == "per-repeat" && s.Accel == ""
			},
		},
		{
			name:   "a process guest without command",
			values: notebook.Values{"kind": "process"},
			err:    `missing key "command"`,
		},
		{
			name:   "a value out of range, as a -p override could give",
			values: notebook.Values{"kind": "qemu", "kernel": "k", "cpus": int64(0)},
			err:    "cpus = 0: want 1 to 256",
		},
		{
			name:   "a network mode this version has not",
			values: notebook.Values{"kind": "qemu", "kernel": "k", "network": "warp"},
			err:    `network "warp": want "auto", "user", "tap", "tap-routed", "macvtap", "passt", "loopback" or "vhost" (qemu)`,
		},
		{
			name:   "ready is redis unless the table says",
			values: notebook.Values{"kind": "process", "command": []any{"redis-server"}},
			check:  func(s Spec) bool { r, err := s.ReadyCheck(); return s.Ready == "redis" && err == nil && r.IsRedis() },
		},
		{
			name:   "a host guest has no check to wait for",
			values: notebook.Values{"kind": "host", "dir_base": "/mnt/ssd"},
			check:  func(s Spec) bool { r, _ := s.ReadyCheck(); return s.DirBase == "/mnt/ssd" && r.Check == ReadyNone },
		},
		{
			name:   "a ready key of the right shape whose expression does not compile",
			values: notebook.Values{"kind": "process", "command": []any{"x"}, "ready": "log:a(b"},
			err:    `ready = "log:a(b": error parsing regexp: missing closing )`,
		},
		{
			name:   "a ready key of another shape, as a -p override could give",
			values: notebook.Values{"kind": "process", "command": []any{"x"}, "ready": "ping"},
			err:    `want "redis", "tcp", "http:/PATH", "log:REGEX" or "none"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSpec("g", tt.values)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !tt.check(s) {
				t.Fatalf("DecodeSpec = %+v, %v", s, err)
			}
		})
	}
}

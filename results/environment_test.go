package results

import (
	"reflect"
	"testing"
)

// envFile is a stored run on a machine with redis 7.0.15 on the host and
// in the built-in image, an OSv disk, and the builtin load generator 2.
func envFile() *File {
	return &File{
		Env: Env{CPUModel: "AMD EPYC", Kernel: "6.1.0-56", Tools: map[string]string{"builtin": "2"}},
		Guests: []Guest{
			{Name: "host", Facts: map[string]string{"program": "redis-server", "redis_version": "7.0.15", "load_tool": "builtin 2"}},
			{Name: "linux", Facts: map[string]string{
				"redis_version": "7.0.15", "qemu_version": "7.2.22", "image": "linux-redis",
				"image_digest": "sha256:3775922256e7bcb47525bcd47ba0f1a401b6d34678c269ef0745df3764414c06", "kernel_version": "6.1.0-56-cloud-amd64",
			}},
			{Name: "osv", Facts: map[string]string{"qemu_version": "7.2.22", "redis_version": "6.2.16", "disk_file": "images/osv/usr.img", "disk_digest": "sha256:aaaa"}},
			{Name: "web", Facts: map[string]string{"program": "nginx", "program_version": "1.22.1"}},
		},
	}
}

func TestFileEnvironment(t *testing.T) {
	got := envFile().Environment()
	want := Environment{
		{"", "CPU"}:                        "AMD EPYC",
		{"", "kernel"}:                     "6.1.0-56",
		{"", "builtin"}:                    "2",
		{"host", "redis"}:                  "7.0.15",
		{"linux", "redis"}:                 "7.0.15",
		{"linux", "qemu"}:                  "7.2.22",
		{"linux", "image linux-redis"}:     "sha256:3775922256e7bcb47525bcd47ba0f1a401b6d34678c269ef0745df3764414c06",
		{"linux", "guest kernel"}:          "6.1.0-56-cloud-amd64",
		{"osv", "qemu"}:                    "7.2.22",
		{"osv", "redis"}:                   "6.2.16",
		{"osv", "disk images/osv/usr.img"}: "sha256:aaaa",
		{"web", "nginx"}:                   "1.22.1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environment() =\n%v\nwant\n%v", got, want)
	}
	// An unknown CPU says nothing; an older file without facts has none.
	old := &File{Env: Env{CPUModel: "unknown"}, Guests: []Guest{{Name: "host"}}}
	if env := old.Environment(); len(env) != 0 {
		t.Errorf("empty file: %v", env)
	}
}

func TestCompareEnv(t *testing.T) {
	base := envFile().Environment()
	with := func(changes map[EnvKey]string) Environment {
		env := Environment{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return env
	}
	for _, tc := range []struct {
		name string
		now  Environment
		want string
	}{
		{"same", with(nil), ""},
		{"redis upgraded, kernel too", with(map[EnvKey]string{
			{"host", "redis"}: "7.2.4", {"linux", "redis"}: "7.2.4", {"", "kernel"}: "6.1.0-57",
		}), "kernel 6.1.0-56 → 6.1.0-57, redis 7.0.15 → 7.2.4 (host, linux)"},
		{"machine first, then tools, then guests", with(map[EnvKey]string{
			{"web", "nginx"}: "1.24.0", {"", "builtin"}: "3", {"", "CPU"}: "Intel Xeon",
		}), "CPU AMD EPYC → Intel Xeon, builtin 2 → 3, nginx 1.22.1 → 1.24.0 (web)"},
		{"digests shortened", with(map[EnvKey]string{
			{"linux", "image linux-redis"}:     "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			{"osv", "disk images/osv/usr.img"}: "sha256:bbbb",
		}), "disk images/osv/usr.img sha256:aaaa → sha256:bbbb (osv), image linux-redis sha256:3775922256e7 → sha256:0123456789ab (linux)"},
		{"one guest differs from another", with(map[EnvKey]string{
			{"host", "redis"}: "7.2.4", {"linux", "redis"}: "7.2.5",
		}), "redis 7.0.15 → 7.2.4 (host), redis 7.0.15 → 7.2.5 (linux)"},
		{"what this machine cannot tell is not a change", with(map[EnvKey]string{
			{"osv", "redis"}: "", {"", "CPU"}: "", {"new", "qemu"}: "9.0",
		}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := JoinEnvDiffs(CompareEnv(base, tc.now)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A tool and a guest's program of the same name and change stay apart:
// one is the load generator, the other the server.
func TestCompareEnvToolAndGuestApart(t *testing.T) {
	old := Environment{{"", "iperf3"}: "3.12", {"srv", "iperf3"}: "3.12"}
	now := Environment{{"", "iperf3"}: "3.16", {"srv", "iperf3"}: "3.16"}
	if got, want := JoinEnvDiffs(CompareEnv(old, now)), "iperf3 3.12 → 3.16, iperf3 3.12 → 3.16 (srv)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

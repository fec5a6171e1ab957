package guest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseReady(t *testing.T) {
	tests := []struct {
		in    string
		check string
		out   string // String(); "" for in
		err   string
	}{
		{in: "", check: ReadyRedis, out: "redis"},
		{in: "redis", check: ReadyRedis},
		{in: "tcp", check: ReadyTCP},
		{in: "none", check: ReadyNone},
		{in: "http:/", check: ReadyHTTP},
		{in: "http:/health?full=1", check: ReadyHTTP},
		{in: `log:Server listening on \d+`, check: ReadyLog},
		{in: "http:health", err: `want a path after "http:"`},
		{in: "http:/a b", err: "is not a path"},
		{in: "log:", err: "want a regular expression"},
		{in: "log:([", err: "missing closing"},
		{in: "ping", err: `want "redis", "tcp", "http:/PATH", "log:REGEX" or "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReady(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || r.Check != tt.check {
				t.Fatalf("ParseReady = %+v, %v; want check %s", r, err, tt.check)
			}
			want := tt.out
			if want == "" {
				want = tt.in
			}
			if r.String() != want {
				t.Errorf("String() = %q, want %q", r.String(), want)
			}
		})
	}
}

// needProgram skips a test whose real program is not installed here.
func needProgram(t *testing.T, prog, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Skipf("%s is not installed (apt-get install %s)", prog, pkg)
	}
}

// nginxCommand runs nginx in the foreground in the guest's scratch folder,
// with the configuration its files key copied there.
var nginxCommand = []string{"nginx", "-p", "{dir}", "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"}

// readyCase is a real server started as a process guest.
type readyCase struct {
	name    string
	prog    string // on PATH, from the Debian package pkg
	pkg     string
	command func(port int) []string
	files   []string
	ready   string
	timeout time.Duration
	// use checks that the started server serves.
	use func(t *testing.T, ep Endpoint)
}

func (c readyCase) start(t *testing.T, base string, trace func(StepEvent)) (*Process, Endpoint, error) {
	t.Helper()
	needProgram(t, c.prog, c.pkg)
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReady(c.ready)
	if err != nil {
		t.Fatal(err)
	}
	g := mustProcess(t, ProcessConfig{
		Name: "srv", Command: c.command(port), Port: port, Ready: r, Files: c.files,
		DirBase: base, ReadyTimeout: c.timeout,
		LogPath: filepath.Join(t.TempDir(), "srv.log"), Trace: trace,
	})
	t.Cleanup(func() { g.Stop(context.Background()) })
	ep, err := g.Start(context.Background())
	return g, ep, err
}

// reachableTempDir is a t.TempDir() that nginx's workers (nobody, when the
// tests run as root) may cross, as they may /tmp.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.Status + " " + string(body)
}

func connects(t *testing.T, ep Endpoint) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", ep.Addr, time.Second)
	if err != nil {
		t.Fatalf("no connection after Start: %v", err)
	}
	conn.Close()
}

func nginx(ready string) readyCase {
	return readyCase{
		prog: "nginx", pkg: "nginx-light", ready: ready,
		command: func(int) []string { return nginxCommand },
		files:   []string{"testdata/nginx.conf"},
		use: func(t *testing.T, ep Endpoint) {
			if got := get(t, "http://"+ep.Addr+"/"); got != "200 OK hello from nginx\n" {
				t.Errorf("GET / = %q", got)
			}
			// {dir} in the configuration is the scratch folder.
			os.WriteFile(filepath.Join(ep.Dir, "f.txt"), []byte("in scratch"), 0o644)
			if got := get(t, "http://"+ep.Addr+"/files/f.txt"); got != "200 OK in scratch" {
				t.Errorf("GET /files/f.txt = %q", got)
			}
		},
	}
}

func iperf3(ready string) readyCase {
	return readyCase{
		prog: "iperf3", pkg: "iperf3", ready: ready,
		// --forceflush: iperf3 buffers its output when it is not a terminal.
		command: func(port int) []string {
			return []string{"iperf3", "-s", "-p", fmt.Sprint(port), "-B", "127.0.0.1", "--forceflush"}
		},
		use: connects,
	}
}

// Real servers become ready by each check, and Stop leaves nothing: not
// the program, not its scratch folder.
func TestProcessReadyChecks(t *testing.T) {
	memcached := readyCase{
		prog: "memcached", pkg: "memcached", ready: "tcp",
		command: func(port int) []string {
			return []string{"memcached", "-p", fmt.Sprint(port), "-l", "127.0.0.1", "-U", "0", "-u", "nobody"}
		},
		use: connects,
	}
	sleeper := readyCase{
		prog: "sleep", pkg: "coreutils", ready: "none",
		command: func(int) []string { return []string{"sleep", "60"} },
		use:     func(*testing.T, Endpoint) {},
	}
	tests := []struct {
		c     readyCase
		steps []string
	}{
		{nginx("http:/health"), []string{"scratch", "files", "process", "http"}},
		{nginx("tcp"), []string{"scratch", "files", "process", "tcp"}},
		// Not tcp: to iperf3 a bare connection is a client that failed
		// its test, which it logs before it listens again.
		{iperf3(`log:^Server listening on \d+`), []string{"process", "ready-line"}},
		{memcached, []string{"process", "tcp"}},
		{sleeper, []string{"process"}},
	}
	for _, tt := range tests {
		t.Run(tt.c.prog+" "+tt.c.ready, func(t *testing.T) {
			base := reachableTempDir(t)
			var steps []string
			trace := func(e StepEvent) {
				if !e.Undo && e.Done {
					steps = append(steps, e.Step)
				}
			}
			g, ep, err := tt.c.start(t, base, trace)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if !slices.Equal(steps, tt.steps) {
				t.Errorf("steps %q, want %q", steps, tt.steps)
			}
			tt.c.use(t, ep)
			if v, ok := g.Facts()["redis_version"]; ok {
				t.Errorf("redis_version %q recorded for a server that is not redis", v)
			}
			pid := g.Pid()
			if err := g.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if alive(pid) {
				t.Errorf("pid %d alive after Stop", pid)
			}
			if left, _ := os.ReadDir(base); len(left) > 0 {
				t.Errorf("left in the scratch base: %v", left)
			}
		})
	}
}

// A guest that fails its check says which check, why, and what it printed;
// nothing is left behind.
func TestProcessReadyFails(t *testing.T) {
	short := 400 * time.Millisecond
	sh := func(script string) func(int) []string {
		return func(int) []string { return []string{"sh", "-c", script} }
	}
	tests := []struct {
		c    readyCase
		want []string
	}{
		{
			c: func() readyCase { c := nginx("http:/starting"); c.timeout = short; return c }(),
			want: []string{"step http: guest not ready", "no 2xx answer to GET http://127.0.0.1:", "/starting within 400ms",
				"GET /starting answered 503 Service Temporarily Unavailable"},
		},
		{
			c: func() readyCase {
				c := nginx("http:/")
				c.files, c.command = nil, func(int) []string {
					return []string{"nginx", "-p", "{dir}", "-c", "nginx.conf", "-e", "stderr", "-g", "daemon off;"}
				}
				return c
			}(),
			want: []string{"step http: exited before answering GET /", "nginx.conf", "failed (2: No such file or directory)"},
		},
		{
			c:    readyCase{prog: "sh", ready: "tcp", timeout: short, command: sh("echo waiting for nothing; exec sleep 30")},
			want: []string{"step tcp: guest not ready", "no TCP connection to 127.0.0.1:", "waiting for nothing"},
		},
		{
			c:    readyCase{prog: "sh", ready: "log:^listening", timeout: short, command: sh("echo booting; exec sleep 30")},
			want: []string{"step ready-line: guest not ready", `no line matching "^listening" within 400ms`, "booting"},
		},
		{
			c:    readyCase{prog: "sh", ready: "log:^listening", command: sh("echo 'bad config' >&2; exit 2")},
			want: []string{`step ready-line: exited before printing a line matching "^listening"`, "exit status 2", "bad config"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.c.prog+" "+tt.c.ready, func(t *testing.T) {
			base := t.TempDir()
			g, _, err := tt.c.start(t, base, nil)
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if alive(g.Pid()) {
				t.Errorf("process left running after a failed start")
			}
			if left, _ := os.ReadDir(base); len(left) > 0 {
				t.Errorf("left in the scratch base: %v", left)
			}
		})
	}
}

// {dir} in a process guest's table is its scratch folder, and a table
// without it gets none.
func TestProcessScratch(t *testing.T) {
	base := t.TempDir()
	port, _ := FreePort()
	out := filepath.Join(t.TempDir(), "seen")
	g, err := NewProcess(ProcessConfig{
		Name:    "s",
		Command: []string{"sh", "-c", `echo "$PWD $X" > ` + out + `; exec sleep 30`},
		Env:     map[string]string{"X": "{dir}/x"},
		Dir:     "{dir}",
		Port:    port, Ready: Ready{Check: ReadyNone}, DirBase: base,
	})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := g.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(ep.Dir) != base || !strings.HasPrefix(filepath.Base(ep.Dir), fmt.Sprintf("%s-%d-", ScratchPrefix, os.Getpid())) {
		t.Errorf("scratch folder %s, want %s/%s-PID-*", ep.Dir, base, ScratchPrefix)
	}
	deadline := time.Now().Add(5 * time.Second)
	var seen []byte
	for len(seen) == 0 && time.Now().Before(deadline) {
		seen, _ = os.ReadFile(out)
		time.Sleep(10 * time.Millisecond)
	}
	if want := ep.Dir + " " + ep.Dir + "/x\n"; string(seen) != want {
		t.Errorf("the program saw %q, want %q", seen, want)
	}
	g.Stop(context.Background())
	if _, err := os.Stat(ep.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scratch folder after Stop: %v", err)
	}

	plain := mustProcess(t, ProcessConfig{Name: "p", Command: []string{"sleep", "30"}, Port: port, Ready: Ready{Check: ReadyNone}, DirBase: base})
	defer plain.Stop(context.Background())
	if ep, err := plain.Start(context.Background()); err != nil || ep.Dir != "" {
		t.Errorf("a guest that names no {dir}: %+v, %v", ep, err)
	}
}

func TestHostGuest(t *testing.T) {
	base := t.TempDir()
	h, err := NewHost(HostConfig{Name: "disk", DirBase: base})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := h.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ep.Addr != "" || filepath.Dir(ep.Dir) != base {
		t.Errorf("endpoint %+v", ep)
	}
	if err := os.WriteFile(filepath.Join(ep.Dir, "data"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	facts := h.Facts()
	// The file system as findmnt (util-linux) sees it.
	if out, err := exec.Command("findmnt", "-n", "-o", "FSTYPE,TARGET", "-T", ep.Dir).Output(); err == nil {
		f := strings.Fields(string(out))
		if len(f) == 2 && (facts["scratch_fs"] != f[0] || facts["scratch_mount"] != f[1]) {
			t.Errorf("facts %v; findmnt says %s on %s", facts, f[0], f[1])
		}
	}
	if facts["kind"] != "host" || facts["scratch_mount_options"] == "" {
		t.Errorf("facts %v", facts)
	}
	select {
	case <-h.Exited():
		t.Error("a host guest exited")
	default:
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(base); len(left) > 0 {
		t.Errorf("left after Stop: %v", left)
	}
	if err := h.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	if _, err := NewHost(HostConfig{Name: "gone", DirBase: filepath.Join(base, "not-mounted")}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a missing base: %v, want ErrUnavailable", err)
	}
}

// A cancelled start of a host guest leaves no scratch folder.
func TestHostCancelled(t *testing.T) {
	base := t.TempDir()
	h, _ := NewHost(HostConfig{Name: "disk", DirBase: base})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	h.Stop(context.Background())
	if left, _ := os.ReadDir(base); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
}

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		line string
		want mount
	}{
		{ // proc(5)'s example
			"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			mount{point: "/mnt2", options: "rw,noatime (super block: rw,errors=continue)", fstype: "ext3", source: "/dev/root"},
		},
		{
			`80 30 0:40 / /mnt/my\040disk rw,relatime - xfs /dev/vdb rw,relatime`,
			mount{point: "/mnt/my disk", options: "rw,relatime", fstype: "xfs", source: "/dev/vdb"},
		},
	}
	for _, tt := range tests {
		got, ok := parseMountinfo(tt.line)
		if !ok || got != tt.want {
			t.Errorf("parseMountinfo(%q) = %+v, %v; want %+v", tt.line, got, ok, tt.want)
		}
	}
	if _, ok := parseMountinfo("garbage"); ok {
		t.Error("garbage parsed")
	}
	if !within("/tmp/x", "/") || !within("/tmp/x", "/tmp") || within("/tmpx", "/tmp") {
		t.Error("within")
	}
}

func TestFill(t *testing.T) {
	vars := map[string]any{"port": 8080, "dir": "/s", "scale": 0.5, "keep-alive": "on"}
	tests := []struct{ in, want string }{
		{"listen {port};", "listen 8080;"},
		{"events { worker_connections 64; }", "events { worker_connections 64; }"},
		{"root {dir}/www; x={scale} k={keep-alive}", "root /s/www; x=0.5 k=on"},
		{"{unknown} ${host} {{port}} {", "{unknown} ${host} {port}} {"},
		{"{9} {} {port", "{9} {} {port"},
	}
	for _, tt := range tests {
		if got := string(fill([]byte(tt.in), vars)); got != tt.want {
			t.Errorf("fill(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCopyTemplatesSameName(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "x.conf"), filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(a, nil, 0o644)
	os.WriteFile(b, nil, 0o644)
	err := copyTemplates([]string{a, b}, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "would both be x.conf") {
		t.Errorf("err = %v", err)
	}
}

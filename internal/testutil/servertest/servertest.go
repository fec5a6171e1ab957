// Package servertest starts real network servers for the tests of the
// loads that drive them: nginx serving static files (for wrk) and an
// iperf3 server, each on a free 127.0.0.1 port, in a process group of its
// own that Stop kills.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
)

// Server is a server started by this package.
type Server struct {
	Addr string // 127.0.0.1:PORT
	// Root is the folder nginx serves (empty for iperf3): a test may add
	// files to it.
	Root string
	// The process: Output is what it printed so far (nginx logs to
	// error.log beside its configuration instead); Pid is its process
	// group's id too, for tests that pause it with SIGSTOP to play a hung
	// server; Stop kills the group and waits, and is safe to call more
	// than once and from several goroutines.
	*testutil.Proc
}

// Nginx starts nginx (Debian nginx-light) serving dir/www on a free port,
// and stops it at the end of the test. The folder holds index.html (6
// bytes) and 1k.bin (1024 bytes).
func Nginx(tb testing.TB) *Server {
	tb.Helper()
	s, err := LaunchNginx(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Iperf3 starts `iperf3 -s` on a free port, and stops it at the end of the
// test.
func Iperf3(tb testing.TB) *Server {
	tb.Helper()
	s, err := LaunchIperf3()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// nginxConf runs one nginx process in the foreground, everything it writes
// under its prefix folder, serving www/.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid nginx.pid;
error_log error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp;
  proxy_temp_path tmp;
  fastcgi_temp_path tmp;
  uwsgi_temp_path tmp;
  scgi_temp_path tmp;
  server {
    listen %s;
    root www;
  }
}
`

// LaunchNginx is Nginx for programs that are not tests (make bench): the
// caller must call Stop. dir receives nginx's configuration, logs and
// files.
func LaunchNginx(dir string) (*Server, error) {
	path, err := lookPath("nginx", "nginx-light")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, "www")
	for _, d := range []string{root, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hello\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "1k.bin"), make([]byte, 1024), 0o644); err != nil {
		return nil, err
	}
	return retry("nginx", func(addr string) (*Server, error) {
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, addr), 0o644); err != nil {
			return nil, err
		}
		s := &Server{Addr: addr, Root: root}
		// -e: nginx writes to its compiled-in error log until it has read
		// the configuration, a folder that may not be writable.
		if err := s.start(path, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")); err != nil {
			return nil, err
		}
		return s, s.waitReady(func() error { return httpOK("http://" + addr + "/") })
	})
}

// LaunchIperf3 is Iperf3 for programs that are not tests: the caller must
// call Stop.
func LaunchIperf3() (*Server, error) {
	path, err := lookPath("iperf3", "iperf3")
	if err != nil {
		return nil, err
	}
	return retry("iperf3", func(addr string) (*Server, error) {
		host, port, _ := net.SplitHostPort(addr)
		s := &Server{Addr: addr}
		if err := s.start(path, "--server", "--bind", host, "--port", port, "--forceflush"); err != nil {
			return nil, err
		}
		// Not a probe connection: iperf3 would take it for a test.
		return s, s.waitReady(func() error {
			if !strings.Contains(s.Output(), "Server listening on "+port) {
				return errors.New("not listening yet")
			}
			return nil
		})
	})
}

// retry starts a server on a free port, three times: a port can be taken
// between asking for it and the server binding it.
func retry(name string, launch func(addr string) (*Server, error)) (*Server, error) {
	var lastErr error
	for range 3 {
		port, err := testutil.FreePort()
		if err != nil {
			return nil, err
		}
		s, err := launch(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return s, nil
		}
		if s != nil {
			s.Stop()
		}
		lastErr = err
	}
	return nil, fmt.Errorf("starting %s: %w", name, lastErr)
}

func lookPath(prog, pkg string) (string, error) {
	path, err := exec.LookPath(prog)
	if err != nil {
		// nginx is in /usr/sbin, which a user's PATH may lack.
		if p := filepath.Join("/usr/sbin", prog); fileExists(p) {
			return p, nil
		}
		return "", fmt.Errorf("%s not on PATH (apt-get install -y %s; make setup): %w", prog, pkg, err)
	}
	return path, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (s *Server) start(path string, args ...string) error {
	p, err := testutil.StartProc(path, args...)
	s.Proc = p
	return err
}

// waitReady polls ready for 10 s, or until the server exits.
func (s *Server) waitReady(ready func() error) error {
	err := s.WaitReady(ready)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, testutil.ErrExited):
		return fmt.Errorf("%s exited before it was ready: %s", filepath.Base(s.Path()), strings.TrimSpace(s.Output()))
	default:
		return fmt.Errorf("%s at %s not ready within 10s: %v: %s", filepath.Base(s.Path()), s.Addr, err, strings.TrimSpace(s.Output()))
	}
}

func httpOK(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

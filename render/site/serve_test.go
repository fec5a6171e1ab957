package site

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchbook/benchbook/internal/testutil"
	"github.com/benchbook/benchbook/internal/testutil/nbtest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// events reads the server-sent events of the preview into a channel.
func events(t *testing.T, ctx context.Context, url string) <-chan event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan event, 16)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			case line == "":
				ev.data = strings.Join(data, "\n")
				ch <- ev
				ev, data = event{}, nil
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan event, name string) event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("event stream ended while waiting for %q", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s", name)
		}
	}
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("First title", "2020-01-01"))
	nbtest.File(t, filepath.Join(dir, "img", "keep"), "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	log := &testutil.SyncBuffer{}
	s := &Server{Dir: dir, Options: Options{Version: "test"}, Log: log, Debounce: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	ended := false
	defer func() {
		cancel()
		if ended {
			return
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("serve did not stop within 5s of its context")
		}
	}()
	waitFirstBuild(t, s, served, &ended)

	code, page := get(t, base+"/a/")
	if code != 200 || !strings.Contains(page, "First title") || !strings.Contains(page, EventsPath) {
		t.Fatalf("GET /a/: %d, reloader %v", code, strings.Contains(page, EventsPath))
	}
	if code, _ := get(t, base+"/"+ManifestFile); code != http.StatusNotFound {
		t.Errorf("manifest served: %d", code)
	}
	if code, _ := get(t, base+"/favicon.ico"); code != 200 {
		t.Errorf("favicon: %d", code)
	}

	ch := events(t, ctx, base+EventsPath)
	if ev := next(t, ch, "problems"); ev.data != "" {
		t.Errorf("problems at start: %q", ev.data)
	}

	// An edit re-renders the page and reloads it.
	nbtest.File(t, filepath.Join(dir, "a.toml"), nb("Second title", "2020-01-01"))
	if ev := next(t, ch, "reload"); !strings.Contains(ev.data, `"/a/"`) || !strings.Contains(ev.data, `"/index.html"`) {
		t.Errorf("reload paths: %s", ev.data)
	}
	if _, page := get(t, base+"/a/index.html"); !strings.Contains(page, "Second title") {
		t.Errorf("page not rebuilt")
	}

	// Results written into a new folder are seen too (fsnotify is not
	// recursive: the server watches new folders as they appear).
	nbtest.File(t, filepath.Join(dir, "a.results", "x.json"), "{}")
	if ev := next(t, ch, "reload"); !strings.Contains(ev.data, `"/a/"`) {
		t.Errorf("reload paths after results: %s", ev.data)
	}

	// A broken notebook shows in every page until fixed.
	nbtest.File(t, filepath.Join(dir, "b.toml"), "title = \n")
	if ev := next(t, ch, "problems"); !strings.Contains(ev.data, "b.toml:1:") {
		t.Errorf("problems: %q", ev.data)
	}
	if err := os.Remove(filepath.Join(dir, "b.toml")); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, ch, "problems"); ev.data != "" {
		t.Errorf("problems after the fix: %q", ev.data)
	}
	if !strings.Contains(log.String(), "built 1, unchanged 0") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestWithReloader(t *testing.T) {
	for _, tc := range []struct{ in, before string }{
		{"<html><body><p>x</p></body></html>", "</body></html>"},
		{"<p>no body end</p>", ""},
		{"<BODY>x</BODY>", "</BODY>"},
	} {
		got := string(withReloader([]byte(tc.in)))
		if !strings.HasSuffix(got, reloader+tc.before) {
			t.Errorf("%q: reloader not before %q:\n%s", tc.in, tc.before, got)
		}
	}
}

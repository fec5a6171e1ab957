package site

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/benchbook/benchbook/internal/tmpdir"
)

// EventsPath is where the preview server streams rebuild events to the
// pages it serves.
const EventsPath = "/_benchbook/events"

// Server is a preview of a notebooks folder: it builds the site into a
// temporary folder, serves it, rebuilds when a file in the notebooks folder
// changes (notebooks, results, assets) and makes the open pages reload when
// they changed. Like Build, it never executes anything.
type Server struct {
	Dir     string
	Options Options   // Out may be empty: a temporary folder is used and removed
	Log     io.Writer // one line per rebuild, and the problems; nil discards

	// Debounce is how long the folder must be quiet before a rebuild, so an
	// editor's save (write, rename, chmod) or a runner's burst of result
	// files makes one rebuild. Default 100ms.
	Debounce time.Duration

	mu       sync.Mutex
	clients  map[chan event]struct{}
	problems string // of the last build, shown on every page until fixed
	builds   int
}

type event struct {
	name string // "reload" or "problems"
	data string
}

// Builds returns how many builds the server has completed.
func (s *Server) Builds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.builds
}

func (s *Server) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// Serve builds the site, then serves it on ln until ctx is done, rebuilding
// on every change. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) (err error) {
	defer ln.Close()
	if s.Log == nil {
		s.Log = io.Discard
	}
	if s.Debounce <= 0 {
		s.Debounce = 100 * time.Millisecond
	}
	s.clients = map[chan event]struct{}{}
	opt := s.Options
	if opt.Out == "" {
		tmp, err := s.tempOut()
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, os.RemoveAll(tmp)) }()
		opt.Out = tmp
	}
	if err := opt.defaults(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if opt.Format != HTML {
		return fmt.Errorf("serve: format %s: the preview serves the html site only", opt.Format)
	}
	// Links in a preview stay relative; the feed and sitemap need no base.
	opt.BaseURL = ""

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("serve: watch %s: %w", s.Dir, err)
	}
	defer w.Close()
	if err := s.watchTree(w, s.Dir, opt.Out); err != nil {
		return err
	}
	if err := s.rebuild(ctx, opt); err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           s.handler(opt.Out),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return s.loop(ctx, w, srv, served, opt)
}

// TempPrefix names the preview's temporary output folders in
// os.TempDir(): benchbook-serve-PID-RANDOM.
const TempPrefix = "benchbook-serve"

// tempOut makes the temporary output folder, first removing those of
// previews that were killed (their pid is dead): a cancelled context
// removes the folder on the way out, but SIGKILL leaves it.
func (s *Server) tempOut() (string, error) {
	removed, err := tmpdir.Sweep(TempPrefix)
	for _, p := range removed {
		fmt.Fprintf(s.Log, "removed %s: left by a preview that was killed\n", p)
	}
	if err != nil {
		fmt.Fprintf(s.Log, "serve: %v\n", err)
	}
	tmp, err := tmpdir.New(TempPrefix)
	if err != nil {
		return "", fmt.Errorf("serve: %w", err)
	}
	return tmp, nil
}

// loop serves until ctx ends, rebuilding once the notebooks folder has
// been quiet for s.Debounce after a change.
func (s *Server) loop(ctx context.Context, w *fsnotify.Watcher, srv *http.Server, served chan error, opt Options) error {
	var (
		timer   *time.Timer
		trigger <-chan time.Time
	)
	for {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			// Event streams end with ctx (their requests' base context),
			// so Shutdown does not wait for them.
			err := srv.Shutdown(shut)
			if errors.Is(err, context.DeadlineExceeded) {
				// A request still busy after 2 s (a browser's, on a
				// loaded machine) is cut: stopping was asked for, and is
				// no error.
				err = srv.Close()
			}
			<-served
			return err
		case err := <-served:
			return fmt.Errorf("serve: %w", err)
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("serve: watcher closed")
			}
			if ignored(ev.Name) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					if err := s.watchTree(w, ev.Name, opt.Out); err != nil {
						fmt.Fprintf(s.Log, "serve: %v\n", err)
					}
				}
			}
			if timer == nil {
				timer = time.NewTimer(s.Debounce)
			} else {
				timer.Reset(s.Debounce)
			}
			trigger = timer.C
		case err, ok := <-w.Errors:
			if ok {
				fmt.Fprintf(s.Log, "serve: watch: %v\n", err)
			}
		case <-trigger:
			trigger = nil
			if err := s.rebuild(ctx, opt); err != nil && ctx.Err() == nil {
				fmt.Fprintf(s.Log, "serve: %v\n", err)
			}
		}
	}
}

// ignored reports editor droppings: hidden files (swap files, lock files)
// and backups, whose churn must not trigger builds.
func ignored(name string) bool {
	base := filepath.Base(name)
	return strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") || strings.HasPrefix(base, "#") || base == "4913"
}

// watchTree watches dir and its sub-folders (fsnotify is not recursive):
// results and assets live in sub-folders of the notebooks folder.
func (s *Server) watchTree(w *fsnotify.Watcher, dir, out string) error {
	absOut, _ := filepath.Abs(out)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return fmt.Errorf("serve: watch %s: %w", dir, err)
			}
			return nil // gone already
		}
		if !d.IsDir() {
			return nil
		}
		if abs, _ := filepath.Abs(p); abs == absOut || (p != dir && strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if err := w.Add(p); err != nil {
			return fmt.Errorf("serve: watch %s: %w", p, err)
		}
		return nil
	})
}

func (s *Server) rebuild(ctx context.Context, opt Options) error {
	rep, err := Build(ctx, s.Dir, opt)
	if rep == nil {
		return err
	}
	fmt.Fprintln(s.Log, rep.Summary())
	var problems strings.Builder
	for _, f := range rep.Failed {
		fmt.Fprintln(&problems, f.Err)
	}
	fmt.Fprint(s.Log, problems.String())

	s.mu.Lock()
	defer s.mu.Unlock()
	s.builds++
	if problems.String() != s.problems {
		s.problems = problems.String()
		s.broadcast(event{name: "problems", data: s.problems})
	}
	if len(rep.Changed) > 0 {
		var paths []string
		for _, c := range rep.Changed {
			paths = append(paths, "/"+c)
			if d, ok := strings.CutSuffix(c, IndexFile); ok {
				paths = append(paths, "/"+d)
			}
		}
		js, _ := json.Marshal(paths)
		s.broadcast(event{name: "reload", data: string(js)})
	}
	return nil
}

// broadcast sends ev to every open page; s.mu is held. A page too slow to
// take it misses it rather than stalling the builds.
func (s *Server) broadcast(ev event) {
	for c := range s.clients {
		select {
		case c <- ev:
		default:
		}
	}
}

func (s *Server) handler(out string) http.Handler {
	files := http.FileServer(http.Dir(out))
	mux := http.NewServeMux()
	mux.HandleFunc(EventsPath, s.events)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		name := path.Clean("/" + r.URL.Path)
		for _, part := range strings.Split(name, "/") {
			// The manifest and half-made pages are not part of the site.
			if strings.HasPrefix(part, ".") {
				http.NotFound(w, r)
				return
			}
		}
		file := filepath.Join(out, filepath.FromSlash(name))
		if fi, err := os.Stat(file); err == nil && fi.IsDir() {
			if !strings.HasSuffix(r.URL.Path, "/") {
				files.ServeHTTP(w, r) // redirects to the folder's URL
				return
			}
			file = filepath.Join(file, IndexFile)
		}
		if !strings.HasSuffix(file, ".html") {
			files.ServeHTTP(w, r)
			return
		}
		page, err := os.ReadFile(file)
		if err != nil {
			files.ServeHTTP(w, r) // its 404
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(withReloader(page)))
	})
	return mux
}

// events streams rebuild events to a page (server-sent events).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	c := make(chan event, 8)
	s.mu.Lock()
	s.clients[c] = struct{}{}
	problems := s.problems
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	writeEvent(w, event{name: "problems", data: problems})
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-c:
			writeEvent(w, ev)
			flusher.Flush()
		}
	}
}

func writeEvent(w io.Writer, ev event) {
	fmt.Fprintf(w, "event: %s\n", ev.name)
	for _, line := range strings.Split(ev.data, "\n") {
		fmt.Fprintf(w, "data: %s\n", line)
	}
	fmt.Fprint(w, "\n")
}

// reloader is added to every page the preview serves (never to the built
// files): it reloads the page when a rebuild changed it, and shows the
// build's problems in a banner until they are fixed. Problems are set as
// text, never as markup.
const reloader = `<script>
(function () {
  var es = new EventSource("` + EventsPath + `");
  es.addEventListener("reload", function (e) {
    var here = location.pathname;
    if (JSON.parse(e.data).some(function (p) {
      return p === here || (p !== "/" && p.endsWith("/") && here.startsWith(p));
    })) location.reload();
  });
  es.addEventListener("problems", function (e) {
    var id = "bb-preview-problems", box = document.getElementById(id);
    if (!e.data) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("pre");
      box.id = id;
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;margin:0;max-height:40vh;overflow:auto;" +
        "padding:0.8em 1em;background:#fff0f0;color:#82071e;border-top:2px solid #cf222e;z-index:2147483647;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = e.data;
  });
})();
</script>
`

func withReloader(page []byte) []byte {
	i := bytes.LastIndex(bytes.ToLower(page), []byte("</body>"))
	if i < 0 {
		return append(page[:len(page):len(page)], reloader...)
	}
	out := make([]byte, 0, len(page)+len(reloader))
	out = append(out, page[:i]...)
	out = append(out, reloader...)
	return append(out, page[i:]...)
}

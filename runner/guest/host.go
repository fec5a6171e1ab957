package guest

import (
	"context"
	"sync"
)

// HostConfig describes the machine itself as a guest, for loads that need
// no server (fio, sysbench, a timed command).
type HostConfig struct {
	Name string
	// DirBase is the folder the scratch folder is made in; "" is the
	// temporary folder (os.TempDir()). For a disk load it is where the
	// disk under test is mounted.
	DirBase string
	Trace   func(StepEvent)
}

// Host is a guest that starts nothing: its start makes a fresh scratch
// folder, and it is ready at once. Its Stop removes the folder.
type Host struct {
	cfg  HostConfig
	life lifecycle

	mu    sync.Mutex
	dir   string
	facts map[string]string
}

var _ Guest = (*Host)(nil)

// NewHost checks that the scratch base exists here; one that does not
// wraps ErrUnavailable.
func NewHost(cfg HostConfig) (*Host, error) {
	if err := checkBase(cfg.Name, cfg.DirBase); err != nil {
		return nil, err
	}
	return &Host{cfg: cfg, life: lifecycle{guest: cfg.Name, trace: cfg.Trace}}, nil
}

// Start makes the scratch folder and learns what file system it is on.
func (h *Host) Start(ctx context.Context) (Endpoint, error) {
	if err := h.life.start(ctx, []step{{"scratch", h.scratch}}); err != nil {
		return Endpoint{}, err
	}
	return Endpoint{Dir: h.Dir()}, nil
}

func (h *Host) scratch(context.Context) error {
	dir, err := makeScratch(&h.life, h.cfg.DirBase)
	if err != nil {
		return err
	}
	facts := scratchFacts(dir)
	h.mu.Lock()
	h.dir, h.facts = dir, facts
	h.mu.Unlock()
	return nil
}

// Dir is the scratch folder, "" before Start.
func (h *Host) Dir() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dir
}

// Stop removes the scratch folder. It is idempotent.
func (h *Host) Stop(ctx context.Context) error { return h.life.stop(ctx) }

// Facts describe the scratch folder's file system: scratch_fs,
// scratch_mount, scratch_mount_options, scratch_device.
func (h *Host) Facts() map[string]string {
	out := map[string]string{"kind": "host"}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range h.facts {
		out[k] = v
	}
	return out
}

// never is the Exited of a guest that has no process to end.
var never = make(chan struct{})

// Exited is never closed: there is no process to end.
func (h *Host) Exited() <-chan struct{} { return never }

// LogTail is empty: the host prints nothing of its own.
func (h *Host) LogTail() string { return "" }

package guest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// PasstBinary is Debian's passt.
const PasstBinary = "passt"

// passt starts passt on the host: it forwards the loopback port to the
// guest's and serves qemu's -netdev stream on a socket in a folder of its
// own. As root passt drops to nobody before it makes the socket, so the
// folder lets others write. Its undo stops passt and removes the folder.
func (q *Qemu) passt(ctx context.Context) error {
	bin, err := exec.LookPath(PasstBinary)
	if err != nil {
		return fmt.Errorf("%w: passt is not installed (apt-get install passt, or make setup)", ErrUnavailable)
	}
	dir, err := os.MkdirTemp("", "benchbook-passt-")
	if err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o733); err != nil {
		os.RemoveAll(dir)
		return err
	}
	sock := filepath.Join(dir, "passt.sock")
	// --one-off: passt ends when qemu disconnects. As root passt changes
	// to nobody, which clears the parent-death signal startProc sets, so
	// without it a passt would outlive a benchbook killed before its undo.
	argv := []string{bin, "--foreground", "--stderr", "--one-off", "--socket", sock,
		"--address", GuestIP, "--netmask", fmt.Sprint(PrefixLen), "--gateway", GatewayIP,
		"--tcp-ports", fmt.Sprintf("127.0.0.1/%d:%d", q.cfg.Net.HostPort, q.cfg.Boot.GuestPort),
		"--udp-ports", "none", "--no-dhcpv6", "--no-ndp", "--no-ra"}
	logPath := filepath.Join(dir, "log")
	p, err := startProc("passt", argv, nil, "", logPath, nil, nil)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	q.life.push(func(ctx context.Context) error {
		err := p.stop(ctx, time.Second, nil)
		os.RemoveAll(dir)
		return err
	})
	if err := waitSocket(ctx, sock, p, 10*time.Second); err != nil {
		return fmt.Errorf("passt: %w%s", err, p.tail(logPath))
	}
	q.mu.Lock()
	q.cfg.Net.Socket = sock
	q.mu.Unlock()
	q.facts.set("passt_command", strings.Join(argv, " "))
	return nil
}

// waitSocket waits for passt's socket to exist.
func waitSocket(ctx context.Context, path string, p *proc, timeout time.Duration) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.exited:
			return fmt.Errorf("exited before it made its socket (%v)", p.exitErr())
		case <-deadline:
			return fmt.Errorf("no socket %s within %s", path, timeout)
		case <-tick.C:
		}
	}
}

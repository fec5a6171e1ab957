package guest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/benchbook/benchbook/internal/tmpdir"
	"github.com/benchbook/benchbook/runner/guestexec"
)

// A libvirt guest's scratch disks and exec port, the counterparts of the
// qemu launcher's "scratch" and "exec-port" steps. libvirtd's qemu runs as
// another user (libvirt-qemu): it opens the scratch files by path (libvirt
// hands them to it, chowned, while the domain runs), and libvirtd binds the
// exec port's socket itself, so the run folder must let others in, though
// not list it.

// makeRunDir makes the folder of the scratch files and the exec socket on
// this machine; its undo removes it (after the domain's, which released
// the files).
func (g *Libvirt) makeRunDir(context.Context) error {
	if g.conn.remote {
		return nil // the scratch disks are volumes on the hypervisor
	}
	dir, err := tmpdir.New(libvirtRunPrefix)
	if err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	g.life.push(func(context.Context) error { return os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	g.runDir = dir
	return nil
}

// scratch makes the scratch disks' sparse files in the run folder (on a
// remote hypervisor: sparse volumes in LibvirtPool), each removed by its
// undo, and points g.boot at them.
func (g *Libvirt) scratch(ctx context.Context) error {
	ds := append([]ScratchDisk(nil), g.boot.Scratch...)
	var err error
	if g.conn.remote {
		err = g.scratchVolumes(ctx, ds)
	} else {
		err = makeScratchFiles(&g.life, g.runDir, ds)
	}
	g.boot.Scratch = ds
	return err
}

// scratchVolumes makes each disk a sparse raw volume of LibvirtPool named
// after the domain and the disk's serial.
func (g *Libvirt) scratchVolumes(ctx context.Context, ds []ScratchDisk) error {
	c := g.conn
	pool, err := ensurePool(ctx, c)
	if err != nil {
		return err
	}
	for i := range ds {
		name := g.cfg.Domain + "-" + ds[i].Serial
		vx := fmt.Sprintf(`<volume><name>%s</name><capacity unit="bytes">%d</capacity><allocation unit="bytes">0</allocation><target><format type="raw"/></target></volume>`, name, ds[i].Bytes)
		var vol libvirt.StorageVol
		if err := c.do(ctx, "volume create", func() (err error) { vol, err = c.l.StorageVolCreateXML(pool, vx, 0); return }); err != nil {
			return fmt.Errorf("scratch disk %s in pool %s: %w", ds[i].Serial, LibvirtPool, err)
		}
		g.life.push(g.deleteVolume(vol))
		if err := c.do(ctx, "volume path", func() (err error) { ds[i].Path, err = c.l.StorageVolGetPath(vol); return }); err != nil {
			return err
		}
	}
	return nil
}

// execPort connects to the exec port: the socket libvirtd bound here when
// it made the domain, or, for a remote hypervisor, a stream libvirt opens
// on the domain's channel (virDomainOpenChannel) over a connection of its
// own to the daemon; its undo closes it.
func (g *Libvirt) execPort(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var c *guestexec.Client
	if g.conn.remote {
		ch, err := openChannel(ctx, g.cfg.URI, g.dom, guestexec.PortName)
		if err != nil {
			return fmt.Errorf("exec port: %w%s", err, g.LogTail())
		}
		c = guestexec.NewClient(ch)
		g.setFact("exec_port", "libvirt channel "+guestexec.PortName+" (virDomainOpenChannel over the libvirt connection)")
	} else {
		var err error
		if c, err = guestexec.Dial(ctx, execSocket(g.runDir)); err != nil {
			return fmt.Errorf("%w%s", err, g.LogTail())
		}
		g.setFact("exec_port", "libvirt channel "+guestexec.PortName+" (its unix socket, bound by libvirtd on this machine)")
	}
	g.life.push(func(context.Context) error { return c.Close() })
	g.mu.Lock()
	g.exec = c
	g.mu.Unlock()
	return nil
}

// scratchFacts records what the guest made of its scratch disks, from its
// init's reports on the console.
func (g *Libvirt) scratchFacts(context.Context) error {
	return diskFacts(g.cfg.ConsolePath, g.boot.Scratch, g.setFact)
}

// closedFolderHint says which folder above the guest's files other users
// may not enter (libvirtd's qemu is one, libvirt-qemu), for a "Permission
// denied" of libvirt's; "" when none is.
func closedFolderHint(paths ...string) string {
	for _, p := range paths {
		if p == "" {
			continue
		}
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
				return fmt.Sprintf("\n(libvirtd's qemu runs as another user, which cannot enter %s (mode %04o): point TMPDIR at a folder others may enter, e.g. /tmp)", d, fi.Mode().Perm())
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return ""
}

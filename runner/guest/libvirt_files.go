package guest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// LibvirtPool is the storage pool benchbook uploads a remote guest's files
// to, made on first use as a directory pool at LibvirtPoolDir.
const (
	LibvirtPool    = "benchbook"
	LibvirtPoolDir = "/var/lib/libvirt/images/benchbook"
)

// stageFiles hands libvirt its own copies of the guest's files and points
// b at them; the folder of copies, and each volume, is undone by Stop. libvirt chowns the files a guest uses to the qemu user while
// it runs, and qemu, not benchbook, opens them:
//   - local hypervisor: copies in a world-readable folder (the originals
//     may sit in a home directory qemu cannot enter); throw-away disks
//     (Disk.Snapshot) are copied too, so the guest can write to them;
//   - remote hypervisor: volumes uploaded into LibvirtPool on it.
func (g *Libvirt) stageFiles(ctx context.Context, b *Boot) error {
	if g.conn.remote {
		return g.uploadFiles(ctx, b)
	}
	dir, err := os.MkdirTemp("", "benchbook-libvirt-")
	if err != nil {
		return err
	}
	g.life.push(func(context.Context) error { return os.RemoveAll(dir) })
	// qemu runs as libvirt-qemu: it must be able to enter the folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	cp := func(src string) (string, error) {
		dst := filepath.Join(dir, filepath.Base(src))
		if _, err := os.Stat(dst); err == nil {
			dst = filepath.Join(dir, fmt.Sprintf("%d-%s", time.Now().UnixNano(), filepath.Base(src)))
		}
		if err := copyFile(src, dst); err != nil {
			return "", fmt.Errorf("copy %s for libvirt: %w", src, err)
		}
		return dst, nil
	}
	if b.Kernel != "" {
		if b.Kernel, err = cp(b.Kernel); err != nil {
			return err
		}
	}
	if b.Initrd != "" {
		if b.Initrd, err = cp(b.Initrd); err != nil {
			return err
		}
	}
	for i, d := range b.Disks {
		if !d.Snapshot {
			continue
		}
		if b.Disks[i].Path, err = cp(d.Path); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies with copy_file_range (os.File.ReadFrom), which clones
// extents where the file system can.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// uploadFiles copies the guest's files into volumes of LibvirtPool on the
// hypervisor, named after the domain, and points b at them.
func (g *Libvirt) uploadFiles(ctx context.Context, b *Boot) error {
	c := g.conn
	pool, err := ensurePool(ctx, c)
	if err != nil {
		return err
	}
	up := func(src, suffix string) (string, error) {
		f, err := os.Open(src)
		if err != nil {
			return "", err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", err
		}
		name := g.cfg.Domain + "-" + suffix
		vx := fmt.Sprintf(`<volume><name>%s</name><capacity unit="bytes">%d</capacity><target><format type="raw"/></target></volume>`, name, st.Size())
		var vol libvirt.StorageVol
		if err := c.do(ctx, "volume create", func() (err error) { vol, err = c.l.StorageVolCreateXML(pool, vx, 0); return }); err != nil {
			return "", fmt.Errorf("upload %s to pool %s: %w", src, LibvirtPool, err)
		}
		g.life.push(g.deleteVolume(vol))
		// At least 2 MB/s, and a minute for the call itself.
		bound := time.Minute + time.Duration(st.Size()/(2<<20))*time.Second
		if err := c.doFor(ctx, bound, "volume upload", func() error { return c.l.StorageVolUpload(vol, f, 0, uint64(st.Size()), 0) }); err != nil {
			return "", fmt.Errorf("upload %s to pool %s: %w", src, LibvirtPool, err)
		}
		var path string
		if err := c.do(ctx, "volume path", func() (err error) { path, err = c.l.StorageVolGetPath(vol); return }); err != nil {
			return "", err
		}
		return path, nil
	}
	if b.Kernel != "" {
		if b.Kernel, err = up(b.Kernel, "kernel"); err != nil {
			return err
		}
	}
	if b.Initrd != "" {
		if b.Initrd, err = up(b.Initrd, "initrd"); err != nil {
			return err
		}
	}
	for i := range b.Disks {
		if b.Disks[i].Path, err = up(b.Disks[i].Path, fmt.Sprintf("disk%d", i)); err != nil {
			return err
		}
	}
	return nil
}

// ensurePool finds LibvirtPool, or makes it (transient, with its folder).
func ensurePool(ctx context.Context, c *lvConn) (libvirt.StoragePool, error) {
	var pool libvirt.StoragePool
	err := c.do(ctx, "pool lookup", func() (err error) { pool, err = c.l.StoragePoolLookupByName(LibvirtPool); return })
	if err == nil {
		var active int32
		c.do(ctx, "pool state", func() (err error) { active, err = c.l.StoragePoolIsActive(pool); return })
		if active == 0 {
			if err := c.do(ctx, "pool start", func() error { return c.l.StoragePoolCreate(pool, 0) }); err != nil {
				return pool, fmt.Errorf("start storage pool %s: %w", LibvirtPool, err)
			}
		}
		return pool, nil
	}
	if lvErrCode(err) != int(libvirt.ErrNoStoragePool) {
		return pool, err
	}
	px := fmt.Sprintf(`<pool type="dir"><name>%s</name><target><path>%s</path></target></pool>`, LibvirtPool, LibvirtPoolDir)
	err = c.do(ctx, "pool create", func() (err error) {
		pool, err = c.l.StoragePoolCreateXML(px, libvirt.StoragePoolCreateWithBuild)
		return
	})
	if err != nil {
		// Another benchbook may have made it meanwhile.
		if p, lerr := c.l.StoragePoolLookupByName(LibvirtPool); lerr == nil {
			return p, nil
		}
		return pool, fmt.Errorf("create storage pool %s at %s: %w", LibvirtPool, LibvirtPoolDir, err)
	}
	return pool, nil
}

package guest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/digitalocean/go-libvirt"
)

// Stop undoes Start's steps in reverse: it destroys the domain (and waits
// for the console's last bytes), closes the console log, removes the DHCP
// reservation and the copies or uploaded volumes, and closes the
// connection. Safe to call more than once, and before Start.
func (g *Libvirt) Stop(ctx context.Context) error { return g.life.stop(ctx) }

// destroyDomain is the domain step's undo. A connection that was closed (a
// call overran, or Start was cancelled) has its domain destroyed by
// libvirtd, soon: it reconnects and makes sure, so Stop returns only once
// the domain is gone.
func (g *Libvirt) destroyDomain(ctx context.Context) error {
	err := g.destroy(ctx, g.currentConn(), g.cfg.Domain)
	if err != nil && !isLibvirtError(err) {
		c, rerr := g.reconnect(ctx)
		if rerr != nil {
			err = errors.Join(err, rerr)
		} else {
			err = g.destroy(ctx, c, g.cfg.Domain)
		}
	}
	g.waitConsole()
	return err
}

// waitConsole waits for the console stream to end with the domain, and
// ends it after 5 s.
func (g *Libvirt) waitConsole() {
	g.mu.Lock()
	c := g.conConn
	g.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-g.conDone:
	case <-time.After(5 * time.Second):
		c.closeTransport()
		<-g.conDone
	}
}

// destroy destroys the domain called name and waits until libvirt no
// longer knows it. By name: a create that was cut short may have made the
// domain without benchbook learning its UUID.
func (g *Libvirt) destroy(ctx context.Context, c *lvConn, name string) error {
	if c == nil || !c.l.IsConnected() {
		return errors.New("not connected")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var dom libvirt.Domain
		err := c.do(ctx, "lookup", func() (err error) { dom, err = c.l.DomainLookupByName(name); return })
		if libvirt.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		err = c.do(ctx, "destroy", func() error { return c.l.DomainDestroy(dom) })
		if err != nil && !libvirt.IsNotFound(err) && lvErrCode(err) != int(libvirt.ErrOperationInvalid) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("domain %s still exists 10s after destroy", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// releaseReservation is the network step's undo.
func (g *Libvirt) releaseReservation(ctx context.Context, n *lvNetwork) error {
	c := g.cleanupConn(ctx)
	if c == nil {
		return fmt.Errorf("dhcp reservation %s left in network %s: no connection (benchbook doctor --clean removes it)", n.reserved, g.cfg.Net.Name)
	}
	return g.releaseNetwork(ctx, c, n)
}

// deleteVolume is the undo of one uploaded file.
func (g *Libvirt) deleteVolume(v libvirt.StorageVol) func(context.Context) error {
	return func(ctx context.Context) error {
		c := g.cleanupConn(ctx)
		if c == nil {
			return fmt.Errorf("volume %s left in pool %s: no connection (benchbook doctor --clean removes it)", v.Name, LibvirtPool)
		}
		err := c.do(ctx, "volume delete", func() error { return c.l.StorageVolDelete(v, 0) })
		if err != nil && lvErrCode(err) != int(libvirt.ErrNoStorageVol) {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		return nil
	}
}

func (g *Libvirt) currentConn() *lvConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conn
}

// cleanupConn is a live connection for an undo: the guest's, or a new one
// when that was lost; nil when reconnecting failed once already.
func (g *Libvirt) cleanupConn(ctx context.Context) *lvConn {
	g.mu.Lock()
	c, failed := g.conn, g.reconnErr != nil
	g.mu.Unlock()
	if c != nil && c.l.IsConnected() {
		return c
	}
	if failed {
		return nil
	}
	c, _ = g.reconnect(ctx)
	return c
}

// reconnect replaces the guest's connection (closing it) with a new one,
// which the connect step's undo closes in the end.
func (g *Libvirt) reconnect(ctx context.Context) (*lvConn, error) {
	g.currentConn().close()
	c, err := connectLibvirt(ctx, g.cfg.URI)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.conn, g.reconnErr = nil, err
		return nil, fmt.Errorf("reconnect to clean up: %w", err)
	}
	g.conn = c
	return c, nil
}

// closeConn is the connect step's undo.
func (g *Libvirt) closeConn(context.Context) error {
	g.currentConn().close()
	return nil
}

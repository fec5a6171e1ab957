package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"golang.org/x/sys/unix"
	"libvirt.org/go/libvirtxml"
)

// CleanLibvirt destroys (and undefines, if persistent) the benchbook-*
// domains on uri that no running benchbook owns, removes the DHCP
// reservations benchbook made for them and the volumes it uploaded, and
// returns what it removed ("domain NAME", "reservation MAC IP",
// "volume NAME"). A domain whose owner (in its metadata) is a live
// process of this machine is left alone. It backs `benchbook doctor
// --clean`.
func CleanLibvirt(ctx context.Context, uri string) ([]string, error) {
	c, err := connectLibvirt(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var doms []libvirt.Domain
	if err := c.do(ctx, "list domains", func() (err error) { doms, _, err = c.l.ConnectListAllDomains(1, 0); return }); err != nil {
		return nil, err
	}
	removed, live, err := cleanDomains(ctx, c, doms)
	res, rerr := cleanReservations(ctx, c, live)
	vols, verr := cleanVolumes(ctx, c, live)
	return append(append(removed, res...), vols...), errors.Join(err, rerr, verr)
}

// cleanDomains destroys (and undefines) the benchbook domains among doms
// that no running benchbook owns, and returns them and the ones that stay.
func cleanDomains(ctx context.Context, c *lvConn, doms []libvirt.Domain) (removed []string, live map[string]bool, err error) {
	live = map[string]bool{} // benchbook domains that stay
	var errs []error
	for _, d := range doms {
		if !strings.HasPrefix(d.Name, DomainPrefix) {
			continue
		}
		if ownerAlive(ctx, c, d) {
			live[d.Name] = true
			continue
		}
		if err := removeDomain(ctx, c, d); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "domain "+d.Name)
	}
	return removed, live, errors.Join(errs...)
}

// removeDomain destroys a domain if it runs and undefines it if it is
// persistent.
func removeDomain(ctx context.Context, c *lvConn, d libvirt.Domain) error {
	var active, persistent int32
	c.do(ctx, "domain state", func() (err error) { active, err = c.l.DomainIsActive(d); return })
	c.do(ctx, "domain persistence", func() (err error) { persistent, err = c.l.DomainIsPersistent(d); return })
	if active == 1 {
		if err := c.do(ctx, "destroy "+d.Name, func() error { return c.l.DomainDestroy(d) }); err != nil && !libvirt.IsNotFound(err) {
			return err
		}
	}
	if persistent == 1 {
		if err := c.do(ctx, "undefine "+d.Name, func() error { return c.l.DomainUndefine(d) }); err != nil && !libvirt.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// cleanReservations removes the DHCP reservations of benchbook's MACs
// whose domain is gone.
func cleanReservations(ctx context.Context, c *lvConn, live map[string]bool) ([]string, error) {
	var nets []libvirt.Network
	c.do(ctx, "list networks", func() (err error) {
		nets, _, err = c.l.ConnectListAllNetworks(1, libvirt.ConnectListNetworksActive)
		return
	})
	var removed []string
	var errs []error
	for _, n := range nets {
		var desc string
		if c.do(ctx, "network xml", func() (err error) { desc, err = c.l.NetworkGetXMLDesc(n, 0); return }) != nil {
			continue
		}
		var nx libvirtxml.Network
		if nx.Unmarshal(desc) != nil {
			continue
		}
		for _, ip := range nx.IPs {
			if ip.DHCP == nil {
				continue
			}
			for _, h := range ip.DHCP.Hosts {
				if !strings.HasPrefix(strings.ToLower(h.MAC), macPrefix) || live[h.Name] {
					continue
				}
				host := fmt.Sprintf(`<host mac=%q name=%q ip=%q/>`, h.MAC, h.Name, h.IP)
				err := c.do(ctx, "remove reservation", func() error {
					return c.l.NetworkUpdateCompat(n, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, -1, host, libvirt.NetworkUpdateAffectLive)
				})
				if err != nil {
					errs = append(errs, fmt.Errorf("network %s: %w", n.Name, err))
					continue
				}
				removed = append(removed, fmt.Sprintf("reservation %s %s (network %s)", h.MAC, h.IP, n.Name))
			}
		}
	}
	return removed, errors.Join(errs...)
}

// cleanVolumes removes the volumes uploaded for remote guests whose
// domain is gone.
func cleanVolumes(ctx context.Context, c *lvConn, live map[string]bool) ([]string, error) {
	var pool libvirt.StoragePool
	if c.do(ctx, "pool lookup", func() (err error) { pool, err = c.l.StoragePoolLookupByName(LibvirtPool); return }) != nil {
		return nil, nil
	}
	var vols []libvirt.StorageVol
	c.do(ctx, "list volumes", func() (err error) { vols, _, err = c.l.StoragePoolListAllVolumes(pool, 1, 0); return })
	var removed []string
	var errs []error
	for _, v := range vols {
		if !strings.HasPrefix(v.Name, DomainPrefix) || live[volumeDomain(v.Name)] {
			continue
		}
		if err := c.do(ctx, "delete volume", func() error { return c.l.StorageVolDelete(v, 0) }); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "volume "+v.Name)
	}
	return removed, errors.Join(errs...)
}

// volumeDomain is the domain a volume was uploaded for (NAME-kernel...).
func volumeDomain(vol string) string {
	if i := strings.LastIndexByte(vol, '-'); i > 0 {
		return vol[:i]
	}
	return vol
}

var ownerRE = regexp.MustCompile(`owner="(\d+)@([^"]*)"`)

// ownerAlive reports whether the benchbook process named in the domain's
// metadata still runs on this machine.
func ownerAlive(ctx context.Context, c *lvConn, d libvirt.Domain) bool {
	var desc string
	if c.do(ctx, "domain xml", func() (err error) { desc, err = c.l.DomainGetXMLDesc(d, 0); return }) != nil {
		return false
	}
	m := ownerRE.FindStringSubmatch(desc)
	if m == nil {
		return false
	}
	host, _ := os.Hostname()
	pid, _ := strconv.Atoi(m[1])
	if m[2] != host || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return unix.Kill(pid, 0) == nil
}

package guestinit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A minimal rtnetlink client: bring a link up, add an address, add a
// default route. That is all `ip` would do here, and the image has no ip.

type rtnl struct {
	fd  int
	seq uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	return &rtnl{fd: fd}, nil
}

func (r *rtnl) Close() error { return unix.Close(r.fd) }

// request sends one message of type typ (body already holds the fixed
// header and attributes) and waits for the kernel's acknowledgement.
func (r *rtnl) request(typ uint16, flags uint16, body []byte) error {
	r.seq++
	h := unix.NlMsghdr{
		Len:   uint32(unix.SizeofNlMsghdr + len(body)),
		Type:  typ,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK | flags,
		Seq:   r.seq,
	}
	msg := make([]byte, 0, h.Len)
	msg = append(msg, (*[unix.SizeofNlMsghdr]byte)(unsafe.Pointer(&h))[:]...)
	msg = append(msg, body...)
	if err := unix.Sendto(r.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(r.fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		b := buf[:n]
		for len(b) >= unix.SizeofNlMsghdr {
			rh := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			if rh.Len < unix.SizeofNlMsghdr || int(rh.Len) > len(b) {
				return errors.New("netlink: truncated reply")
			}
			if rh.Seq == r.seq && rh.Type == unix.NLMSG_ERROR {
				if rh.Len < unix.SizeofNlMsghdr+4 {
					return errors.New("netlink: short error reply")
				}
				code := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:]))
				if code == 0 {
					return nil
				}
				return unix.Errno(-code)
			}
			b = b[nlmAlign(int(rh.Len)):]
		}
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// attr appends a route attribute (rtattr header, value, padding).
func attr(b []byte, typ uint16, val []byte) []byte {
	a := unix.RtAttr{Len: uint16(unix.SizeofRtAttr + len(val)), Type: typ}
	b = append(b, (*[unix.SizeofRtAttr]byte)(unsafe.Pointer(&a))[:]...)
	b = append(b, val...)
	for len(b)%unix.RTA_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// linkUp sets IFF_UP on the interface with index idx.
func (r *rtnl) linkUp(idx int) error {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(idx), Flags: unix.IFF_UP, Change: unix.IFF_UP}
	body := append([]byte(nil), (*[unix.SizeofIfInfomsg]byte)(unsafe.Pointer(&m))[:]...)
	if err := r.request(unix.RTM_NEWLINK, 0, body); err != nil {
		return fmt.Errorf("link %d up: %w", idx, err)
	}
	return nil
}

// addAddr assigns p to the interface idx (as `ip addr add p dev idx`).
func (r *rtnl) addAddr(idx int, p netip.Prefix) error {
	m := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(p.Bits()), Scope: unix.RT_SCOPE_UNIVERSE, Index: uint32(idx)}
	body := append([]byte(nil), (*[unix.SizeofIfAddrmsg]byte)(unsafe.Pointer(&m))[:]...)
	a := p.Addr().As4()
	body = attr(body, unix.IFA_LOCAL, a[:])
	body = attr(body, unix.IFA_ADDRESS, a[:])
	if p.Bits() < 31 {
		bc := broadcast(p).As4()
		body = attr(body, unix.IFA_BROADCAST, bc[:])
	}
	if err := r.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body); err != nil {
		return fmt.Errorf("address %s: %w", p, err)
	}
	return nil
}

// addDefaultRoute adds "default via gw dev idx".
func (r *rtnl) addDefaultRoute(idx int, gw netip.Addr) error {
	m := unix.RtMsg{
		Family:   unix.AF_INET,
		Table:    unix.RT_TABLE_MAIN,
		Protocol: unix.RTPROT_BOOT,
		Scope:    unix.RT_SCOPE_UNIVERSE,
		Type:     unix.RTN_UNICAST,
	}
	body := append([]byte(nil), (*[unix.SizeofRtMsg]byte)(unsafe.Pointer(&m))[:]...)
	g := gw.As4()
	body = attr(body, unix.RTA_GATEWAY, g[:])
	body = attr(body, unix.RTA_OIF, u32(uint32(idx)))
	if err := r.request(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, body); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], v)
	return netip.AddrFrom4(out)
}

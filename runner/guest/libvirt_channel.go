package guest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
)

// A remote domain's exec port is a virtio-serial channel whose unix socket
// libvirtd makes on its own machine; benchbook reaches it through libvirt's
// channel API (virDomainOpenChannel), a stream on the libvirt connection,
// so nothing but libvirtd runs there and the requests and replies travel
// only on the connection benchbook already makes to the daemon.
//
// go-libvirt's DomainOpenChannel streams only from the daemon (it sends no
// data), so the channel has a small client of its own for the few calls it
// needs, over a second connection dialled as the main one is, framed by
// go-libvirt's socket package. The calls are those of libvirt's remote
// protocol (src/remote/remote_protocol.x).
const (
	remoteProgram          = 0x20008086
	procConnectOpen        = 1
	procConnectClose       = 2
	procAuthList           = 66
	procAuthPolkit         = 70
	procDomainOpenChannel  = 296
	authNone               = 0
	authPolkit             = 2
	channelChunk           = 256 << 10 // a stream packet's payload, at most (VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX)
	channelCloseBound      = 5 * time.Second
	domainChannelForceFlag = uint32(libvirt.DomainChannelForce)
)

// lvChannel is a stream on a domain's channel: what Write sends reaches
// the guest's port, what the guest writes there is Read. Close ends the
// stream and its connection.
type lvChannel struct {
	sock *socket.Socket
	conn *lvConn // its transport, to close when a call overruns its bound

	mu     sync.Mutex
	last   int32                  // the last call's serial
	calls  map[int32]chan lvReply // calls waiting for their reply
	stream int32                  // the open call's serial, which its stream packets carry
	wmu    sync.Mutex             // one packet of Write at a time, in order
	pr     *io.PipeReader         // what the guest wrote
	pw     *io.PipeWriter
	once   sync.Once
}

type lvReply struct {
	status  uint32
	payload []byte
}

var _ io.ReadWriteCloser = (*lvChannel)(nil)

// openChannel opens the channel named name (its virtio target name) of dom
// on a new connection to uri, dialled and authenticated as the main one.
func openChannel(ctx context.Context, rawURI string, dom libvirt.Domain, name string) (*lvChannel, error) {
	lc, err := newLvConn(rawURI)
	if err != nil {
		return nil, err
	}
	ch := &lvChannel{conn: lc, calls: map[int32]chan lvReply{}}
	ch.pr, ch.pw = io.Pipe()
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ch.sock = socket.New(dialerFunc(func() (net.Conn, error) { return lc.dial(dctx) }), ch)
	if err := ch.sock.Connect(); err != nil {
		return nil, fmt.Errorf("channel %s: %w", name, err)
	}
	if err := ch.open(ctx, dom, name); err != nil {
		ch.Close()
		return nil, fmt.Errorf("channel %s: %w", name, err)
	}
	return ch, nil
}

// open authenticates as go-libvirt does (none, or polkit), opens the
// hypervisor connection and the channel's stream.
func (ch *lvChannel) open(ctx context.Context, dom libvirt.Domain, name string) error {
	rep, err := ch.call(ctx, procAuthList, nil, 0)
	if err != nil {
		return fmt.Errorf("auth list: %w", err)
	}
	if auths := xdrUints(rep); len(auths) > 0 && !slices.Contains(auths, authNone) {
		if !slices.Contains(auths, authPolkit) {
			return fmt.Errorf("libvirtd asks for authentication %v, which benchbook cannot give (it speaks none and polkit)", auths)
		}
		if _, err := ch.call(ctx, procAuthPolkit, nil, 0); err != nil {
			return fmt.Errorf("polkit: %w", err)
		}
	}
	var open xdrBuf
	open.optString(string(libvirt.RemoteURI(ch.conn.uri)))
	open.uint32(0)
	if _, err := ch.call(ctx, procConnectOpen, open.Bytes(), 0); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var args xdrBuf
	args.string(dom.Name)
	args.Write(dom.UUID[:])
	args.uint32(uint32(dom.ID))
	args.optString(name)
	args.uint32(domainChannelForceFlag)
	if _, err := ch.call(ctx, procDomainOpenChannel, args.Bytes(), procDomainOpenChannel); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	return nil
}

// call sends one call and waits for its reply within ctx and rpcTimeout.
// A call whose serial is to carry a stream names the stream's procedure.
func (ch *lvChannel) call(ctx context.Context, proc uint32, payload []byte, streamProc uint32) ([]byte, error) {
	ch.mu.Lock()
	ch.last++
	serial := ch.last
	got := make(chan lvReply, 1)
	ch.calls[serial] = got
	if streamProc != 0 {
		ch.stream = serial
	}
	ch.mu.Unlock()
	defer func() {
		ch.mu.Lock()
		delete(ch.calls, serial)
		ch.mu.Unlock()
	}()
	if err := ch.sock.SendPacket(serial, proc, remoteProgram, payload, socket.Call, socket.StatusOK); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	select {
	case rep := <-got:
		if rep.status == socket.StatusError {
			return nil, decodeLvError(rep.payload)
		}
		return rep.payload, nil
	case <-ch.sock.Disconnected():
		return nil, libvirt.ErrInterrupted
	case <-ctx.Done():
		ch.conn.closeTransport()
		return nil, ctx.Err()
	}
}

// Route takes each packet the daemon sends: replies go to their calls,
// the stream's data to Read (blocking until it is read).
func (ch *lvChannel) Route(h *socket.Header, buf []byte) {
	if h.Program != remoteProgram {
		return // keepalive: benchbook never asked for it
	}
	ch.mu.Lock()
	stream := ch.stream
	got := ch.calls[h.Serial]
	ch.mu.Unlock()
	switch {
	case h.Type == socket.Stream && h.Serial == stream && stream != 0:
		switch h.Status {
		case socket.StatusContinue:
			if len(buf) > 0 {
				ch.pw.Write(buf) // fails only once Close closed the reader
			}
		case socket.StatusOK:
			ch.pw.Close()
		default:
			ch.pw.CloseWithError(fmt.Errorf("libvirt channel: %w", decodeLvError(buf)))
		}
	case h.Type == socket.Reply && got != nil:
		got <- lvReply{status: h.Status, payload: buf}
	}
}

// Read returns what the guest wrote to the port; io.EOF when the stream
// ended (the domain stopped).
func (ch *lvChannel) Read(p []byte) (int, error) { return ch.pr.Read(p) }

// Write sends p to the guest's port, in packets libvirtd accepts.
func (ch *lvChannel) Write(p []byte) (int, error) {
	ch.wmu.Lock()
	defer ch.wmu.Unlock()
	ch.mu.Lock()
	serial := ch.stream
	ch.mu.Unlock()
	n := 0
	for n < len(p) {
		chunk := p[n:min(len(p), n+channelChunk)]
		if err := ch.sock.SendPacket(serial, procDomainOpenChannel, remoteProgram, chunk, socket.Stream, socket.StatusContinue); err != nil {
			return n, fmt.Errorf("libvirt channel: %w", err)
		}
		n += len(chunk)
	}
	return n, nil
}

// Close aborts the stream, closes the hypervisor connection politely
// within a bound, and drops the transport; a Read waiting returns
// net.ErrClosed.
func (ch *lvChannel) Close() error {
	var err error
	ch.once.Do(func() {
		ch.pr.CloseWithError(net.ErrClosed)
		ch.mu.Lock()
		stream := ch.stream
		ch.mu.Unlock()
		if stream != 0 {
			ch.wmu.Lock()
			ch.sock.SendPacket(stream, procDomainOpenChannel, remoteProgram, nil, socket.Stream, socket.StatusError)
			ch.wmu.Unlock()
		}
		ctx, cancel := context.WithTimeout(context.Background(), channelCloseBound)
		ch.call(ctx, procConnectClose, nil, 0)
		cancel()
		err = ch.sock.Disconnect()
		ch.conn.closeTransport()
	})
	return err
}

// decodeLvError reads libvirt's remote_error: its code, domain and
// message (the rest is of no use here).
func decodeLvError(b []byte) error {
	if len(b) < 12 {
		return errors.New("libvirt error (no details)")
	}
	code := binary.BigEndian.Uint32(b)
	msg := ""
	if binary.BigEndian.Uint32(b[8:]) != 0 && len(b) >= 16 {
		n := int(binary.BigEndian.Uint32(b[12:]))
		if 16+n <= len(b) {
			msg = string(b[16 : 16+n])
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("libvirt error %d", code)
	}
	return libvirt.Error{Code: code, Message: msg}
}

// xdrBuf writes the XDR the calls need: unsigned ints, strings, optional
// strings; each padded to four bytes.
type xdrBuf struct{ bytes.Buffer }

func (x *xdrBuf) uint32(v uint32) { binary.Write(&x.Buffer, binary.BigEndian, v) }

func (x *xdrBuf) string(s string) {
	x.uint32(uint32(len(s)))
	x.WriteString(s)
	x.Write(make([]byte, (4-len(s)%4)%4))
}

func (x *xdrBuf) optString(s string) {
	x.uint32(1)
	x.string(s)
}

// xdrUints reads a variable-length array of unsigned ints.
func xdrUints(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	n := int(binary.BigEndian.Uint32(b))
	var out []uint32
	for i := 0; i < n && 4+4*i+4 <= len(b); i++ {
		out = append(out, binary.BigEndian.Uint32(b[4+4*i:]))
	}
	return out
}

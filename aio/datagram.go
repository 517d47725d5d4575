package aio

import (
	"context"
	"fmt"
	"net"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

// DatagramProtocol receives the events of a datagram endpoint
// (asyncio.DatagramProtocol). Its methods run as callbacks of the
// endpoint's loop and must not block. Embed BaseDatagramProtocol to
// implement only the methods you need.
type DatagramProtocol interface {
	// ConnectionMade is called once with the endpoint's transport.
	ConnectionMade(t DatagramTransport)
	// DatagramReceived is called with each datagram and its sender. data
	// is the loop's read buffer: valid only during the call.
	DatagramReceived(data []byte, addr net.Addr)
	// ErrorReceived is called when a send or receive fails (for example
	// ICMP port unreachable on a connected endpoint); the endpoint stays
	// open.
	ErrorReceived(err error)
	// ConnectionLost is called once when the endpoint is closed.
	ConnectionLost(err error)
}

// BaseDatagramProtocol implements DatagramProtocol doing nothing.
type BaseDatagramProtocol struct{}

// ConnectionMade does nothing.
func (BaseDatagramProtocol) ConnectionMade(DatagramTransport) {}

// DatagramReceived does nothing.
func (BaseDatagramProtocol) DatagramReceived([]byte, net.Addr) {}

// ErrorReceived does nothing.
func (BaseDatagramProtocol) ErrorReceived(error) {}

// ConnectionLost does nothing.
func (BaseDatagramProtocol) ConnectionLost(error) {}

// DatagramTransport is a UDP (or Unix datagram) endpoint
// (asyncio.DatagramTransport). Its methods belong to the loop.
type DatagramTransport interface {
	// SendTo sends one datagram to addr (nil: the connected peer). A
	// datagram the kernel cannot take now is queued and sent when the
	// socket is writable.
	SendTo(data []byte, addr net.Addr) error
	// Close closes the endpoint after the queued datagrams;
	// ConnectionLost(nil) follows.
	Close() error
	// Abort closes the endpoint at once, dropping the queued datagrams.
	Abort()
	// IsClosing reports whether Close or Abort was called.
	IsClosing() bool
	// WriteBufferSize returns the bytes queued for sending.
	WriteBufferSize() int
	// LocalAddr returns the local address.
	LocalAddr() net.Addr
	// RemoteAddr returns the connected peer, or nil.
	RemoteAddr() net.Addr
	// Loop returns the endpoint's loop.
	Loop() *Loop
}

type datagram struct {
	data []byte
	sa   unix.Sockaddr
}

type datagramTransport struct {
	w       fdWatch
	loop    *Loop
	io      *loopIO
	proto   DatagramProtocol
	family  int
	sotype  int
	queue   []datagram
	queued  int
	closing bool
	lost    bool
	laddr   net.Addr
	raddr   net.Addr
}

// CreateDatagramEndpoint makes a datagram endpoint (asyncio's
// loop.create_datagram_endpoint). network is "udp", "udp4", "udp6" or
// "unixgram". localAddr (may be empty) is bound; remoteAddr (may be
// empty) is connected to, so that SendTo(data, nil) sends there and only
// its datagrams are received. The protocol's ConnectionMade has run when
// it returns.
func CreateDatagramEndpoint(ctx context.Context, network, localAddr, remoteAddr string, factory func() DatagramProtocol) (DatagramTransport, DatagramProtocol, error) {
	l := loopOf(ctx)
	if l == nil {
		return nil, nil, ErrNoLoop
	}
	if localAddr == "" && remoteAddr == "" {
		return nil, nil, fmt.Errorf("aio: CreateDatagramEndpoint needs a local or a remote address")
	}
	k, err := parseNetwork(network)
	if err != nil {
		return nil, nil, err
	}
	if k.stream {
		return nil, nil, fmt.Errorf("aio: CreateDatagramEndpoint needs a datagram network, not %q", network)
	}
	var local, remote []sockTarget
	if localAddr != "" {
		if _, local, err = resolve(ctx, network, localAddr, true); err != nil {
			return nil, nil, err
		}
	}
	if remoteAddr != "" {
		if _, remote, err = resolve(ctx, network, remoteAddr, false); err != nil {
			return nil, nil, err
		}
	}
	family := 0
	switch {
	case len(remote) > 0:
		family = remote[0].family
		if len(local) > 0 {
			// Bind an address of the remote's family.
			for _, lt := range local {
				if lt.family == family {
					local = []sockTarget{lt}
					break
				}
			}
		}
	default:
		family = local[0].family
	}
	fd, err := sysSocket(family, k.sotype, 0)
	if err != nil {
		return nil, nil, wrapOp("socket", err)
	}
	if len(local) > 0 {
		if family == unix.AF_INET6 {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
		}
		if err := unix.Bind(fd, local[0].sa); err != nil {
			unix.Close(fd)
			return nil, nil, wrapOp("bind", err)
		}
	}
	if len(remote) > 0 {
		if err := unix.Connect(fd, remote[0].sa); err != nil {
			unix.Close(fd)
			return nil, nil, wrapOp("connect", err)
		}
	}
	p := factory()
	t := &datagramTransport{loop: l, io: l.ioState(), proto: p, family: family, sotype: k.sotype}
	t.w.fd = fd
	t.w.owner = t
	if err := l.addWatch(&t.w, poller.Readable, t.onEvents); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	t.io.live++
	l.callback(func() { p.ConnectionMade(t) })
	return t, p, nil
}

func (t *datagramTransport) onEvents(ev poller.Events) {
	if t.lost {
		return
	}
	if ev&poller.Writable != 0 && len(t.queue) > 0 {
		t.flush()
	}
	if ev&(poller.Readable|poller.Error) != 0 && !t.lost {
		buf := t.io.readBuf()
		// A few datagrams per wake-up: each is a system call anyway.
		for i := 0; i < 16 && !t.lost; i++ {
			n, sa, err := unix.Recvfrom(t.w.fd, buf, 0)
			if err != nil {
				if err == unix.EAGAIN || err == unix.EINTR {
					return
				}
				t.proto.ErrorReceived(wrapOp("read", err))
				return
			}
			var addr net.Addr
			if sa != nil {
				addr = toNetAddr(unix.SOCK_DGRAM, sa)
			} else {
				addr = t.RemoteAddr()
			}
			t.proto.DatagramReceived(buf[:n], addr)
		}
	}
}

// SendTo implements DatagramTransport.
func (t *datagramTransport) SendTo(data []byte, addr net.Addr) error {
	if err := loopCheck(t.loop, "DatagramTransport.SendTo"); err != nil {
		return err
	}
	if t.closing || t.lost {
		return ErrTransportClosed
	}
	var sa unix.Sockaddr
	if addr != nil {
		var err error
		if sa, err = fromNetAddr(t.family, addr); err != nil {
			return err
		}
	}
	if len(t.queue) == 0 {
		err := t.send(data, sa)
		if err == nil {
			return nil
		}
		if err != unix.EAGAIN && err != unix.ENOBUFS && err != unix.EINTR {
			err = wrapOp("write", err)
			t.proto.ErrorReceived(err)
			return err
		}
	}
	t.queue = append(t.queue, datagram{data: append([]byte(nil), data...), sa: sa})
	t.queued += len(data)
	if err := t.loop.setInterest(&t.w, poller.Readable|poller.Writable); err != nil {
		return err
	}
	return nil
}

func (t *datagramTransport) send(data []byte, sa unix.Sockaddr) error {
	if sa == nil {
		_, err := unix.Write(t.w.fd, data)
		return err
	}
	return unix.Sendto(t.w.fd, data, 0, sa)
}

func (t *datagramTransport) flush() {
	for len(t.queue) > 0 {
		d := t.queue[0]
		err := t.send(d.data, d.sa)
		if err == unix.EAGAIN || err == unix.ENOBUFS || err == unix.EINTR {
			return
		}
		t.queue[0] = datagram{}
		t.queue = t.queue[1:]
		t.queued -= len(d.data)
		if err != nil {
			t.proto.ErrorReceived(wrapOp("write", err))
		}
	}
	t.queue = nil
	_ = t.loop.setInterest(&t.w, poller.Readable)
	if t.closing {
		t.lose(nil)
	}
}

// Close implements DatagramTransport.
func (t *datagramTransport) Close() error {
	if err := loopCheck(t.loop, "DatagramTransport.Close"); err != nil {
		return err
	}
	if t.closing || t.lost {
		return nil
	}
	t.closing = true
	if len(t.queue) == 0 {
		t.lose(nil)
	}
	return nil
}

// Abort implements DatagramTransport.
func (t *datagramTransport) Abort() {
	mustOnLoop(t.loop, "DatagramTransport.Abort")
	t.closing = true
	t.queue, t.queued = nil, 0
	t.lose(nil)
}

func (t *datagramTransport) lose(err error) {
	if t.lost {
		return
	}
	t.lost, t.closing = true, true
	t.release()
	t.loop.soon(func() { t.proto.ConnectionLost(err) })
}

func (t *datagramTransport) release() {
	_ = t.loop.removeWatch(&t.w)
	unix.Close(t.w.fd)
	t.w.fd = -1
	t.io.live--
}

func (t *datagramTransport) shutdownNow() {
	if t.lost {
		return
	}
	t.lost, t.closing = true, true
	t.release()
	t.loop.guard(func() { t.proto.ConnectionLost(errLoopShutdown) })
}

// IsClosing implements DatagramTransport.
func (t *datagramTransport) IsClosing() bool { return t.closing || t.lost }

// WriteBufferSize implements DatagramTransport.
func (t *datagramTransport) WriteBufferSize() int { return t.queued }

// LocalAddr implements DatagramTransport.
func (t *datagramTransport) LocalAddr() net.Addr {
	if t.laddr == nil && !t.lost {
		if sa, err := unix.Getsockname(t.w.fd); err == nil {
			t.laddr = toNetAddr(unix.SOCK_DGRAM, sa)
		}
	}
	return t.laddr
}

// RemoteAddr implements DatagramTransport.
func (t *datagramTransport) RemoteAddr() net.Addr {
	if t.raddr == nil && !t.lost {
		if sa, err := unix.Getpeername(t.w.fd); err == nil {
			t.raddr = toNetAddr(unix.SOCK_DGRAM, sa)
		}
	}
	return t.raddr
}

// Loop implements DatagramTransport.
func (t *datagramTransport) Loop() *Loop { return t.loop }

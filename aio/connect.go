package aio

import (
	"context"
	"errors"
	"fmt"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

// CreateConnection connects to address and runs the protocol that factory
// makes on the connection (asyncio's loop.create_connection). network is
// "tcp", "tcp4", "tcp6" or "unix". It suspends the calling task while
// connecting; ctx's cancellation or deadline stops the attempt. The
// protocol's ConnectionMade has run when it returns.
func CreateConnection(ctx context.Context, network, address string, factory func() Protocol, opts ...NetOption) (Transport, Protocol, error) {
	l, lt, err := enter(ctx, "CreateConnection")
	if err != nil {
		return nil, nil, err
	}
	p := factory()
	t, err := createConnection(ctx, l, lt, network, address, p, netOptions(opts))
	if err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

// createConnection connects for the task t of l (see enter).
func createConnection(ctx context.Context, l *Loop, t *taskCore, network, address string, p Protocol, cfg netConfig) (*streamTransport, error) {
	k, targets, err := resolve(ctx, network, address, false)
	if err != nil {
		return nil, err
	}
	if !k.stream {
		return nil, fmt.Errorf("aio: a stream connection needs a stream network, not %q (use CreateDatagramEndpoint)", network)
	}
	var errs []error
	for _, tg := range targets {
		fd, err := connectSocket(ctx, l, t, tg)
		if err != nil {
			if ctxErr(ctx) != nil || errors.Is(err, errAbandoned) {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		kind := kindSocket
		if k.isUnix {
			kind = kindUnixSocket
		} else {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		tr, err := newStreamTransport(l, fd, kind, p, true)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		if cfg.high > 0 || cfg.low >= 0 {
			tr.SetWriteBufferLimits(cfg.high, cfg.low)
		}
		l.callback(func() { p.ConnectionMade(tr) })
		return tr, nil
	}
	return nil, fmt.Errorf("aio: connecting to %s %s: %w", network, address, errors.Join(errs...))
}

// connectSocket makes a socket and connects it to tg, suspending t while
// the connection is in progress.
func connectSocket(ctx context.Context, l *Loop, t *taskCore, tg sockTarget) (int, error) {
	fd, err := sysSocket(tg.family, tg.sotype, 0)
	if err != nil {
		return -1, wrapOp("socket", err)
	}
	for {
		err = unix.Connect(fd, tg.sa)
		if err != unix.EINTR {
			break
		}
	}
	switch err {
	case nil:
		return fd, nil
	case unix.EINPROGRESS, unix.EALREADY, unix.EAGAIN:
	default:
		unix.Close(fd)
		return -1, wrapOp("connect", err)
	}
	// Wait until the socket is writable: the connection is made or failed.
	w := &fdWatch{fd: fd}
	ready := false
	if err := l.addWatch(w, poller.Writable, func(poller.Events) {
		ready = true
		l.wake(t)
	}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	err = parkUntil(ctx, t, nil, true, funcCond{done: func() bool { return ready }})
	_ = l.removeWatch(w)
	if err == nil {
		if v, gerr := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); gerr != nil {
			err = gerr
		} else if v != 0 {
			err = unix.Errno(v)
		}
		if err != nil {
			err = wrapOp("connect", err)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

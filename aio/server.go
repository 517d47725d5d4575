package aio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

// NetOption configures a server or a connection.
type NetOption func(*netConfig)

type netConfig struct {
	backlog    int
	reusePort  bool
	noReuse    bool
	limit      int
	high, low  int
	acceptMany int
}

func netOptions(opts []NetOption) netConfig {
	c := netConfig{backlog: 1024, limit: DefaultStreamLimit, low: -1, acceptMany: 128}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithBacklog sets the listen backlog of a server (1024 by default, capped
// by the kernel's somaxconn).
func WithBacklog(n int) NetOption { return func(c *netConfig) { c.backlog = n } }

// WithReusePort sets SO_REUSEPORT on a server's sockets, so that several
// servers (one per loop, see StartMultiLoopServer) listen on one port and
// the kernel spreads the connections among them.
func WithReusePort() NetOption { return func(c *netConfig) { c.reusePort = true } }

// WithoutReuseAddr leaves SO_REUSEADDR off on a server's TCP sockets (it is
// on by default, as in asyncio on Unix).
func WithoutReuseAddr() NetOption { return func(c *netConfig) { c.noReuse = true } }

// WithReadLimit sets the limit of a stream reader (DefaultStreamLimit by
// default): the longest line or ReadUntil result it accepts, and the
// amount it buffers before it stops reading from the socket.
func WithReadLimit(n int) NetOption { return func(c *netConfig) { c.limit = n } }

// WithWriteBufferLimits sets the high- and low-water marks of the
// connections' write buffers (see Transport.SetWriteBufferLimits).
func WithWriteBufferLimits(high, low int) NetOption {
	return func(c *netConfig) { c.high, c.low = high, low }
}

// Server is a listening server on a loop (asyncio.Server): one listening
// socket per address, and the connections it accepted. Its methods
// belong to the loop, except Addr and Addrs.
type Server struct {
	loop      *Loop
	ctx       context.Context
	lns       []*listener
	factory   func() Protocol
	cfg       netConfig
	conns     *streamTransport // accepted connections still open
	nconns    int
	serving   bool
	closed    bool
	waiters   []*taskCore
	unixPaths []string
	addrs     []net.Addr
}

// listener is one listening socket of a server.
type listener struct {
	w      fdWatch
	srv    *Server
	kind   transportKind
	paused *Timer // accepting paused after running out of descriptors
}

// CreateServer listens on address and makes a protocol with factory for
// every connection accepted (asyncio's loop.create_server). network is
// "tcp", "tcp4", "tcp6" or "unix". The server serves at once; it stops
// listening with Close or when Run ends. A host name is looked up in the
// loop's default executor, so CreateServer must then be called from a
// task; IP literals, "localhost" and Unix paths need no task.
func CreateServer(ctx context.Context, network, address string, factory func() Protocol, opts ...NetOption) (*Server, error) {
	l := loopOf(ctx)
	if l == nil {
		return nil, ErrNoLoop
	}
	if l.closed.Load() {
		return nil, ErrLoopClosed
	}
	cfg := netOptions(opts)
	k, targets, err := resolve(ctx, network, address, true)
	if err != nil {
		return nil, err
	}
	if !k.stream {
		return nil, fmt.Errorf("aio: CreateServer needs a stream network, not %q (use CreateDatagramEndpoint)", network)
	}
	s := &Server{loop: l, ctx: ctx, factory: factory, cfg: cfg, serving: true}
	l.ioState()
	for _, tg := range targets {
		fd, err := listenSocket(tg, cfg)
		if err != nil {
			if len(targets) > 1 && tg.family == unix.AF_INET6 && errors.Is(err, unix.EAFNOSUPPORT) {
				continue // no IPv6 here: the IPv4 address follows
			}
			s.closeListeners()
			return nil, fmt.Errorf("aio: listening on %s %s: %w", network, address, err)
		}
		kind := kindSocket
		if k.isUnix {
			kind = kindUnixSocket
			s.unixPaths = append(s.unixPaths, tg.sa.(*unix.SockaddrUnix).Name)
		}
		ln := &listener{srv: s, kind: kind}
		ln.w.fd = fd
		ln.w.owner = ln
		if err := l.addWatch(&ln.w, poller.Readable, ln.onReadable); err != nil {
			unix.Close(fd)
			s.closeListeners()
			return nil, err
		}
		s.lns = append(s.lns, ln)
		if sa, err := unix.Getsockname(fd); err == nil {
			s.addrs = append(s.addrs, toNetAddr(unix.SOCK_STREAM, sa))
		}
		if tg.family == unix.AF_INET6 && targets[0].sa.(*unix.SockaddrInet6).Addr == [16]byte{} {
			break // the IPv6 wildcard socket takes IPv4 too
		}
	}
	return s, nil
}

func listenSocket(tg sockTarget, cfg netConfig) (int, error) {
	fd, err := sysSocket(tg.family, tg.sotype, 0)
	if err != nil {
		return -1, err
	}
	fail := func(err error) (int, error) {
		unix.Close(fd)
		return -1, err
	}
	if tg.family != unix.AF_UNIX {
		if !cfg.noReuse {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
				return fail(err)
			}
		}
		if tg.family == unix.AF_INET6 {
			// A wildcard IPv6 socket serves IPv4 too; a specific one only
			// its own address.
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
		}
	} else {
		// A stale socket file from an earlier run would make bind fail,
		// as asyncio removes it.
		if fi, err := os.Stat(tg.sa.(*unix.SockaddrUnix).Name); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(tg.sa.(*unix.SockaddrUnix).Name)
		}
	}
	if cfg.reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, reusePortOpt, 1); err != nil {
			return fail(fmt.Errorf("SO_REUSEPORT: %w", err))
		}
	}
	if err := unix.Bind(fd, tg.sa); err != nil {
		return fail(err)
	}
	if tg.sotype == unix.SOCK_STREAM {
		if err := unix.Listen(fd, cfg.backlog); err != nil {
			return fail(err)
		}
	}
	return fd, nil
}

// onReadable accepts the connections waiting on the listening socket.
func (ln *listener) onReadable(poller.Events) {
	s := ln.srv
	l := s.loop
	for i := 0; i < s.cfg.acceptMany && !s.closed; i++ {
		fd, _, err := sysAccept(ln.w.fd)
		if err != nil {
			switch err {
			case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
				return
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				// Out of descriptors: stop accepting for a second rather
				// than spin on the listening socket, as asyncio does.
				l.cfg.logger.Error("aio: accepting a connection failed; pausing the listener for 1 s", "error", err)
				_ = l.setInterest(&ln.w, 0)
				ln.paused = l.CallLater(time.Second, func() {
					ln.paused = nil
					if !s.closed {
						_ = l.setInterest(&ln.w, poller.Readable)
					}
				})
				return
			default:
				l.cfg.logger.Error("aio: accepting a connection failed", "error", err)
				return
			}
		}
		if ln.kind != kindUnixSocket {
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		s.accept(fd, ln.kind)
	}
}

func (s *Server) accept(fd int, kind transportKind) {
	var p Protocol
	l := s.loop
	l.callback(func() { p = s.factory() })
	if p == nil {
		unix.Close(fd)
		return
	}
	t, err := newStreamTransport(l, fd, kind, p, true)
	if err != nil {
		unix.Close(fd)
		l.cfg.logger.Error("aio: registering an accepted connection failed", "error", err)
		return
	}
	if s.cfg.high > 0 || s.cfg.low >= 0 {
		t.SetWriteBufferLimits(s.cfg.high, s.cfg.low)
	}
	t.srv = s
	t.next = s.conns
	if s.conns != nil {
		s.conns.prev = t
	}
	s.conns = t
	s.nconns++
	l.callback(func() { p.ConnectionMade(t) })
}

// detach removes a closed connection from the server.
func (s *Server) detach(t *streamTransport) {
	if t.prev != nil {
		t.prev.next = t.next
	} else if s.conns == t {
		s.conns = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	t.prev, t.next, t.srv = nil, nil, nil
	s.nconns--
	if s.nconns == 0 {
		s.wakeWaiters()
	}
}

// wakeWaiters wakes the tasks in WaitClosed and ServeForever; they check
// their condition again.
func (s *Server) wakeWaiters() {
	for _, t := range s.waiters {
		s.loop.wake(t)
	}
	s.waiters = s.waiters[:0]
}

// Close stops listening. Connections already accepted go on (close them
// with CloseClients or AbortClients); WaitClosed waits for them to end.
// Loop-only: from a goroutine that does not run the server's loop it
// panics with an error matching ErrOtherLoop or ErrNotInTask and changes
// nothing.
func (s *Server) Close() {
	mustOnLoop(s.loop, "Server.Close")
	if s.closed {
		return
	}
	s.closed = true
	s.serving = false
	s.closeListeners()
	s.wakeWaiters()
}

func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		ln.close()
	}
	s.lns = nil
	for _, p := range s.unixPaths {
		os.Remove(p)
	}
	s.unixPaths = nil
}

func (ln *listener) close() {
	if ln.w.fd < 0 {
		return
	}
	if ln.paused != nil {
		ln.paused.Cancel()
		ln.paused = nil
	}
	_ = ln.srv.loop.removeWatch(&ln.w)
	unix.Close(ln.w.fd)
	ln.w.fd = -1
}

// shutdownNow closes the listener at the loop's shutdown.
func (ln *listener) shutdownNow() { ln.srv.Close() }

// CloseClients closes every connection the server accepted, after their
// buffered writes (asyncio's close_clients). Loop-only, as Close.
func (s *Server) CloseClients() {
	mustOnLoop(s.loop, "Server.CloseClients")
	for t := s.conns; t != nil; {
		nx := t.next
		t.Close()
		t = nx
	}
}

// AbortClients closes every connection the server accepted at once
// (asyncio's abort_clients). Loop-only, as Close.
func (s *Server) AbortClients() {
	mustOnLoop(s.loop, "Server.AbortClients")
	for t := s.conns; t != nil; {
		nx := t.next
		t.Abort()
		t = nx
	}
}

// IsServing reports whether the server is listening.
func (s *Server) IsServing() bool { return s.serving }

// Connections returns the number of accepted connections still open.
func (s *Server) Connections() int { return s.nconns }

// Addr returns the address of the server's first listening socket (the
// port chosen by the kernel for port 0).
func (s *Server) Addr() net.Addr {
	if len(s.addrs) == 0 {
		return nil
	}
	return s.addrs[0]
}

// Addrs returns the addresses of every listening socket.
func (s *Server) Addrs() []net.Addr { return append([]net.Addr(nil), s.addrs...) }

// Loop returns the server's loop.
func (s *Server) Loop() *Loop { return s.loop }

// WaitClosed waits until the server is closed and every connection it
// accepted has ended (asyncio 3.12's wait_closed), or ctx is done. It
// suspends the calling task.
func (s *Server) WaitClosed(ctx context.Context) error {
	t, err := s.loop.enterTask("Server.WaitClosed")
	if err != nil {
		return err
	}
	if s.closed && s.nconns == 0 {
		return nil
	}
	return parkUntil(ctx, t, nil, false, funcCond{
		done: func() bool { return s.closed && s.nconns == 0 },
		reg:  s.addWaiter,
	})
}

func (s *Server) addWaiter(t *taskCore) { s.waiters = append(s.waiters, t) }

// Shutdown shuts the server down gracefully, in net/http's
// Server.Shutdown shape: it stops listening (Close), closes every
// connection it accepted after its buffered writes (CloseClients, so a
// goodbye written just before goes out), and waits until they have all
// ended, which for StartServer means each handler's reads end with io.EOF.
// It returns nil then. If ctx ends first, it aborts the connections still
// open (AbortClients: a client that does not read its data cannot hold
// the program) and returns ctx's error. asyncio's
// server.close(); server.close_clients(); await server.wait_closed(), with
// a bound. It suspends the calling task; give it a context with a
// deadline (WithTimeout) that SIGINT does not cancel: with NotifyContext
// the main task's own context is such a context.
func (s *Server) Shutdown(ctx context.Context) error {
	t, err := s.loop.enterTask("Server.Shutdown")
	if err != nil {
		return err
	}
	s.Close()
	s.CloseClients()
	if s.nconns == 0 {
		return nil
	}
	err = parkUntil(ctx, t, nil, false, funcCond{
		done: func() bool { return s.nconns == 0 },
		reg:  s.addWaiter,
	})
	if err != nil {
		s.AbortClients()
	}
	return err
}

// ServeForever serves until ctx is done, then closes the server and
// returns ctx's error (asyncio's serve_forever, cancelled). It suspends
// the calling task. Connections already accepted go on: end them with
// Shutdown (or CloseClients and WaitClosed).
func (s *Server) ServeForever(ctx context.Context) error {
	t, err := s.loop.enterTask("Server.ServeForever")
	if err != nil {
		return err
	}
	err = parkUntil(ctx, t, nil, false, funcCond{done: func() bool { return s.closed }, reg: s.addWaiter})
	s.Close()
	if err == nil {
		err = net.ErrClosed
	}
	return err
}

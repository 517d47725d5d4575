// Command epollecho is the floor of an epoll echo server in Go, a peer for
// `braid bench echo`: one locked thread, level-triggered epoll,
// recvfrom and sendto as raw system calls, no framework, no buffering
// beyond a reply the socket could not take at once. What it costs per
// request is what any epoll server's two system calls cost on the
// machine; a server that adds work in user space can only be above it.
//
//	epollecho --port 9000
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// conn holds a reply the socket could not take whole; reading from the
// connection waits until it has gone out.
type conn struct{ pending []byte }

type server struct {
	ep, lfd int
	conns   []*conn
	buf     []byte
}

func main() {
	port := flag.Int("port", 9000, "port on 127.0.0.1")
	flag.Parse()
	runtime.LockOSThread()
	s, err := newServer(*port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "epollecho:", err)
		os.Exit(1)
	}
	fmt.Println("listening", *port, "model=epollecho")
	fmt.Fprintln(os.Stderr, "epollecho:", s.run())
	os.Exit(1)
}

func newServer(port int) (*server, error) {
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return nil, err
	}
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return nil, fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
	}
	if err := unix.Listen(lfd, 4096); err != nil {
		return nil, err
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, lfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return nil, err
	}
	return &server{ep: ep, lfd: lfd, buf: make([]byte, 64<<10)}, nil
}

// run serves until epoll fails; it returns why.
func (s *server) run() error {
	evs := make([]unix.EpollEvent, 1024)
	for {
		n, _, e := syscall.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(s.ep), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), ^uintptr(0), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return fmt.Errorf("epoll_pwait: %w", e)
		}
		for _, ev := range evs[:n] {
			fd := int(ev.Fd)
			switch {
			case fd == s.lfd:
				s.accept()
			case ev.Events&unix.EPOLLOUT != 0:
				s.flush(fd)
			default:
				s.echo(fd)
			}
		}
	}
}

func (s *server) accept() {
	for {
		fd, _, err := unix.Accept4(s.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: no more for now (or a failed accept, dropped)
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		for fd >= len(s.conns) {
			s.conns = append(s.conns, nil)
		}
		s.conns[fd] = &conn{}
		if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			s.close(fd)
		}
	}
}

func (s *server) echo(fd int) {
	n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), 0, 0, 0)
	switch {
	case e == unix.EAGAIN || e == unix.EINTR:
		return
	case e != 0 || n == 0:
		s.close(fd)
		return
	}
	s.send(fd, s.buf[:n])
}

// send writes p; what the socket does not take waits in the connection,
// with the descriptor watched for room instead of data.
func (s *server) send(fd int, p []byte) {
	for len(p) > 0 {
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e == unix.EAGAIN:
			c := s.conns[fd]
			c.pending = append(c.pending[:0], p...)
			if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}); err != nil {
				s.close(fd)
			}
			return
		case e != 0:
			s.close(fd)
			return
		}
		p = p[n:]
	}
}

func (s *server) flush(fd int) {
	c := s.conns[fd]
	p := c.pending
	c.pending = nil
	if err := unix.EpollCtl(s.ep, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		s.close(fd)
		return
	}
	s.send(fd, p)
}

func (s *server) close(fd int) {
	_ = unix.EpollCtl(s.ep, unix.EPOLL_CTL_DEL, fd, nil)
	_ = unix.Close(fd)
	if fd < len(s.conns) {
		s.conns[fd] = nil
	}
}

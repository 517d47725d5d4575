//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package aio

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sysSocket makes a non-blocking, close-on-exec socket. Without
// SOCK_CLOEXEC, the fork lock keeps a concurrent exec from inheriting it.
func sysSocket(family, sotype, proto int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, sotype, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// A write to a socket whose peer has gone must fail with EPIPE rather
	// than raise SIGPIPE.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
	return fd, nil
}

// sysAccept accepts a connection as a non-blocking, close-on-exec socket.
func sysAccept(fd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, err
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, nil, err
	}
	_ = unix.SetsockoptInt(nfd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
	return nfd, sa, nil
}

// sysPipe makes a close-on-exec pipe; neither end is non-blocking yet.
func sysPipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// reusePortOpt is the socket option that lets several sockets listen on
// one port.
const reusePortOpt = unix.SO_REUSEPORT

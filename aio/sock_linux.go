//go:build linux

package aio

import "golang.org/x/sys/unix"

// sysSocket makes a non-blocking, close-on-exec socket.
func sysSocket(family, sotype, proto int) (int, error) {
	return unix.Socket(family, sotype|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
}

// sysAccept accepts a connection as a non-blocking, close-on-exec socket.
func sysAccept(fd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

// sysPipe makes a close-on-exec pipe; neither end is non-blocking yet.
func sysPipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// reusePortOpt is the socket option that lets several sockets listen on
// one port, the kernel spreading connections among them.
const reusePortOpt = unix.SO_REUSEPORT

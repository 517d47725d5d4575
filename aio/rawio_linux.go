package aio

import "golang.org/x/sys/unix"

// sockRead and sockWrite are rawRead and rawWrite for sockets: recvfrom
// and sendto go straight to the socket layer, skipping the VFS work of
// read and write (file position lock, access checks, write
// notification), a few percent of a small request's CPU. sendto's
// MSG_NOSIGNAL makes a write to a connection the peer has reset fail with
// EPIPE without raising SIGPIPE.

func sockRead(fd int, p []byte) (int, error) { return rawIO(unix.SYS_RECVFROM, fd, p, 0) }
func sockWrite(fd int, p []byte) (int, error) {
	return rawIO(unix.SYS_SENDTO, fd, p, unix.MSG_NOSIGNAL)
}

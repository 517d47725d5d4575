package aio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockRead and sockWrite are rawRead and rawWrite for sockets: recvfrom
// and sendto go straight to the socket layer, skipping the VFS work of
// read and write (file position lock, access checks, write
// notification), a few percent of a small request's CPU. sendto's
// MSG_NOSIGNAL makes a write to a connection the peer has reset fail with
// EPIPE without raising SIGPIPE.

func sockRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sockWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

package aio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The transports' descriptors are non-blocking: a read or write never
// waits in the kernel, so it is made as a raw system call, without
// telling the Go scheduler that the thread may block (which costs two
// runtime calls per system call, on the hot path of every request).

func rawRead(fd int, p []byte) (int, error)  { return rawIO(unix.SYS_READ, fd, p, 0) }
func rawWrite(fd int, p []byte) (int, error) { return rawIO(unix.SYS_WRITE, fd, p, 0) }

// rawIO makes the system call trap(fd, p, len(p), flags, 0, 0): read,
// write, recvfrom or sendto (the last three arguments are ignored by read
// and write, and are no addresses for recvfrom and sendto).
func rawIO(trap uintptr, fd int, p []byte, flags uintptr) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), flags, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawReadv reads into p and, past its end, into q (readv): one system
// call that fills a caller's buffer and takes what follows as well.
func rawReadv(fd int, p, q []byte) (int, error) {
	var iov [2]unix.Iovec
	iov[0].Base, iov[1].Base = &p[0], &q[0]
	iov[0].SetLen(len(p))
	iov[1].SetLen(len(q))
	n, _, e := unix.RawSyscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

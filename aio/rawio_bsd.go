//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package aio

// On macOS and the BSDs sockets are read and written as any descriptor.

func sockRead(fd int, p []byte) (int, error)  { return rawRead(fd, p) }
func sockWrite(fd int, p []byte) (int, error) { return rawWrite(fd, p) }

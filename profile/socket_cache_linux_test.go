package profile

import (
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketTablesReadOnce checks that the /proc/PID/net tables (which list
// every socket of the host's network namespace) are read when a socket is
// first waited on, not again in every sample: a thread's wait on a known
// socket, or the Go poller's epoll wait on many, is told from the cache.
// The process measured is this one, sampled as another process would be
// (Command); for its own sockets (Func) the tables are not read at all.
func TestSocketTablesReadOnce(t *testing.T) {
	idleLoopbackConns(t, 20)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var lfd int
	if err := raw.Control(func(fd uintptr) { lfd = int(fd) }); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	epfd := goEpollFd(t)
	own := newTracker(pid, 0, true)
	for i := 0; i < 3; i++ {
		own.beginSample()
		if s := own.syscallState(pid, unix.SYS_EPOLL_PWAIT, []uint64{uint64(epfd)}); s != StateLocalSocket {
			t.Fatalf("Func, sample %d: the Go poller's wait is %q, want %q", i, s, StateLocalSocket)
		}
	}
	if own.tableReads != 0 {
		t.Fatalf("Func read the socket tables %d times, want none: its own sockets can be asked", own.tableReads)
	}
	tr := newTracker(pid, 0, false)
	for i := 0; i < 5; i++ {
		tr.beginSample()
		if s := tr.fdState(pid, lfd); s != StateLocalSocket {
			t.Fatalf("sample %d: a wait on a listener on 127.0.0.1 is %q, want %q", i, s, StateLocalSocket)
		}
		if s := tr.syscallState(pid, unix.SYS_EPOLL_PWAIT, []uint64{uint64(epfd)}); s != StateLocalSocket {
			t.Fatalf("sample %d: the Go poller's wait is %q, want %q", i, s, StateLocalSocket)
		}
	}
	if tr.tableReads != 1 {
		t.Fatalf("the socket tables were read %d times in 5 samples, want once", tr.tableReads)
	}
	// A socket opened later is not in the cache: the tables are read again.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	craw, _ := c.(*net.TCPConn).SyscallConn()
	var cfd int
	_ = craw.Control(func(fd uintptr) { cfd = int(fd) })
	tr.beginSample()
	if s := tr.fdState(pid, cfd); s != StateLocalSocket {
		t.Fatalf("a wait on a new loopback connection is %q, want %q", s, StateLocalSocket)
	}
	if tr.tableReads != 2 {
		t.Fatalf("the socket tables were read %d times after a new socket, want twice", tr.tableReads)
	}
}

// TestOwnSocketState checks what a socket of the calling process is told to
// be from the socket itself.
func TestOwnSocketState(t *testing.T) {
	fdOf := func(c interface {
		SyscallConn() (syscall.RawConn, error)
	}) int {
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var fd int
		_ = raw.Control(func(f uintptr) { fd = int(f) })
		return fd
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if s, settled := ownSocketState(fdOf(ln.(*net.TCPListener))); s != StateLocalSocket || !settled {
		t.Errorf("a listener on 127.0.0.1: %q settled %v", s, settled)
	}
	u, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: t.TempDir() + "/s", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if s, _ := ownSocketState(fdOf(u)); s != StateLocalSocket {
		t.Errorf("a Unix-domain socket: %q", s)
	}
	// A UDP "connection" sends nothing: it only sets the peer.
	r, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		t.Skipf("no route to a remote test address here: %v", err)
	}
	defer r.Close()
	if s, settled := ownSocketState(fdOf(r.(*net.UDPConn))); s != StateNetwork || !settled {
		t.Errorf("a UDP socket connected to 192.0.2.1: %q settled %v", s, settled)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, settled := ownSocketState(fd); settled {
		t.Error("a TCP socket neither bound nor connected is settled: it would be cached before it connects")
	}
}

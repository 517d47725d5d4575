package profile

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketTablesReadOnce checks that the /proc/PID/net tables (which list
// every socket of the host's network namespace) are read when a socket is
// first waited on, not again in every sample: a thread's wait on a known
// socket, or the Go poller's epoll wait on many, is told from the cache.
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
	tr := newTracker(pid, 0, true)
	epfd := goEpollFd(t)
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

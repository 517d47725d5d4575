package profile

import (
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// idleLoopbackConns opens n loopback TCP connections (2n sockets, all
// registered with the Go network poller) and leaves them idle.
func idleLoopbackConns(tb testing.TB, n int) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close(); s.Close() })
	}
}

func threadSysSeconds(tb testing.TB) float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Stime.Sec) + float64(ru.Stime.Usec)/1e6
}

// BenchmarkSampleIdleSockets measures one sample of the calling process
// while it holds 100 idle loopback connections, and reports the sampling
// thread's system CPU per sample (sys-ms/op).
func BenchmarkSampleIdleSockets(b *testing.B) {
	idleLoopbackConns(b, 100)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tr := newTracker(os.Getpid(), gettid(), true)
	tr.sample(false)
	b.ResetTimer()
	sys0 := threadSysSeconds(b)
	for i := 0; i < b.N; i++ {
		tr.sample(true)
	}
	b.ReportMetric(1e3*(threadSysSeconds(b)-sys0)/float64(b.N), "sys-ms/op")
}

// goEpollFd finds the Go network poller's epoll descriptor.
func goEpollFd(tb testing.TB) int {
	tb.Helper()
	names, err := filepathNames("/proc/self/fd")
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range names {
		if target, err := os.Readlink("/proc/self/fd/" + n); err == nil && target == "anon_inode:[eventpoll]" {
			fd, _ := strconv.Atoi(n)
			return fd
		}
	}
	tb.Fatal("no epoll descriptor in /proc/self/fd")
	return -1
}

// BenchmarkEpollWaitState measures what a sample pays for one thread
// blocked in epoll_pwait on the Go network poller (the thread every Go
// program with sockets parks there) while the process holds 100 idle
// loopback connections: telling what the wait is on, for a process of its
// own (Func: "own") and for another one (Command: "other"). It reports
// the sampling thread's system CPU per sample (sys-ms/op).
func BenchmarkEpollWaitState(b *testing.B) {
	idleLoopbackConns(b, 100)
	for _, own := range []bool{true, false} {
		name := map[bool]string{true: "own", false: "other"}[own]
		b.Run(name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			pid := os.Getpid()
			tr := newTracker(pid, gettid(), own)
			epfd := goEpollFd(b)
			b.ResetTimer()
			sys0 := threadSysSeconds(b)
			for i := 0; i < b.N; i++ {
				tr.beginSample()
				if s := tr.syscallState(pid, unix.SYS_EPOLL_PWAIT, []uint64{uint64(epfd)}); s != StateLocalSocket {
					b.Fatalf("the poller's wait is %q, want %q", s, StateLocalSocket)
				}
			}
			b.ReportMetric(1e3*(threadSysSeconds(b)-sys0)/float64(b.N), "sys-ms/op")
		})
	}
}

// BenchmarkFuncIdleSockets measures a 300 ms function that holds 100 idle
// loopback connections and waits on a timer, as a user of Func sees it:
// the system time in its report is almost all the sampler's, so it
// reports that per sample (sys-ms/sample) at the default interval.
func BenchmarkFuncIdleSockets(b *testing.B) {
	idleLoopbackConns(b, 100)
	var sys float64
	samples := 0
	for i := 0; i < b.N; i++ {
		rep, err := Func(context.Background(), func(ctx context.Context) error {
			select {
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		sys += rep.SystemSeconds
		samples += rep.Samples + 2 // the baseline and the last sample are not counted
	}
	b.ReportMetric(1e3*sys/float64(samples), "sys-ms/sample")
	b.ReportMetric(sys/float64(b.N), "sys-s/call")
}

//go:build linux

package poller

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

type epoll struct {
	epfd    int
	wakefd  int
	raw     []unix.EpollEvent
	closed  atomic.Bool
	wakeBuf [8]byte
	// file is epfd registered with the Go runtime's own netpoller (an
	// epoll descriptor is readable while it has events ready). A Wait
	// that must block parks the goroutine there instead of blocking its
	// thread in epoll_wait: a thread blocked in a system call makes the
	// runtime's sysmon hand its P to another thread and wake it, two
	// context switches and futex calls per wait, which on a busy server
	// cost more than the wait itself.
	file *os.File
	rc   syscall.RawConn
}

func newPoller(park bool) (Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &epoll{epfd: epfd, wakefd: wfd, raw: make([]unix.EpollEvent, MaxEvents)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}); err != nil {
		unix.Close(wfd)
		unix.Close(epfd)
		return nil, err
	}
	if park && unix.SetNonblock(epfd, true) == nil {
		p.file = os.NewFile(uintptr(epfd), "braid-epoll")
		if rc, err := p.file.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	return p, nil
}

// epollWaitNow polls without blocking; it never blocks, so it is a raw
// system call.
func (p *epoll) epollWaitNow(raw []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd), uintptr(unsafe.Pointer(&raw[0])), uintptr(len(raw)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// waitParked waits up to timeoutNs (< 0: no limit) for events by parking
// the goroutine in the runtime's netpoller on epfd, then collects them.
func (p *epoll) waitParked(raw []unix.EpollEvent, timeoutNs int64) (int, error) {
	if timeoutNs >= 0 {
		p.file.SetReadDeadline(time.Now().Add(time.Duration(timeoutNs)))
	} else {
		p.file.SetReadDeadline(time.Time{})
	}
	n := 0
	var werr error
	err := p.rc.Read(func(uintptr) bool {
		n, werr = p.epollWaitNow(raw)
		if werr == unix.EINTR {
			n, werr = 0, nil
		}
		return n > 0 || werr != nil
	})
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	if err == nil {
		err = werr
	}
	return n, err
}

func toEpoll(ev Events) uint32 {
	var e uint32
	if ev&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if ev&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (p *epoll) ctl(op, fd int, ev Events) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return unix.EpollCtl(p.epfd, op, fd, &unix.EpollEvent{Events: toEpoll(ev), Fd: int32(fd)})
}

func (p *epoll) Add(fd int, ev Events) error    { return p.ctl(unix.EPOLL_CTL_ADD, fd, ev) }
func (p *epoll) Modify(fd int, ev Events) error { return p.ctl(unix.EPOLL_CTL_MOD, fd, ev) }
func (p *epoll) Delete(fd int) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

func (p *epoll) Wait(events []Event, timeoutNs int64) (int, bool, error) {
	if p.closed.Load() {
		return 0, false, ErrClosed
	}
	ms := -1
	if timeoutNs >= 0 {
		// Round up so that a timer is never polled for early, which would
		// spin the loop until it is due.
		ms = int((timeoutNs + 999_999) / 1_000_000)
	}
	raw := p.raw
	if len(events) < len(raw) {
		raw = raw[:len(events)]
	}
	var n int
	var err error
	switch {
	case timeoutNs == 0:
		n, err = p.epollWaitNow(raw)
	case p.rc == nil:
		n, err = unix.EpollWait(p.epfd, raw, ms)
	default:
		// Most waits of a busy loop find events at once.
		if n, err = p.epollWaitNow(raw); err == nil && n == 0 {
			n, err = p.waitParked(raw, timeoutNs)
		}
	}
	if err == unix.EINTR {
		// A signal interrupted the wait: report no events and let the
		// caller recompute its timeout.
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	out, woken := 0, false
	for i := 0; i < n; i++ {
		e := raw[i]
		if int(e.Fd) == p.wakefd {
			woken = true
			// Drain the counter; level-triggered epoll would report it again.
			unix.Read(p.wakefd, p.wakeBuf[:])
			continue
		}
		var ev Events
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 {
			ev |= Readable
		}
		if e.Events&unix.EPOLLOUT != 0 {
			ev |= Writable
		}
		if e.Events&unix.EPOLLHUP != 0 {
			ev |= Hangup | Readable
		}
		if e.Events&unix.EPOLLERR != 0 {
			ev |= Error | Readable | Writable
		}
		events[out] = Event{FD: int(e.Fd), Events: ev}
		out++
	}
	return out, woken, nil
}

func (p *epoll) Wake() error {
	if p.closed.Load() {
		return ErrClosed
	}
	one := uint64(1)
	_, err := unix.Write(p.wakefd, (*[8]byte)(unsafe.Pointer(&one))[:])
	if err == unix.EAGAIN { // counter saturated: a wake-up is pending anyway
		return nil
	}
	return err
}

func (p *epoll) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	unix.Close(p.wakefd)
	if p.file != nil {
		return p.file.Close()
	}
	return unix.Close(p.epfd)
}

//go:build linux

package poller

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

type epoll struct {
	epfd    int
	wakefd  int
	raw     []unix.EpollEvent
	closed  atomic.Bool
	wakeBuf [8]byte
}

func newPoller() (Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &epoll{epfd: epfd, wakefd: wfd, raw: make([]unix.EpollEvent, 128)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}); err != nil {
		unix.Close(wfd)
		unix.Close(epfd)
		return nil, err
	}
	return p, nil
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
	n, err := unix.EpollWait(p.epfd, raw, ms)
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
	return unix.Close(p.epfd)
}

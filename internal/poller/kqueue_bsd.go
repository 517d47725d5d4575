//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package poller

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// kqueue is the poller of macOS and the BSDs. Wake-ups go through a
// non-blocking pipe, which every one of them has.
type kqueue struct {
	kq     int
	wr, rd int
	raw    []unix.Kevent_t
	closed atomic.Bool
	drain  [64]byte
}

func newPoller(bool) (Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(kq)
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		unix.Close(kq)
		return nil, err
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			unix.Close(kq)
			return nil, err
		}
	}
	p := &kqueue{kq: kq, rd: fds[0], wr: fds[1], raw: make([]unix.Kevent_t, MaxEvents)}
	if err := p.change(p.rd, unix.EVFILT_READ, unix.EV_ADD); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *kqueue) change(fd int, filter int16, flags uint16) error {
	var ev unix.Kevent_t
	unix.SetKevent(&ev, fd, int(filter), int(flags))
	_, err := unix.Kevent(p.kq, []unix.Kevent_t{ev}, nil, nil)
	return err
}

func (p *kqueue) set(fd int, ev Events, add bool) error {
	if p.closed.Load() {
		return ErrClosed
	}
	rf, wf := uint16(unix.EV_DELETE), uint16(unix.EV_DELETE)
	if ev&Readable != 0 {
		rf = unix.EV_ADD
	}
	if ev&Writable != 0 {
		wf = unix.EV_ADD
	}
	if err := p.change(fd, unix.EVFILT_READ, rf); err != nil && !(rf == unix.EV_DELETE && err == unix.ENOENT) {
		return err
	}
	if err := p.change(fd, unix.EVFILT_WRITE, wf); err != nil && !(wf == unix.EV_DELETE && err == unix.ENOENT) {
		return err
	}
	return nil
}

func (p *kqueue) Add(fd int, ev Events) error    { return p.set(fd, ev, true) }
func (p *kqueue) Modify(fd int, ev Events) error { return p.set(fd, ev, false) }
func (p *kqueue) Delete(fd int) error            { return p.set(fd, 0, false) }

func (p *kqueue) Wait(events []Event, timeoutNs int64) (int, bool, error) {
	if p.closed.Load() {
		return 0, false, ErrClosed
	}
	var ts *unix.Timespec
	if timeoutNs >= 0 {
		t := unix.NsecToTimespec(timeoutNs)
		ts = &t
	}
	raw := p.raw
	if len(events) < len(raw) {
		raw = raw[:len(events)]
	}
	n, err := unix.Kevent(p.kq, nil, raw, ts)
	if err == unix.EINTR {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	out, woken := 0, false
	for i := 0; i < n; i++ {
		e := raw[i]
		fd := int(e.Ident)
		if fd == p.rd {
			woken = true
			for {
				if m, _ := unix.Read(p.rd, p.drain[:]); m <= 0 {
					break
				}
			}
			continue
		}
		var ev Events
		switch e.Filter {
		case unix.EVFILT_READ:
			ev = Readable
		case unix.EVFILT_WRITE:
			ev = Writable
		}
		if e.Flags&unix.EV_EOF != 0 {
			ev |= Hangup
		}
		if e.Flags&unix.EV_ERROR != 0 {
			ev |= Error
		}
		events[out] = Event{FD: fd, Events: ev}
		out++
	}
	return out, woken, nil
}

func (p *kqueue) Wake() error {
	if p.closed.Load() {
		return ErrClosed
	}
	_, err := unix.Write(p.wr, []byte{1})
	if err == unix.EAGAIN {
		return nil
	}
	return err
}

func (p *kqueue) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	unix.Close(p.rd)
	unix.Close(p.wr)
	return unix.Close(p.kq)
}

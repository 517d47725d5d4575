package aio

import (
	"fmt"

	"github.com/braid-go/braid/internal/poller"
)

// fdWatch is a descriptor registered with the loop's poller and the
// callback that handles its readiness. The I/O layer builds transports on
// it.
type fdWatch struct {
	fd     int
	events poller.Events
	cb     func(poller.Events)
}

// watchFD registers fd for events; cb runs on the loop when it is ready
// (level-triggered). A second call for the same fd changes the events and
// the callback. Loop-only.
func (l *Loop) watchFD(fd int, events poller.Events, cb func(poller.Events)) error {
	if l.closed.Load() {
		return ErrLoopClosed
	}
	if l.fds == nil {
		l.fds = make(map[int]*fdWatch)
	}
	if w, ok := l.fds[fd]; ok {
		if err := l.poller.Modify(fd, events); err != nil {
			return fmt.Errorf("aio: watching fd %d: %w", fd, err)
		}
		w.events, w.cb = events, cb
		return nil
	}
	if err := l.poller.Add(fd, events); err != nil {
		return fmt.Errorf("aio: watching fd %d: %w", fd, err)
	}
	l.fds[fd] = &fdWatch{fd: fd, events: events, cb: cb}
	return nil
}

// unwatchFD stops watching fd. Loop-only.
func (l *Loop) unwatchFD(fd int) error {
	if _, ok := l.fds[fd]; !ok {
		return nil
	}
	delete(l.fds, fd)
	return l.poller.Delete(fd)
}

func (l *Loop) dispatchFD(ev poller.Event) {
	w, ok := l.fds[ev.FD]
	if !ok {
		return
	}
	cb := w.cb
	l.ready.push(readyItem{fn: func() { cb(ev.Events) }})
}

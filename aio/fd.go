package aio

import (
	"fmt"

	"github.com/braid-go/braid/internal/poller"
)

// fdWatch is a descriptor registered with the loop's poller and the
// callback that handles its readiness. The I/O layer builds transports on
// it: a transport embeds its fdWatch, so that registering costs no
// allocation beyond the transport itself.
//
// Dispatch allocates nothing: the poller's events for a descriptor are
// merged into pending and the watch's own fire function (made once, at
// registration) is pushed on the ready queue, at most once per iteration.
type fdWatch struct {
	fd      int
	events  poller.Events // the events asked for
	cb      func(poller.Events)
	pending poller.Events // events reported and not yet handled
	queued  bool          // fire is on the ready queue
	dead    bool          // unwatched: fire must not call cb
	// registered: the poller knows the descriptor. A watch asking for no
	// events is taken out of the poller, because epoll reports a hang-up
	// even to a descriptor that asks for nothing, which would spin the
	// loop on a connection whose reading is paused.
	registered bool
	fire       func()
	owner      fdOwner // what the loop's shutdown closes
}

// fdOwner is what owns a watched descriptor: at the loop's shutdown,
// whatever is still open is closed with shutdownNow.
type fdOwner interface{ shutdownNow() }

// fdTable maps the loop's watched descriptors to their watches. It is a
// slice indexed by descriptor number: the kernel hands out the lowest free
// number, so the table stays as dense as the set of open descriptors, and
// the lookup that every poller event makes is one index, not a hash.
type fdTable struct {
	w []*fdWatch
}

func (t *fdTable) get(fd int) *fdWatch {
	if uint(fd) < uint(len(t.w)) {
		return t.w[fd]
	}
	return nil
}

func (t *fdTable) set(fd int, w *fdWatch) {
	if fd >= len(t.w) {
		t.w = append(t.w, make([]*fdWatch, fd+1-len(t.w)+len(t.w)/2)...)
	}
	t.w[fd] = w
}

func (t *fdTable) delete(fd int) {
	if uint(fd) < uint(len(t.w)) {
		t.w[fd] = nil
	}
}

// loopIO is the I/O layer's state of one loop.
type loopIO struct {
	buf   []byte     // the read buffer every transport of the loop shares
	live  int        // transports open
	procs []*Process // child processes not collected yet
	sig   *signalState
}

func (io *loopIO) readBuf() []byte {
	if io.buf == nil {
		io.buf = make([]byte, readBufSize)
	}
	return io.buf
}

// ioState returns the loop's I/O state, making it on first use: then it
// also arranges for Run's shutdown to close every descriptor still open
// (servers, connections, pipes), after the tasks have ended. Loop-only.
func (l *Loop) ioState() *loopIO {
	if l.io == nil {
		l.io = &loopIO{}
		l.OnShutdown(l.shutdownIO)
	}
	return l.io
}

// shutdownIO closes every descriptor the loop still owns.
func (l *Loop) shutdownIO() {
	var owners []fdOwner
	for _, w := range l.fds.w {
		if w != nil && w.owner != nil {
			owners = append(owners, w.owner)
		}
	}
	for _, o := range owners {
		o.shutdownNow()
	}
	io := l.io
	for _, p := range append([]*Process(nil), io.procs...) {
		p.shutdownNow()
	}
	io.procs = nil
	if io.sig != nil {
		io.sig.stop()
		io.sig = nil
	}
}

// run hands the pending events to the callback; it is the ready-queue
// item of the watch.
func (w *fdWatch) run() {
	ev := w.pending
	w.pending, w.queued = 0, false
	if w.dead || ev == 0 {
		return
	}
	w.cb(ev)
}

// watchFD registers fd for events; cb runs on the loop when it is ready
// (level-triggered). A second call for the same fd changes the events and
// the callback. Loop-only.
func (l *Loop) watchFD(fd int, events poller.Events, cb func(poller.Events)) error {
	if w := l.fds.get(fd); w != nil {
		w.cb = cb
		return l.setInterest(w, events)
	}
	return l.addWatch(&fdWatch{fd: fd}, events, cb)
}

// addWatch registers w (whose fd is set) for events. Loop-only.
func (l *Loop) addWatch(w *fdWatch, events poller.Events, cb func(poller.Events)) error {
	if l.closed.Load() {
		return ErrLoopClosed
	}
	if w.fd < 0 {
		return fmt.Errorf("aio: cannot watch fd %d", w.fd)
	}
	if old := l.fds.get(w.fd); old != nil && old != w {
		return fmt.Errorf("aio: fd %d is already watched by the loop", w.fd)
	}
	w.cb, w.dead, w.events, w.registered = cb, false, 0, false
	if w.fire == nil {
		w.fire = w.run
	}
	if err := l.setInterest(w, events); err != nil {
		return err
	}
	l.fds.set(w.fd, w)
	return nil
}

// setInterest changes the events a watch asks for; it makes no system
// call when they do not change. Loop-only.
func (l *Loop) setInterest(w *fdWatch, events poller.Events) error {
	if w.registered && w.events == events {
		return nil
	}
	var err error
	switch {
	case events == 0:
		if w.registered {
			err = l.poller.Delete(w.fd)
			w.registered = false
		}
	case !w.registered:
		err = l.poller.Add(w.fd, events)
		w.registered = err == nil
	default:
		err = l.poller.Modify(w.fd, events)
	}
	if err != nil {
		return fmt.Errorf("aio: watching fd %d: %w", w.fd, err)
	}
	w.events = events
	return nil
}

// unwatchFD stops watching fd. Loop-only.
func (l *Loop) unwatchFD(fd int) error {
	w := l.fds.get(fd)
	if w == nil {
		return nil
	}
	return l.removeWatch(w)
}

// removeWatch stops watching w's descriptor. Events already reported for
// it are dropped. Call it before closing the descriptor. Loop-only.
func (l *Loop) removeWatch(w *fdWatch) error {
	if l.fds.get(w.fd) != w {
		return nil
	}
	l.fds.delete(w.fd)
	w.dead = true
	w.pending = 0
	if !w.registered || l.closed.Load() {
		w.registered = false
		return nil
	}
	w.registered = false
	return l.poller.Delete(w.fd)
}

func (l *Loop) dispatchFD(ev poller.Event) {
	w := l.fds.get(ev.FD)
	if w == nil {
		return
	}
	w.pending |= ev.Events
	if !w.queued {
		w.queued = true
		l.ready.Push(readyItem{fn: w.fire})
	}
}

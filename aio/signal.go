package aio

import (
	"errors"
	"os"
	"os/signal"
	"sync"
)

// signalState forwards the process's signals to one loop's handlers.
type signalState struct {
	l        *Loop
	handlers map[os.Signal]func()
	ch       chan os.Signal
	quit     chan struct{}
	done     sync.WaitGroup
}

// AddSignalHandler runs fn as a callback of the loop whenever the process
// receives sig (asyncio's loop.add_signal_handler). A second call for the
// same signal replaces the handler. The signal no longer has Go's default
// effect (for SIGINT and SIGTERM: exiting) while a handler is set; Run's
// own SIGINT handling goes on beside it. Handlers are removed when Run
// ends; with a loop of your own, remove them before Close. Loop-only.
func (l *Loop) AddSignalHandler(sig os.Signal, fn func()) error {
	if fn == nil {
		return errors.New("aio: AddSignalHandler needs a function")
	}
	if l.closed.Load() {
		return ErrLoopClosed
	}
	io := l.ioState()
	s := io.sig
	if s == nil {
		s = &signalState{l: l, handlers: map[os.Signal]func(){}, ch: make(chan os.Signal, 16), quit: make(chan struct{})}
		io.sig = s
		s.done.Add(1)
		go s.forward()
	}
	s.handlers[sig] = fn
	signal.Notify(s.ch, sig)
	return nil
}

// RemoveSignalHandler removes the handler of sig and gives the signal its
// default behaviour back. It reports whether there was a handler.
// Loop-only.
func (l *Loop) RemoveSignalHandler(sig os.Signal) bool {
	if l.io == nil || l.io.sig == nil {
		return false
	}
	s := l.io.sig
	if _, ok := s.handlers[sig]; !ok {
		return false
	}
	delete(s.handlers, sig)
	if len(s.handlers) == 0 {
		s.stop()
		l.io.sig = nil
		return true
	}
	// Stop only this loop's channel (signal.Reset would undo every
	// package's Notify, Run's SIGINT included), then ask again for the
	// signals that still have handlers.
	signal.Stop(s.ch)
	for other := range s.handlers {
		signal.Notify(s.ch, other)
	}
	return true
}

// forward is the one goroutine per loop that receives signals and hands
// them to the loop.
func (s *signalState) forward() {
	defer s.done.Done()
	for {
		select {
		case sig := <-s.ch:
			_ = s.l.CallSoonThreadsafe(func() {
				if fn := s.handlers[sig]; fn != nil {
					fn()
				}
			})
		case <-s.quit:
			return
		}
	}
}

// stop ends the forwarding; signals nobody else asked for get their
// default behaviour back.
func (s *signalState) stop() {
	signal.Stop(s.ch)
	s.handlers = map[os.Signal]func(){}
	close(s.quit)
	s.done.Wait()
}

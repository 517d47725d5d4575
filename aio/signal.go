package aio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
)

// signalState forwards the process's signals to one loop's handlers.
type signalState struct {
	l        *Loop
	handlers map[os.Signal]func()
	gen      map[os.Signal]uint64 // the number of each signal's handler (handlerSeq), for NotifyContext's stop
	ch       chan os.Signal
	quit     chan struct{}
	done     sync.WaitGroup
}

// AddSignalHandler runs fn as a callback of the loop whenever the process
// receives sig (asyncio's loop.add_signal_handler). A second call for the
// same signal replaces the handler. The signal no longer has Go's default
// effect (for SIGINT and SIGTERM: exiting) while a handler is set. A
// handler of SIGINT (os.Interrupt) also replaces Run's own handling while
// it is set, as in asyncio: the interrupt no longer cancels the main task,
// the handler decides what it does (see NotifyContext). Handlers are
// removed when Run ends; with a loop of your own, remove them before
// Close. Loop-only.
func (l *Loop) AddSignalHandler(sig os.Signal, fn func()) error {
	_, err := l.addSignalHandler(sig, fn)
	return err
}

// addSignalHandler is AddSignalHandler; it returns the handler's number
// among those set for sig.
func (l *Loop) addSignalHandler(sig os.Signal, fn func()) (uint64, error) {
	if fn == nil {
		return 0, errors.New("aio: AddSignalHandler needs a function")
	}
	if l.closed.Load() {
		return 0, ErrLoopClosed
	}
	io := l.ioState()
	s := io.sig
	if s == nil {
		s = &signalState{l: l, handlers: map[os.Signal]func(){}, gen: map[os.Signal]uint64{}, ch: make(chan os.Signal, 16), quit: make(chan struct{})}
		io.sig = s
		s.done.Add(1)
		go s.forward()
	}
	s.handlers[sig] = fn
	s.gen[sig] = handlerSeq.Add(1)
	s.notify(sig)
	return s.gen[sig], nil
}

// handlerSeq numbers the signal handlers set, in every loop.
var handlerSeq atomic.Uint64

// SignalError is the cause (context.Cause) of a context of NotifyContext
// ended by a signal. It matches context.Canceled with errors.Is.
type SignalError struct {
	// Signal is the signal that arrived.
	Signal os.Signal
}

// Error names the signal.
func (e *SignalError) Error() string { return fmt.Sprintf("aio: received signal %v", e.Signal) }

// Is matches context.Canceled.
func (e *SignalError) Is(target error) bool { return target == context.Canceled }

// NotifyContext returns a copy of ctx that is cancelled when the process
// receives one of sigs (os.Interrupt if none is given), when stop is
// called, or when ctx is done: signal.NotifyContext for a loop. The
// signals are handled by the loop of ctx (AddSignalHandler) until the
// first of them arrives or stop is called; meanwhile they lose Go's
// default effect and SIGINT no longer cancels Run's main task, so main
// decides how to shut down. This is the graceful shutdown of a server,
// asyncio's loop.add_signal_handler(SIGINT, stop_event.set):
//
//	err := aio.Run(ctx, func(ctx context.Context) error {
//		srv, err := aio.StartServer(ctx, "tcp", addr, handle)
//		if err != nil {
//			return err
//		}
//		sctx, stop := aio.NotifyContext(ctx, os.Interrupt)
//		defer stop()
//		srv.ServeForever(sctx) // until Ctrl-C; ctx and the handlers go on
//		dctx, tm := aio.WithTimeout(ctx, 5*time.Second)
//		defer tm.Stop()
//		return srv.Shutdown(dctx) // Run returns nil after a clean shutdown
//	})
//
// Once a signal arrived, the handlers are removed: a second SIGINT during
// the shutdown gets Run's handling (it cancels the main task and Run
// returns ErrInterrupted), a third Go's default (the program exits). The
// context's cause (context.Cause) is a *SignalError naming the signal.
// A later AddSignalHandler or NotifyContext for the same signal replaces
// this one's handler, and stop then leaves that one alone. NotifyContext
// must be called from a task or callback of the loop of ctx; it panics
// when ctx carries no loop.
func NotifyContext(ctx context.Context, sigs ...os.Signal) (context.Context, context.CancelFunc) {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	mustOnLoop(l, "NotifyContext")
	if len(sigs) == 0 {
		sigs = []os.Signal{os.Interrupt}
	}
	nctx, cancel := context.WithCancelCause(ctx)
	gens := make([]uint64, len(sigs))
	removed := false
	remove := func() {
		if removed {
			return
		}
		removed = true
		for i, sig := range sigs {
			if l.io != nil && l.io.sig != nil && l.io.sig.gen[sig] == gens[i] {
				l.RemoveSignalHandler(sig)
			}
		}
	}
	for i, sig := range sigs {
		gen, err := l.addSignalHandler(sig, func() {
			remove()
			cancel(&SignalError{Signal: sig})
		})
		if err != nil {
			remove()
			cancel(err)
			return nctx, func() {}
		}
		gens[i] = gen
	}
	stop := func() {
		cancel(context.Canceled)
		if l.closed.Load() {
			return
		}
		if onLoop(l) {
			remove()
		} else {
			_ = l.CallSoonThreadsafe(remove)
		}
	}
	return nctx, stop
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
		s.notify(other)
	}
	return true
}

// notify asks for sig on the loop's channel, except SIGINT while Run
// receives it: Run hands it to the handler, so that one interrupt is
// either the handler's or Run's, never both.
func (s *signalState) notify(sig os.Signal) {
	if sig == os.Interrupt && s.l.runSigint {
		return
	}
	signal.Notify(s.ch, sig)
}

// signalHandler returns the loop's handler of sig, or nil. Loop-only.
func (l *Loop) signalHandler(sig os.Signal) func() {
	if l.io == nil || l.io.sig == nil {
		return nil
	}
	return l.io.sig.handlers[sig]
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

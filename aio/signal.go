package aio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
)

// signalState forwards the process's signals to one loop's handlers.
type signalState struct {
	l        *Loop
	handlers map[os.Signal]func()       // AddSignalHandler's: one per signal
	ctxs     map[os.Signal][]*notifyCtx // NotifyContext's: each one is notified
	ch       chan os.Signal
	quit     chan struct{}
	done     sync.WaitGroup
	stopped  bool
}

// notifyCtx is a context of NotifyContext waiting for its signals.
type notifyCtx struct {
	sigs    []os.Signal
	cancel  context.CancelCauseFunc
	removed bool
}

// signals returns the loop's signal state, made on first use.
func (l *Loop) signals() (*signalState, error) {
	if l.closed.Load() {
		return nil, ErrLoopClosed
	}
	io := l.ioState()
	s := io.sig
	if s == nil {
		s = &signalState{l: l, handlers: map[os.Signal]func(){}, ctxs: map[os.Signal][]*notifyCtx{}, ch: make(chan os.Signal, 16), quit: make(chan struct{})}
		io.sig = s
		s.done.Add(1)
		go s.forward()
	}
	return s, nil
}

// AddSignalHandler runs fn as a callback of the loop whenever the process
// receives sig (asyncio's loop.add_signal_handler). A second call for the
// same signal replaces the handler. The signal no longer has Go's default
// effect (for SIGINT and SIGTERM: exiting) while a handler is set. A
// handler of SIGINT (os.Interrupt) also replaces Run's own handling while
// it is set, as in asyncio: the interrupt no longer cancels the main task,
// the handler decides what it does (see NotifyContext, whose contexts are
// notified beside the handler). Handlers are removed when Run ends; with a
// loop of your own, remove them before Close. Loop-only: from a goroutine
// that does not run the loop it returns an error matching ErrOtherLoop or
// ErrNotInTask.
func (l *Loop) AddSignalHandler(sig os.Signal, fn func()) error {
	if fn == nil {
		return errors.New("aio: AddSignalHandler needs a function")
	}
	if err := loopCheck(l, "Loop.AddSignalHandler"); err != nil {
		return err
	}
	s, err := l.signals()
	if err != nil {
		return err
	}
	s.handlers[sig] = fn
	s.notify(sig)
	return nil
}

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
// signals are handled by the loop of ctx until the first of them arrives,
// stop is called or ctx is done; meanwhile they lose Go's default effect
// and SIGINT no longer cancels Run's main task, so main decides how to
// shut down. This is the graceful shutdown of a server, asyncio's
// loop.add_signal_handler(SIGINT, stop_event.set):
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
// Once a signal arrived, the context no longer holds it: unless another
// context or handler does, a second SIGINT during the shutdown gets Run's
// handling (it cancels the main task and Run returns ErrInterrupted), a
// third Go's default (the program exits). (Go's signal.NotifyContext
// keeps the signal until stop; here a shutdown that hangs can still be
// interrupted.) The context's cause (context.Cause) is a *SignalError
// naming the signal.
//
// As with signal.NotifyContext, every context of NotifyContext waiting for
// a signal is cancelled when it arrives, however they nest, and the
// loop's handler of that signal (AddSignalHandler) runs too; stopping one
// leaves the others as they are. NotifyContext must be called from a task
// or callback of the loop of ctx (or while that loop does not run); it
// panics when ctx carries no loop. stop may be called from any goroutine,
// more than once.
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
	s, err := l.signals()
	if err != nil {
		cancel(err)
		return nctx, func() { cancel(context.Canceled) }
	}
	n := &notifyCtx{sigs: slices.Clone(sigs), cancel: cancel}
	for _, sig := range n.sigs {
		if !slices.Contains(s.ctxs[sig], n) {
			s.ctxs[sig] = append(s.ctxs[sig], n)
		}
		s.notify(sig)
	}
	// When ctx ends, the signals are given back: a context that can no
	// longer be cancelled must not swallow Ctrl-C.
	unwatch := context.AfterFunc(nctx, func() { _ = l.CallSoonThreadsafe(func() { s.removeCtx(n) }) })
	stop := func() {
		unwatch()
		cancel(context.Canceled)
		if onLoop(l) {
			s.removeCtx(n)
		} else {
			_ = l.CallSoonThreadsafe(func() { s.removeCtx(n) })
		}
	}
	return nctx, stop
}

// removeCtx stops n's waiting for its signals; a signal nobody waits for
// any more gets its default behaviour back (Run's, for SIGINT in Run).
// Loop-only.
func (s *signalState) removeCtx(n *notifyCtx) {
	if n.removed {
		return
	}
	n.removed = true
	if s.stopped {
		return
	}
	freed := false
	for _, sig := range n.sigs {
		rest := slices.DeleteFunc(s.ctxs[sig], func(o *notifyCtx) bool { return o == n }) // in place: dispatch iterates a copy
		if len(rest) > 0 {
			s.ctxs[sig] = rest
			continue
		}
		delete(s.ctxs, sig)
		if s.handlers[sig] == nil {
			freed = true
		}
	}
	if freed {
		s.resubscribe()
	}
}

// RemoveSignalHandler removes the handler of sig and gives the signal its
// default behaviour back (unless a context of NotifyContext still waits
// for it). It reports whether there was a handler. Loop-only: from a
// goroutine that does not run the loop it panics with an error matching
// ErrOtherLoop or ErrNotInTask and changes nothing.
func (l *Loop) RemoveSignalHandler(sig os.Signal) bool {
	mustOnLoop(l, "Loop.RemoveSignalHandler")
	if l.io == nil || l.io.sig == nil {
		return false
	}
	s := l.io.sig
	if _, ok := s.handlers[sig]; !ok {
		return false
	}
	delete(s.handlers, sig)
	if len(s.ctxs[sig]) == 0 {
		s.resubscribe()
	}
	return true
}

// resubscribe asks again for the signals that still have a handler or a
// context, after one lost its last; with none left, it stops the
// forwarding.
func (s *signalState) resubscribe() {
	if len(s.handlers) == 0 && len(s.ctxs) == 0 {
		s.stop()
		if s.l.io != nil && s.l.io.sig == s {
			s.l.io.sig = nil
		}
		return
	}
	// Stop only this loop's channel (signal.Reset would undo every
	// package's Notify, Run's SIGINT included), then ask again for the
	// signals that are still wanted.
	signal.Stop(s.ch)
	for sig := range s.handlers {
		s.notify(sig)
	}
	for sig := range s.ctxs {
		s.notify(sig)
	}
}

// notify asks for sig on the loop's channel, except SIGINT while Run
// receives it: Run hands it to the loop (takeSignal), so that one
// interrupt is either the loop's or Run's, never both.
func (s *signalState) notify(sig os.Signal) {
	if sig == os.Interrupt && s.l.runSigint {
		return
	}
	signal.Notify(s.ch, sig)
}

// dispatch hands sig to the contexts waiting for it and to the handler,
// and reports whether there was any. Loop-only.
func (s *signalState) dispatch(sig os.Signal) bool {
	ctxs, fn := slices.Clone(s.ctxs[sig]), s.handlers[sig]
	if len(ctxs) == 0 && fn == nil {
		return false
	}
	for _, n := range ctxs {
		if !n.removed {
			s.removeCtx(n)
			n.cancel(&SignalError{Signal: sig})
		}
	}
	if fn != nil {
		fn()
	}
	return true
}

// takeSignal hands sig to the loop's handlers, if it has any, and reports
// whether it did. Loop-only.
func (l *Loop) takeSignal(sig os.Signal) bool {
	return l.io != nil && l.io.sig != nil && l.io.sig.dispatch(sig)
}

// forward is the one goroutine per loop that receives signals and hands
// them to the loop.
func (s *signalState) forward() {
	defer s.done.Done()
	for {
		select {
		case sig := <-s.ch:
			_ = s.l.CallSoonThreadsafe(func() { s.dispatch(sig) })
		case <-s.quit:
			return
		}
	}
}

// stop ends the forwarding; signals nobody else asked for get their
// default behaviour back. It is idempotent.
func (s *signalState) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	signal.Stop(s.ch)
	s.handlers = map[os.Signal]func(){}
	s.ctxs = map[os.Signal][]*notifyCtx{}
	close(s.quit)
	s.done.Wait()
}

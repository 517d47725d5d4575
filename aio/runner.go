package aio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
)

// interruptedError is the error of Run after SIGINT. It matches
// context.Canceled with errors.Is.
type interruptedError struct{}

func (interruptedError) Error() string        { return "aio: interrupted by SIGINT" }
func (interruptedError) Is(target error) bool { return target == context.Canceled }

// ErrInterrupted is returned by Run when SIGINT cancelled the main task
// and the main task ended cancelled or failed.
var ErrInterrupted error = interruptedError{}

// Run is the analog of asyncio.run(main()): it creates a loop, runs main
// as its main task until it returns, then cancels every task still alive
// and waits for them, logs errors that nobody retrieved, shuts down what
// the loop owns, closes the loop, and returns main's error. No goroutine
// of the loop is left behind.
//
// SIGINT while Run runs cancels the main task (asyncio's
// KeyboardInterrupt); if main then ends with its context's error, Run
// returns an error matching both ErrInterrupted and context.Canceled; if
// it returns another error, an error matching ErrInterrupted that wraps
// it; if it recovers and returns nil, Run returns nil, as asyncio.run
// returns normally when main swallowed the cancellation. A second SIGINT
// gets Go's default behaviour (the program exits). While the loop has a
// handler of SIGINT (Loop.AddSignalHandler, NotifyContext), the handler
// takes the interrupt instead and the main task is not cancelled: that is
// how a program shuts down gracefully on Ctrl-C and returns nil (see
// NotifyContext). Cancelling ctx cancels the main task too.
func Run(ctx context.Context, main func(ctx context.Context) error, opts ...Option) (err error) {
	if insideRunningLoop() {
		return ErrRunInLoop
	}
	l, err := NewLoop(opts...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	parent := newLoopCtx(l, ctx, nil)
	mainTask := Spawn(parent, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, main(ctx)
	}, WithName("main"))

	interrupted := false
	sig := make(chan os.Signal, 1)
	quit := make(chan struct{})
	signal.Notify(sig, os.Interrupt)
	l.runSigint = true
	onInterrupt := func() {
		if fn := l.signalHandler(os.Interrupt); fn != nil {
			fn() // asyncio: add_signal_handler(SIGINT) replaces the runner's handler
			return
		}
		if interrupted || !l.runSigint {
			return
		}
		interrupted = true
		l.runSigint = false
		signal.Stop(sig) // the next one gets Go's default: exiting
		mainTask.Cancel()
	}
	watcher := make(chan struct{})
	go func() {
		defer close(watcher)
		for {
			select {
			case <-sig:
				l.CallSoonThreadsafe(onInterrupt)
			case <-quit:
				return
			}
		}
	}()
	stopSignals := func() {
		signal.Stop(sig)
		close(quit)
		<-watcher
	}

	runErr := l.RunUntilComplete(mainTask)
	stopSignals()
	l.runSigint = false
	shutErr := l.cancelAll()
	parent.cancel(context.Canceled)
	l.runShutdownHooks()
	if runErr == nil {
		runErr = shutErr
	}
	if interrupted && runErr != nil {
		if isCancel(runErr) {
			return ErrInterrupted
		}
		return fmt.Errorf("%w (main returned: %w)", ErrInterrupted, runErr)
	}
	return runErr
}

// cancelAll cancels every task still alive and runs the loop until they
// have ended, as asyncio.run does after main.
func (l *Loop) cancelAll() error {
	if l.tasks.n == 0 {
		return nil
	}
	for t := l.tasks.head; t != nil; t = t.nextT {
		t.impl.Cancel()
	}
	return l.run(func() bool { return l.tasks.n == 0 })
}

// ErrRunInLoop is returned by Run called from a task or callback of a
// running loop: the nested loop would block the outer one.
var ErrRunInLoop = errors.New("aio: Run cannot be called from a running event loop; spawn a task or await instead")

// insideRunningLoop reports whether the caller is a task or a callback
// of a running loop.
func insideRunningLoop() bool { return callerLoop(nil) != nil }

// OnShutdown registers fn to run when Run ends, after the tasks have been
// cancelled, or at Close, whichever comes first; the hooks run last
// registered first. The loop's own end goes through them: the I/O layer
// closing its descriptors, the default executor's shutdown, and, last,
// the report of task errors nobody retrieved. Loop-only.
func (l *Loop) OnShutdown(fn func()) { l.shutdownHooks = append(l.shutdownHooks, fn) }

func (l *Loop) runShutdownHooks() {
	hooks := l.shutdownHooks
	l.shutdownHooks = nil
	for i := len(hooks) - 1; i >= 0; i-- {
		hooks[i]()
	}
}

func stack() []byte { return debug.Stack() }

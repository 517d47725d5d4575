package aio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/poller"
	"github.com/braid-go/braid/internal/ring"
)

// Loop is a single-threaded event loop: a ready queue of callbacks, a
// timer heap and an OS poller (epoll on Linux, kqueue on macOS and the
// BSDs). Callbacks and task steps of one loop never run at the same time.
//
// Only CallSoonThreadsafe, Stop, IsRunning, IsClosed and Time are safe
// from goroutines other than the one running the loop. Every other method
// belongs to the loop: call it from a callback or a task of the loop, or
// before the loop runs.
type Loop struct {
	poller poller.Poller
	events []poller.Event

	ready  readyQueue
	timers timerHeap

	// Thread-safe submission: a burst of CallSoonThreadsafe calls costs one
	// write to the poller's wake-up descriptor.
	tsMu        sync.Mutex
	tsQueue     []func()
	tsSpare     []func()
	wakePending atomic.Bool

	running  atomic.Bool
	stopping atomic.Bool
	closed   atomic.Bool
	g        atomic.Uintptr // the goroutine running the loop
	current  atomic.Pointer[taskCore]

	epoch   time.Time
	virtual bool
	vnow    int64
	// external counts operations in flight outside the loop (threads,
	// processes) whose completion will arrive through CallSoonThreadsafe;
	// the virtual clock does not jump while there are any.
	external int

	tasks    taskList
	taskSeq  uint32
	cbSeq    uint64
	root     *loopCtx
	cfg      config
	failures map[uintptr]*errReport // see trackFailure

	fds fdTable
	io  *loopIO // the I/O layer's state, made on first use (fd.go)

	shutdownHooks []func()
	// runSigint: Run receives SIGINT for this loop and hands it to the
	// loop's SIGINT handler, if any, or cancels the main task.
	runSigint bool

	idle []*coro // idle coroutines, see coro.go

	foreign map[*foreignWatch]struct{} // with a virtual clock, see watchForeign
	busy    uint32                     // busy iterations in a row (see runOnce)
	gcSeen  uint64

	coroBusy int // coroutines running a task
	coroPeak int // most coroutines busy at once since the last trim
	// coroPrevPeak is coroPeak of the interval before.
	coroPrevPeak int

	defaultExec     futures.Executor
	ownsDefaultExec bool
}

type config struct {
	virtual bool
	busy    bool
	debug   bool
	slow    time.Duration
	logger  *slog.Logger
}

// Option configures a loop.
type Option func(*config)

// WithVirtualClock gives the loop a virtual clock: whenever no callback is
// ready and nothing outside the loop is pending, the clock jumps to the
// next timer instead of waiting for it (trio's autojump clock). An hour of
// Sleep takes microseconds, and timeouts become deterministic. Meant for
// tests.
func WithVirtualClock() Option { return func(c *config) { c.virtual = true } }

// WithBusyPoll makes the loop poll without ever sleeping: when nothing is
// ready it asks the poller again at once instead of waiting (timers still
// fire when due). It keeps a CPU busy all the time, for a loop that owns
// a core and answers sooner for it: no wake-up on the way in, and a peer
// sending to it never has to wake it (on loopback that wake-up is paid
// inside the sender's system call). Its poller is not registered with
// the Go runtime's netpoller (poller.NewBusy), since it never parks
// there: every event on a registered one also runs the kernel's callback
// for the runtime's epoll, in the sender's context. A virtual clock
// ignores it.
func WithBusyPoll() Option { return func(c *config) { c.busy = true } }

// WithDebug turns debug mode on or off. Debug mode logs every callback or
// task step that holds the loop longer than the slow-callback duration.
// It is also turned on by the environment variable BRAID_DEBUG=1.
func WithDebug(on bool) Option { return func(c *config) { c.debug = on } }

// WithSlowCallbackDuration sets how long a callback or task step may hold
// the loop before debug mode logs it (100 ms by default, as in asyncio).
func WithSlowCallbackDuration(d time.Duration) Option { return func(c *config) { c.slow = d } }

// WithLogger sets the logger for warnings (slow callbacks, errors nobody
// retrieved, panics in callbacks). The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Errors of the loop.
var (
	// ErrLoopClosed: the loop was closed; it cannot run or accept work.
	ErrLoopClosed = errors.New("aio: the event loop is closed")
	// ErrLoopRunning: Run was called on a loop that is already running.
	ErrLoopRunning = errors.New("aio: the event loop is already running")
)

// NewLoop creates an event loop. It owns an OS poller until Close.
func NewLoop(opts ...Option) (*Loop, error) {
	cfg := config{slow: 100 * time.Millisecond}
	if os.Getenv("BRAID_DEBUG") == "1" {
		cfg.debug = true
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	newPoller := poller.New
	if cfg.busy && !cfg.virtual {
		newPoller = poller.NewBusy // it never parks
	}
	p, err := newPoller()
	if err != nil {
		return nil, fmt.Errorf("aio: creating the poller: %w", err)
	}
	l := &Loop{
		poller:  p,
		events:  make([]poller.Event, poller.MaxEvents),
		epoch:   time.Now(),
		virtual: cfg.virtual,
		cfg:     cfg,
	}
	l.root = newRootCtx(l)
	// The loop's own end goes through the shutdown hooks, like the I/O
	// layer's: hooks run last registered first, so these two run after
	// every other, the unretrieved-error report last.
	l.OnShutdown(l.reportUnretrieved)
	l.OnShutdown(l.shutdownDefaultExecutor)
	gcSentinelOn.Do(armGCSentinel)
	l.gcSeen = gcEpoch.Load()
	return l, nil
}

// Context returns the loop's root context: it carries the loop, so that
// code in a loop callback can Spawn tasks with it. It is never cancelled
// before Close.
func (l *Loop) Context() context.Context { return l.root }

// Debug reports whether debug mode is on.
func (l *Loop) Debug() bool { return l.cfg.debug }

// Time returns the loop's current time. With a virtual clock it moves only
// when the loop jumps to a timer. Safe from any goroutine for a real clock;
// loop-only with a virtual clock.
func (l *Loop) Time() time.Time { return l.epoch.Add(time.Duration(l.now())) }

func (l *Loop) now() int64 {
	if l.virtual {
		return l.vnow
	}
	return int64(time.Since(l.epoch))
}

// IsRunning reports whether the loop is running. Safe from any goroutine.
func (l *Loop) IsRunning() bool { return l.running.Load() }

// IsClosed reports whether Close was called. Safe from any goroutine.
func (l *Loop) IsClosed() bool { return l.closed.Load() }

// Handle is a callback scheduled by CallSoon.
type Handle struct {
	fn        func()
	cancelled bool
}

// Cancel stops the callback from running if it has not run yet.
func (h *Handle) Cancel() { h.cancelled = true; h.fn = nil }

// Cancelled reports whether Cancel was called.
func (h *Handle) Cancelled() bool { return h.cancelled }

// CallSoon schedules fn to run on the next iteration of the loop, after
// the callbacks already scheduled (FIFO). Loop-only: from other goroutines
// use CallSoonThreadsafe.
func (l *Loop) CallSoon(fn func()) *Handle {
	h := &Handle{fn: fn}
	l.ready.Push(readyItem{h: h})
	return h
}

// soon is CallSoon without a handle, for braid's own callbacks.
func (l *Loop) soon(fn func()) { l.ready.Push(readyItem{fn: fn}) }

// CallLater schedules fn to run after d on the loop's clock (d <= 0 runs
// it on the next iteration after the ready callbacks). Loop-only.
func (l *Loop) CallLater(d time.Duration, fn func()) *Timer {
	if d < 0 {
		d = 0
	}
	return l.addTimer(l.now()+int64(d), fn)
}

// CallAt schedules fn to run at when on the loop's clock (see Time).
// Loop-only.
func (l *Loop) CallAt(when time.Time, fn func()) *Timer {
	return l.addTimer(int64(when.Sub(l.epoch)), fn)
}

func (l *Loop) addTimer(when int64, fn func()) *Timer {
	tm := &Timer{loop: l, fn: fn, when: when}
	l.timers.push(tm)
	return tm
}

// startTaskTimer arms t's own timer to wake it after d. A task has one
// such timer; arming it again replaces it.
func (l *Loop) startTaskTimer(t *taskCore, d time.Duration) {
	l.stopTaskTimer(t)
	t.timerSeq = l.timers.pushTask(l.now()+int64(d), t)
}

// stopTaskTimer disarms t's own timer if it is armed.
func (l *Loop) stopTaskTimer(t *taskCore) {
	if t.timerSeq != 0 {
		t.timerSeq = 0
		l.timers.cancelled++
		l.timers.maybeCompact()
	}
}

// CallSoonThreadsafe schedules fn to run on the loop and wakes the loop.
// It is safe from any goroutine, and it is the only way for other
// goroutines to reach the loop's state. It fails only when the loop is
// closed.
func (l *Loop) CallSoonThreadsafe(fn func()) error {
	l.tsMu.Lock()
	if l.closed.Load() {
		l.tsMu.Unlock()
		return ErrLoopClosed
	}
	l.tsQueue = append(l.tsQueue, fn)
	l.tsMu.Unlock()
	if l.wakePending.CompareAndSwap(false, true) {
		return l.poller.Wake()
	}
	return nil
}

// drainThreadsafe moves the callbacks submitted from other goroutines to
// the ready queue.
func (l *Loop) drainThreadsafe() {
	if !l.wakePending.Load() {
		return
	}
	l.wakePending.Store(false)
	l.tsMu.Lock()
	q := l.tsQueue
	l.tsQueue = l.tsSpare[:0]
	l.tsMu.Unlock()
	for i, fn := range q {
		l.ready.Push(readyItem{fn: fn})
		q[i] = nil
	}
	l.tsSpare = q[:0]
}

// Stop asks the running loop to return from Run after the callbacks that
// are ready now. Safe from any goroutine.
func (l *Loop) Stop() {
	l.stopping.Store(true)
	if !l.wakePending.Swap(true) {
		l.poller.Wake()
	}
}

// Run runs the loop until Stop. It returns ErrLoopRunning or
// ErrLoopClosed if it cannot start.
func (l *Loop) Run() error {
	return l.run(nil)
}

// RunUntilComplete runs the loop until w is done, then returns w's error.
func (l *Loop) RunUntilComplete(w Waitable) error {
	fc := w.core()
	if fc.loop != l {
		return ErrOtherLoop
	}
	if err := l.run(func() bool { return fc.state != statePending }); err != nil {
		return err
	}
	if fc.state == statePending {
		return errors.New("aio: the loop stopped before the future was done")
	}
	fc.retrieved()
	return fc.err
}

func (l *Loop) run(until func() bool) error {
	if l.closed.Load() {
		return ErrLoopClosed
	}
	if !l.running.CompareAndSwap(false, true) {
		return ErrLoopRunning
	}
	l.g.Store(getg())
	addRunning(l)
	defer func() {
		removeRunning(l)
		l.g.Store(0)
		l.stopping.Store(false)
		l.running.Store(false)
	}()
	for {
		if until != nil && until() {
			return nil
		}
		if l.stopping.Load() {
			return nil
		}
		if err := l.runOnce(); err != nil {
			return err
		}
	}
}

// runOnce is one iteration: poll for I/O (without blocking if callbacks
// are ready, else until the next timer), move due timers to the ready
// queue, then run exactly the callbacks that were ready at that moment;
// callbacks they schedule wait for the next iteration.
func (l *Loop) runOnce() error {
	if len(l.idle) > 0 && l.gcSeen != gcEpoch.Load() {
		// Give back idle coroutines after a collection even if no task is
		// spawned any more (a burst that is over).
		l.trimIdle()
	}
	timeout := int64(-1)
	next := l.timers.peek()
	var nextWhen int64
	if next != nil {
		nextWhen = next.when
	}
	if l.ready.Len() > 0 || l.stopping.Load() {
		timeout = 0
	} else if next != nil {
		timeout = nextWhen - l.now()
		if timeout < 0 {
			timeout = 0
		}
	}
	if timeout != 0 && l.cfg.busy && !l.virtual {
		// Busy polling: look and come back, never park.
		timeout = 0
		l.busy = 0
	} else if timeout == 0 && !l.stopping.Load() {
		// Callbacks are ready. Polling for I/O costs a system call; with
		// work queued, do it on one busy iteration in 16 (submissions from
		// other goroutines are seen through wakePending without it).
		l.busy++
		if l.busy&15 != 0 {
			goto polled
		}
	} else {
		l.busy = 0
	}
	if l.virtual && timeout != 0 {
		// Look without waiting; if nothing at all happens and nothing is
		// pending outside the loop, jump the clock to the next timer.
		if err := l.poll(0); err != nil {
			return err
		}
		l.drainThreadsafe()
		if l.ready.Len() == 0 && l.deliverForeign() {
			// A context from outside was cancelled: its tasks run first.
		} else if l.ready.Len() == 0 && next != nil && l.external == 0 && !l.wakePending.Load() {
			l.vnow = nextWhen
		} else if l.ready.Len() == 0 {
			if err := l.poll(-1); err != nil {
				return err
			}
		}
	} else if err := l.poll(timeout); err != nil {
		return err
	}
polled:
	l.drainThreadsafe()

	// Read the clock only when a timer could be due.
	for now := int64(-1); len(l.timers.s) > 0; {
		sl := l.timers.peek()
		if sl == nil {
			break
		}
		if now < 0 {
			now = l.now()
		}
		if sl.when > now {
			break
		}
		due := l.timers.pop()
		if due.task != nil {
			due.task.timerSeq = 0 // fired
			l.wake(due.task)
		} else {
			due.t.fired = true
			l.ready.Push(readyItem{fn: due.t.fn})
			due.t.fn = nil
		}
	}

	n := l.ready.Len()
	for i := 0; i < n; i++ {
		it, _ := l.ready.Pop()
		switch {
		case it.task != nil:
			l.step(it.task)
		case it.h != nil:
			if !it.h.cancelled {
				fn := it.h.fn
				it.h.fn = nil
				l.callback(fn)
			}
		default:
			l.callback(it.fn)
		}
	}
	return nil
}

func (l *Loop) poll(timeout int64) error {
	n, _, err := l.poller.Wait(l.events, timeout)
	if err != nil {
		return fmt.Errorf("aio: polling: %w", err)
	}
	for i := 0; i < n; i++ {
		l.dispatchFD(l.events[i])
	}
	return nil
}

// callback runs one callback; a panic is logged with its stack and the
// loop goes on, as asyncio does with an exception in a callback.
func (l *Loop) callback(fn func()) {
	if fn == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			l.cfg.logger.Error("aio: panic in a loop callback", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if l.cfg.debug {
		start := time.Now()
		fn()
		if d := time.Since(start); d >= l.cfg.slow {
			l.cfg.logger.Warn("aio: a callback held the event loop", "duration", d, "callback", fmt.Sprintf("%p", fn))
		}
		return
	}
	fn()
}

// Close releases the loop. Tasks still suspended are abandoned: their
// coroutines are resumed one last time with every wait failing with
// ErrLoopClosed so that their deferred calls run and no goroutine is left
// behind. Then what Run's shutdown would have released is released, for a
// loop that Run did not end: servers, connections and pipes still open
// are closed (their protocols get ConnectionLost), child processes still
// running are killed and reaped, signal handlers are removed. Errors of
// failed tasks that nobody retrieved are logged. Close fails with
// ErrLoopRunning on a running loop; a second Close does nothing.
func (l *Loop) Close() error {
	if l.running.Load() {
		return ErrLoopRunning
	}
	l.tsMu.Lock()
	already := l.closed.Swap(true)
	l.tsMu.Unlock()
	if already {
		return nil
	}
	l.g.Store(getg())
	for t := l.tasks.head; t != nil; {
		nx := t.nextT
		t.abandon()
		t = nx
	}
	l.runShutdownHooks() // none left if Run ended the loop
	l.stopIdle()
	l.g.Store(0)
	l.ready = readyQueue{}
	l.timers = timerHeap{}
	return l.poller.Close()
}

// readyQueue is the loop's FIFO of callbacks and task steps.
type readyQueue = ring.Ring[readyItem]

type readyItem struct {
	fn   func()
	task *taskCore
	h    *Handle
}

// runningLoops lists the loops that are running, so that a wait from a
// task or callback of one loop on a future of another is an error rather
// than a deadlock. Read on slow paths only.
var (
	runningMu    sync.Mutex
	runningLoops atomic.Pointer[[]*Loop]
)

func init() { runningLoops.Store(&[]*Loop{}) }

func addRunning(l *Loop) {
	runningMu.Lock()
	defer runningMu.Unlock()
	old := *runningLoops.Load()
	n := append(append(make([]*Loop, 0, len(old)+1), old...), l)
	runningLoops.Store(&n)
}

func removeRunning(l *Loop) {
	runningMu.Lock()
	defer runningMu.Unlock()
	old := *runningLoops.Load()
	n := make([]*Loop, 0, len(old))
	for _, x := range old {
		if x != l {
			n = append(n, x)
		}
	}
	runningLoops.Store(&n)
}

// CurrentLoop returns the loop that ctx carries, or nil.
func CurrentLoop(ctx context.Context) *Loop { return loopOf(ctx) }

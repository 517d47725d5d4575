package aio

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/braid-go/braid/futures"
)

type taskState uint8

const (
	taskCreated taskState = iota
	taskRunning
	taskParked
	taskDone
)

// PanicError is the error of a task whose function panicked: the task's
// name, the panic value and the stack of the task's goroutine where it
// happened. It is futures.PanicError, the one panic error of the module.
type PanicError = futures.PanicError

// errAbandoned is what every wait of a task returns once its loop is
// closing with the task still suspended.
var errAbandoned = fmt.Errorf("%w: the task was abandoned by Close (%w)", ErrLoopClosed, context.Canceled)

// taskImpl is the typed half of a task, seen from the untyped loop.
type taskImpl interface {
	AnyTask
	runBody()
	abort(err error)
}

// taskCore is the untyped state of a task: its coroutine, its context and
// its place in the loop.
type taskCore struct {
	loop *Loop
	impl taskImpl
	ctx  loopCtx
	name *string // nil: "Task-<id>" (unnamed tasks cost nothing)
	co   *coro   // the coroutine running the task, once started
	// g is co's goroutine, for callerTask; any goroutine may read it. It
	// keeps its value after the task ends (l.current may still point at a
	// finished task; no goroutine then has that g but a coroutine that
	// another step will publish first). 0 until a new coroutine starts.
	g atomic.Uintptr

	state     taskState
	scheduled bool
	id        uint32
	timerSeq  uint64 // the task's own timer while armed (see timerSlot)

	prev, nextT *taskCore // the loop's list of live tasks
}

// AnyTask is a task of any result type: what CurrentTask and AllTasks
// return.
type AnyTask interface {
	Waitable
	// Name returns the task's name.
	Name() string
	// Context returns the task's context: cancelled when the task is
	// cancelled.
	Context() context.Context
}

// Task is a function running as a coroutine on a loop, wrapped in a
// future (asyncio.Task). Its methods belong to the loop, except Await,
// which also works from any goroutine.
type Task[T any] struct {
	futureCore
	value T
	fn    func(context.Context) (T, error)
	tc    taskCore
}

// SpawnOption configures a task.
type SpawnOption func(*spawnConfig)

type spawnConfig struct{ name string }

// WithName names the task (asyncio's name=). Unnamed tasks are called
// "Task-N".
func WithName(name string) SpawnOption { return func(c *spawnConfig) { c.name = name } }

// Spawn starts fn as a task on the loop that ctx carries (asyncio's
// create_task). The task's context is derived from ctx: cancelling ctx
// cancels the task, and the task's context carries ctx's values. Use
// context.WithoutCancel(ctx) for a task that must outlive its spawner's
// cancellation.
//
// fn starts on a later iteration of the loop, never inside Spawn.
// Spawn belongs to the loop: call it from a task or a callback of the
// loop. It panics if ctx carries no loop (ErrNoLoop); on a closed loop the
// task fails at once with ErrLoopClosed.
func Spawn[T any](ctx context.Context, fn func(context.Context) (T, error), opts ...SpawnOption) *Task[T] {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	t := &Task[T]{fn: fn}
	t.futureCore.loop = l
	tc := &t.tc
	tc.loop, tc.impl = l, t
	l.taskSeq++
	tc.id = l.taskSeq
	if len(opts) > 0 {
		// Declared here, so that only a named task pays for its name.
		if name := spawnOptions(opts).name; name != "" {
			tc.name = &name
		}
	}
	tc.ctx.init(l, ctx, tc, true)
	if l.closed.Load() {
		t.abort(ErrLoopClosed)
		return t
	}
	l.tasks.add(tc)
	tc.scheduled = true
	l.ready.Push(readyItem{task: tc})
	return t
}

func spawnOptions(opts []SpawnOption) spawnConfig {
	var cfg spawnConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// runBody runs in the task's coroutine: it calls fn and completes the
// task, turning a panic into a PanicError.
func (t *Task[T]) runBody() {
	var (
		v        T
		err      error
		returned bool
	)
	defer func() {
		goexit := false
		if !returned {
			if p := recover(); p != nil {
				err = &PanicError{Task: t.tc.taskName(), Value: p, Stack: debug.Stack()}
			} else {
				goexit = true
				err = fmt.Errorf("aio: task %q called runtime.Goexit (t.FailNow in a test?)", t.tc.taskName())
			}
		}
		co := t.tc.co
		t.complete(v, err)
		if goexit {
			co.goexiting()
		}
	}()
	v, err = t.fn(&t.tc.ctx)
	returned = true
}

// abort completes a task that never ran.
func (t *Task[T]) abort(err error) {
	var zero T
	t.complete(zero, err)
}

func (t *Task[T]) complete(v T, err error) {
	tc := &t.tc
	tc.state = taskDone
	tc.co = nil
	t.fn = nil
	st := stateDone
	if err != nil {
		// A task that ends with a cancellation is cancelled, whoever asked
		// for it (asyncio: a coroutine raising CancelledError), and so is
		// one that its context's deadline stopped (see asCancellation).
		var cancelled bool
		if err, cancelled = asCancellation(err, &tc.ctx); cancelled {
			st = stateCancelled
		}
	}
	t.value = v
	tc.loop.tasks.remove(tc)
	tc.ctx.finished()
	if st == stateDone && err != nil {
		// Before finish: waiters notified by finish mark it retrieved.
		tc.loop.trackFailure(&t.futureCore, tc.taskName(), err)
	}
	t.finish(st, err)
}

// Cancel asks the task to stop: its context is cancelled, so every wait
// in it returns an error matching context.Canceled. The task may clean up
// and even finish normally (asyncio's "swallowing" a cancellation); a
// task cancelled before it started never runs. Cancel returns false if
// the task is already done. Loop-only: from another goroutine use
// loop.CallSoonThreadsafe(func() { t.Cancel() }); called from a goroutine
// that does not run the task's loop, Cancel panics with an error matching
// ErrOtherLoop or ErrNotInTask and changes nothing.
func (t *Task[T]) Cancel() bool {
	mustOnLoop(t.loop, "Task.Cancel")
	if t.tc.state == taskDone {
		return false
	}
	t.tc.ctx.cancel(&cancelledError{what: "task " + strconv.Quote(t.tc.taskName())})
	return true
}

// Cancelling reports whether the task was asked to stop and has not
// finished yet.
func (t *Task[T]) Cancelling() bool { return t.tc.state != taskDone && t.tc.ctx.isDone() }

// Name returns the task's name.
func (t *Task[T]) Name() string { return t.tc.taskName() }

// Context returns the task's context.
func (t *Task[T]) Context() context.Context { return &t.tc.ctx }

// String describes the task for logs.
func (t *Task[T]) String() string {
	st := "pending"
	switch {
	case t.state == stateCancelled:
		st = "cancelled"
	case t.state == stateDone && t.err != nil:
		st = "failed: " + t.err.Error()
	case t.state == stateDone:
		st = "done"
	}
	return fmt.Sprintf("<Task %s %s>", t.tc.taskName(), st)
}

// Result returns the value and error of a done task without waiting, or
// ErrNotDone.
func (t *Task[T]) Result() (T, error) {
	if err := otherLoopCheck(t.loop, "Task.Result"); err != nil {
		var zero T
		return zero, err
	}
	return t.result()
}

func (t *Task[T]) result() (T, error) {
	if t.state == statePending {
		var zero T
		return zero, ErrNotDone
	}
	t.retrieved()
	return t.value, t.err
}

// Await waits until the task is done and returns its outcome, or ctx's
// error if ctx is done first (the task goes on: cancel it with Cancel).
// The rules of Future.Await apply.
func (t *Task[T]) Await(ctx context.Context) (T, error) {
	if err := awaitCore(ctx, &t.futureCore); err != nil {
		var zero T
		return zero, err
	}
	return t.value, t.err
}

// CurrentTask returns the task that is running, if the caller is a task
// of the loop that ctx carries; nil otherwise.
func CurrentTask(ctx context.Context) AnyTask {
	l := loopOf(ctx)
	if l == nil {
		return nil
	}
	if t, _ := l.callerTask(); t != nil {
		return t.impl
	}
	return nil
}

// AllTasks returns the tasks of the loop that are not done yet. Loop-only.
func (l *Loop) AllTasks() []AnyTask {
	out := make([]AnyTask, 0, l.tasks.n)
	for t := l.tasks.head; t != nil; t = t.nextT {
		out = append(out, t.impl)
	}
	return out
}

// taskName returns the task's name, making the default one on demand so
// that unnamed tasks cost no allocation.
func (tc *taskCore) taskName() string {
	if tc.name != nil {
		return *tc.name
	}
	return "Task-" + strconv.FormatUint(uint64(tc.id), 10)
}

// step resumes tc until its next wait or its end.
func (l *Loop) step(tc *taskCore) {
	tc.scheduled = false
	if tc.state == taskDone {
		return
	}
	c := tc.co
	if c == nil {
		if err := tc.ctx.Err(); err != nil {
			// Cancelled before it started: as in asyncio, it never runs.
			tc.impl.abort(err)
			return
		}
		c = l.coroutine()
		c.task, tc.co = tc, c
		if c.g != 0 { // a new coroutine stores it when it starts
			tc.g.Store(c.g)
		}
	}
	l.current.Store(tc)
	tc.state = taskRunning
	var start time.Time
	if l.cfg.debug {
		start = time.Now()
	}
	_, alive := c.next()
	// l.current keeps pointing at tc: harmless (see taskCore.g), and one
	// atomic store less per step.
	if l.cfg.debug {
		if d := time.Since(start); d >= l.cfg.slow {
			l.cfg.logger.Warn("aio: a task step held the event loop (a blocking call in a coroutine?)", "task", tc.taskName(), "duration", d)
		}
	}
	if !alive {
		c.dead = true
	} else if c.exiting {
		c.finishExit()
		l.coroBusy--
	}
}

// park suspends the running task until the loop wakes it. It returns
// false if the loop is closing and abandoned the task.
func (tc *taskCore) park() bool {
	tc.state = taskParked
	ok := tc.co.yield(struct{}{})
	tc.state = taskRunning
	return ok
}

// wake schedules a parked task's next step. Waking a task that is
// running, already scheduled or done does nothing, so a task woken by two
// events in one iteration steps once.
func (l *Loop) wake(t *taskCore) {
	if t.state != taskParked || t.scheduled {
		return
	}
	t.scheduled = true
	l.ready.Push(readyItem{task: t})
}

// abandon ends a task at Close: its context is cancelled and its
// coroutine resumed once more with every wait failing, so that its
// deferred calls run and its goroutine ends.
func (tc *taskCore) abandon() {
	if tc.state == taskDone {
		return
	}
	tc.ctx.cancel(errAbandoned)
	c := tc.co
	if c == nil {
		tc.impl.abort(errAbandoned)
		return
	}
	l := tc.loop
	l.current.Store(tc)
	c.stop()
	l.current.Store(nil)
	c.dead = true
	if tc.state != taskDone {
		// The coroutine ended without completing (it cannot, but be sure).
		tc.impl.abort(errAbandoned)
	}
}

// taskList is an intrusive list of the loop's live tasks.
type taskList struct {
	head *taskCore
	n    int
}

func (s *taskList) add(t *taskCore) {
	t.nextT = s.head
	if s.head != nil {
		s.head.prev = t
	}
	s.head = t
	s.n++
}

func (s *taskList) remove(t *taskCore) {
	if t.prev == nil && s.head != t {
		return // not in the list
	}
	if t.prev != nil {
		t.prev.nextT = t.nextT
	} else {
		s.head = t.nextT
	}
	if t.nextT != nil {
		t.nextT.prev = t.prev
	}
	t.prev, t.nextT = nil, nil
	s.n--
}

// errReport is a task failure that nobody has retrieved yet. It is
// logged when the loop closes or when the task is garbage-collected,
// whichever comes first.
type errReport struct {
	name      string
	err       error
	retrieved atomic.Bool
	logged    atomic.Bool
}

func (l *Loop) trackFailure(f *futureCore, name string, err error) {
	r := &errReport{name: name, err: err}
	f.tracked = true
	if l.failures == nil {
		l.failures = make(map[uintptr]*errReport)
	}
	// Keyed by address, which holds no reference: the task can be
	// collected (and its cleanup log the error) while it is tracked. An
	// entry left by a collected future is overwritten if its address is
	// reused, and is skipped once logged.
	l.failures[uintptr(unsafe.Pointer(f))] = r
	logger := l.cfg.logger
	runtime.AddCleanup(f, func(r *errReport) {
		if !r.retrieved.Load() && r.logged.CompareAndSwap(false, true) {
			logger.Error("aio: task error was never retrieved", "task", r.name, "error", r.err)
		}
	}, r)
	if len(l.failures) > 1024 {
		for k, r := range l.failures {
			if r.logged.Load() {
				delete(l.failures, k)
			}
		}
	}
}

func (l *Loop) reportUnretrieved() {
	for _, r := range l.failures {
		if !r.retrieved.Load() && r.logged.CompareAndSwap(false, true) {
			l.cfg.logger.Error("aio: task error was never retrieved", "task", r.name, "error", r.err)
		}
	}
	l.failures = nil
}

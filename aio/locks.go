package aio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// This file holds the coordination primitives for the tasks of one loop
// (asyncio's Lock, Event, Condition, Semaphore, BoundedSemaphore and
// Barrier) and the FIFO of suspended tasks they and the queues share.
//
// Like asyncio's, these primitives belong to one loop and are not safe for
// use from other goroutines: they suspend the calling task, never the
// thread, and their state is only ever touched by the loop's goroutine (a
// task step or a callback). A primitive binds itself to the loop of the
// first context it is used with; waiting on it from a task of another
// loop is an error, and so is waiting from a plain goroutine. A method
// called from a goroutine that does not run the primitive's loop returns
// an error if it returns one, and panics otherwise: it would be a data
// race.
//
// Fairness: waiters are woken strictly in the order they started waiting.
// A waiter whose context is done when its turn comes is skipped, and a
// waiter whose context is cancelled at the very moment it is woken passes
// its wake-up on to the next waiter: there are never two holders of a
// Lock, never more holders of a Semaphore than its value, and never a
// lost wake-up.
//
// As in asyncio, an operation that need not wait does not look at its
// context: acquiring a free Lock succeeds even if ctx is already done.
// An operation that must wait returns ctx's error at once if ctx is done.

// Errors of the coordination primitives.
var (
	// ErrLockNotHeld: Release of a Lock that is not locked, or Wait or
	// Notify on a Condition whose lock is not held (asyncio's
	// RuntimeError).
	ErrLockNotHeld = errors.New("aio: the lock is not acquired; acquire it before releasing it, or before waiting on or notifying its condition")
	// ErrSemaphoreOverReleased: a BoundedSemaphore released more times
	// than it was acquired (asyncio's ValueError).
	ErrSemaphoreOverReleased = errors.New("aio: BoundedSemaphore released too many times (more releases than acquires)")
	// ErrNegativeSemaphore is the panic value of NewSemaphore and
	// NewBoundedSemaphore given a negative value (asyncio's ValueError).
	ErrNegativeSemaphore = errors.New("aio: a semaphore's initial value must be >= 0")
	// ErrBarrierParties is the panic value of NewBarrier given fewer than
	// one party, and the error of Wait on a Barrier not made by NewBarrier
	// (asyncio's ValueError).
	ErrBarrierParties = errors.New("aio: a barrier needs at least one party (make it with NewBarrier(n), n >= 1)")
	// ErrBrokenBarrier: the barrier was aborted, or reset while the task
	// waited (asyncio.BrokenBarrierError).
	ErrBrokenBarrier = errors.New("aio: the barrier is broken (aborted, or reset while waiting)")
)

// waiter is one suspended task in a waitq. Nodes are recycled through the
// queue's free list, so that waiting allocates nothing in the steady
// state.
type waiter struct {
	t          *taskCore
	ctx        context.Context
	prev, next *waiter
	woken      bool // a waker took it out of the queue and scheduled it
	queued     bool
}

// waitq is a FIFO of suspended tasks of one loop: an intrusive doubly
// linked list (O(1) removal of a cancelled waiter, and a front for a
// woken waiter that must wait again without losing its turn).
type waitq struct {
	head, tail *waiter
	n          int
	free       *waiter
	nfree      int
}

// maxFreeWaiters bounds the nodes a waitq keeps for reuse after a burst.
const maxFreeWaiters = 1024

func (q *waitq) alloc(t *taskCore, ctx context.Context) *waiter {
	w := q.free
	if w != nil {
		q.free = w.next
		q.nfree--
		w.next = nil
	} else {
		w = new(waiter)
	}
	w.t, w.ctx = t, ctx
	return w
}

func (q *waitq) recycle(w *waiter) {
	*w = waiter{}
	if q.nfree < maxFreeWaiters {
		w.next = q.free
		q.free = w
		q.nfree++
	}
}

func (q *waitq) pushBack(w *waiter) {
	w.queued = true
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.n++
}

func (q *waitq) pushFront(w *waiter) {
	w.queued = true
	w.prev, w.next = nil, q.head
	if q.head != nil {
		q.head.prev = w
	} else {
		q.tail = w
	}
	q.head = w
	q.n++
}

func (q *waitq) unlink(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	w.queued = false
	q.n--
}

// wait suspends the running task t in q (at the back, or at the front for
// a waiter that was woken but found its condition gone) until a waker
// takes it out (woken), ctx is done, or the loop abandons the task. When
// both happened, err is ctx's error and woken is true: the caller must
// pass the wake-up on.
func (q *waitq) wait(ctx context.Context, t *taskCore, front bool) (woken bool, err error) {
	w := q.alloc(t, ctx)
	if front {
		q.pushFront(w)
	} else {
		q.pushBack(w)
	}
	stop := t.watch(ctx)
	for {
		if !t.park() {
			err = errAbandoned
			break
		}
		if err = ctxErr(ctx); err != nil {
			break
		}
		if w.woken {
			break
		}
	}
	if stop != nil {
		stop()
	}
	woken = w.woken
	if w.queued {
		q.unlink(w)
	}
	q.recycle(w)
	return woken, err
}

// wakeOne takes the first waiter whose context is not done out of q and
// schedules it. Waiters whose context is done are dropped on the way:
// they return their error when they run and need no wake-up. It reports
// whether it woke one.
func (q *waitq) wakeOne() bool {
	for w := q.head; w != nil; w = q.head {
		q.unlink(w)
		if ctxErr(w.ctx) != nil {
			continue
		}
		w.woken = true
		w.t.loop.wake(w.t)
		return true
	}
	return false
}

// wakeAll takes every waiter out of q and schedules it, in FIFO order.
func (q *waitq) wakeAll() {
	for w := q.head; w != nil; w = q.head {
		q.unlink(w)
		w.woken = true
		w.t.loop.wake(w.t)
	}
}

// onLoop reports whether the calling goroutine may touch state of loop l:
// the running task of l, a callback of l, or anyone while l is not running
// (before Run, after Close). Where goroutines cannot be identified it
// takes the caller at its word.
func onLoop(l *Loop) bool {
	if !canIdentifyGoroutine || l == nil {
		return true
	}
	g := getg()
	if l.taskOf(g) != nil {
		return true
	}
	lg := l.g.Load()
	return lg == 0 || lg == g
}

// offLoop is the panic value (or error) of a primitive's method called
// from a goroutine that does not run its loop (l): an error matching
// ErrOtherLoop from a task or callback of another loop, ErrNotInTask
// from a plain goroutine.
func offLoop(l *Loop, what string) error {
	if callerLoop(l) != nil {
		return &callerError{
			msg: "aio: " + what + " called from a task or callback of another event loop; " +
				"the object is bound to the loop it was first used on (make one per loop, or reach its loop with Loop.CallSoonThreadsafe)",
			kind: ErrOtherLoop,
		}
	}
	return &callerError{
		msg: "aio: " + what + " called from a goroutine that is not running the object's event loop; " +
			"call it from a task of that loop (aio.Spawn), or reach the loop with Loop.CallSoonThreadsafe",
		kind: ErrNotInTask,
	}
}

// loopCheck returns nil when the caller may use an object of loop l:
// from l's own goroutine (a task or a callback), or from any goroutine
// while l is not running; otherwise offLoop's error. It costs little on
// l's goroutine.
func loopCheck(l *Loop, what string) error {
	if onLoop(l) {
		return nil
	}
	return offLoop(l, what)
}

// otherLoopCheck is loopCheck for reads that a plain goroutine may make
// once it synchronised with the loop (a future's Result after Await from
// a goroutine): only a task or callback of another loop is refused.
func otherLoopCheck(l *Loop, what string) error {
	if onLoop(l) || callerLoop(l) == nil {
		return nil
	}
	return offLoop(l, what)
}

// bindCaller binds a primitive that has no loop yet to the loop whose
// task or callback is calling: the first use of a method without a
// context binds it, as Wait or Acquire would. (Binding again after the
// loop closed is left to the methods that take a context.)
func bindCaller(bound **Loop) {
	if *bound == nil {
		if cl := callerLoop(nil); cl != nil {
			*bound = cl
		}
	}
}

func mustOnLoop(l *Loop, what string) {
	if l != nil && !onLoop(l) {
		panic(offLoop(l, what))
	}
}

// bindLoop binds a primitive to the loop of ctx if it has none yet (or
// only a closed one) and returns it.
func bindLoop(bound **Loop, ctx context.Context) *Loop {
	l := *bound
	if l == nil || l.closed.Load() {
		if nl := loopOf(ctx); nl != nil {
			*bound = nl
			return nl
		}
	}
	return l
}

// waitCaller returns the running task that is about to wait on a
// primitive bound (or now bound) to a loop: misuse is an error that says
// what to do.
func waitCaller(bound **Loop, ctx context.Context, what string) (*taskCore, error) {
	l := bindLoop(bound, ctx)
	if l == nil {
		return nil, ErrNoLoop
	}
	t, err := l.callerTask()
	if err != nil {
		if errors.Is(err, ErrOtherLoop) {
			return nil, fmt.Errorf("aio: %s: the primitive is bound to another event loop (the loop it was first used on): %w", what, ErrOtherLoop)
		}
		return nil, err
	}
	if t == nil {
		return nil, errNotInTask(what)
	}
	return t, nil
}

func waitersSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return ", waiters:" + strconv.Itoa(n)
}

// Lock is a mutual-exclusion lock for the tasks of one loop
// (asyncio.Lock). Acquire suspends the task, not the thread, until the
// lock is free; waiters get the lock strictly in FIFO order, handed over
// directly by Release, so a task that did not wait cannot take it before
// them.
//
// The zero value is an unlocked Lock. A Lock is not owned by a task: any
// task may release it, as in asyncio. Its methods belong to the loop (see
// the package's notes on primitives): use it with
//
//	if err := mu.Acquire(ctx); err != nil {
//		return err
//	}
//	defer mu.Release()
type Lock struct {
	loop   *Loop
	locked bool
	q      waitq
}

// Acquire locks the lock, waiting in FIFO order while it is held. It
// returns nil once the task holds the lock, or ctx's error if ctx is done
// first (then the lock is not held; if it had just been handed to this
// task, it is passed on to the next waiter). A free lock is taken at once
// whatever ctx's state.
//
// Acquire waits only in a task of the lock's loop: from a loop callback it
// returns ErrInCallback, from a plain goroutine an error saying so, and
// from a task of another loop an error matching ErrOtherLoop.
func (m *Lock) Acquire(ctx context.Context) error {
	// Who calls first: the lock's state belongs to its loop.
	if m.loop != nil && !onLoop(m.loop) {
		return offLoop(m.loop, "Lock.Acquire")
	}
	if !m.locked {
		// No live waiter can exist while the lock is free: Release hands
		// it to the first one.
		if m.loop == nil {
			m.loop = loopOf(ctx)
		}
		m.locked = true
		return nil
	}
	t, err := waitCaller(&m.loop, ctx, "Lock.Acquire")
	if err != nil {
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	woken, err := m.q.wait(ctx, t, false)
	if err != nil {
		if woken {
			m.handOff() // the lock was ours: pass it on
		}
		return err
	}
	return nil
}

// acquireUncancellable is Acquire whatever the state of the caller's
// context (Condition.Wait must own the lock again when it returns).
func (m *Lock) acquireUncancellable(t *taskCore) error {
	if !m.locked {
		m.locked = true
		return nil
	}
	_, err := m.q.wait(context.Background(), t, false)
	return err // only errAbandoned: the lock was not handed to t
}

// Release unlocks the lock, handing it to the first waiter if there is
// one. It returns ErrLockNotHeld if the lock is not locked (asyncio's
// RuntimeError). Loop-only: from a goroutine that does not run the lock's
// loop it returns an error and changes nothing.
func (m *Lock) Release() error {
	if !onLoop(m.loop) {
		return offLoop(m.loop, "Lock.Release")
	}
	if !m.locked {
		return ErrLockNotHeld
	}
	m.handOff()
	return nil
}

func (m *Lock) handOff() {
	if !m.q.wakeOne() {
		m.locked = false
	}
}

// Locked reports whether the lock is held (or being handed to a woken
// waiter, which holds it from that moment).
func (m *Lock) Locked() bool { return m.locked }

// String describes the lock as asyncio's repr does: "aio.Lock[locked,
// waiters:2]".
func (m *Lock) String() string {
	st := "unlocked"
	if m.locked {
		st = "locked"
	}
	return "aio.Lock[" + st + waitersSuffix(m.q.n) + "]"
}

// Event is a flag that tasks can wait for (asyncio.Event): Set wakes
// every waiting task at once, Clear resets it. The zero value is an unset
// Event. Its methods belong to the loop.
type Event struct {
	loop *Loop
	set  bool
	q    waitq
}

// Wait returns nil at once if the event is set; otherwise it suspends the
// task until Set is called (it returns nil even if Clear follows before
// the task resumes), or returns ctx's error if ctx is done first. It waits
// only in a task of the event's loop (see Lock.Acquire).
func (e *Event) Wait(ctx context.Context) error {
	// Who calls first: the event's state belongs to its loop.
	if e.loop != nil && !onLoop(e.loop) {
		return offLoop(e.loop, "Event.Wait")
	}
	if e.set {
		return nil
	}
	t, err := waitCaller(&e.loop, ctx, "Event.Wait")
	if err != nil {
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	_, err = e.q.wait(ctx, t, false)
	return err
}

// Set sets the event and wakes every task waiting for it, in the order
// they started waiting. Loop-only: it panics if called from a goroutine
// that does not run the event's loop (from there, use
// loop.CallSoonThreadsafe(ev.Set)).
func (e *Event) Set() {
	bindCaller(&e.loop)
	mustOnLoop(e.loop, "Event.Set")
	if !e.set {
		e.set = true
		e.q.wakeAll()
	}
}

// Clear unsets the event: later calls to Wait suspend until the next Set.
// Loop-only.
func (e *Event) Clear() {
	bindCaller(&e.loop)
	mustOnLoop(e.loop, "Event.Clear")
	e.set = false
}

// IsSet reports whether the event is set.
func (e *Event) IsSet() bool { return e.set }

// String describes the event as asyncio's repr does: "aio.Event[unset,
// waiters:1]".
func (e *Event) String() string {
	st := "unset"
	if e.set {
		st = "set"
	}
	return "aio.Event[" + st + waitersSuffix(e.q.n) + "]"
}

// Condition is a condition variable for the tasks of one loop
// (asyncio.Condition): tasks holding its lock wait until another task
// notifies them. The zero value is a Condition with its own Lock; use
// NewCondition to share a Lock. Its methods belong to the loop.
type Condition struct {
	l   *Lock
	own Lock
	q   waitq
}

// NewCondition returns a Condition over lock, or over a new Lock of its
// own if lock is nil (asyncio.Condition(lock)).
func NewCondition(lock *Lock) *Condition {
	c := &Condition{}
	c.l = lock
	return c
}

func (c *Condition) lock() *Lock {
	if c.l == nil {
		c.l = &c.own
	}
	return c.l
}

// Lock returns the condition's lock.
func (c *Condition) Lock() *Lock { return c.lock() }

// Acquire acquires the condition's lock (see Lock.Acquire).
func (c *Condition) Acquire(ctx context.Context) error { return c.lock().Acquire(ctx) }

// Release releases the condition's lock (see Lock.Release).
func (c *Condition) Release() error { return c.lock().Release() }

// Locked reports whether the condition's lock is held.
func (c *Condition) Locked() bool { return c.lock().locked }

// Wait releases the lock, suspends the task until it is notified, then
// acquires the lock again, and returns nil. The caller must hold the lock
// (ErrLockNotHeld otherwise).
//
// If ctx is done while the task waits or while it acquires the lock
// again, Wait still acquires the lock before it returns ctx's error, as
// asyncio does, so that the caller always holds the lock after Wait; if
// the task had been notified, the notification is passed on to the next
// waiter. If ctx is done when Wait is called, it returns ctx's error at
// once, lock held.
func (c *Condition) Wait(ctx context.Context) error {
	lk := c.lock()
	// Who calls first: the lock's state belongs to its loop.
	t, err := waitCaller(&lk.loop, ctx, "Condition.Wait") // the lock's loop is the condition's
	if err != nil {
		return err
	}
	if !lk.locked {
		return ErrLockNotHeld
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	lk.handOff()
	woken, err := c.q.wait(ctx, t, false)
	if err == errAbandoned {
		return err
	}
	if aerr := lk.acquireUncancellable(t); aerr != nil {
		return aerr
	}
	if err == nil {
		err = ctxErr(ctx) // cancelled while acquiring the lock again
	}
	if err != nil && woken {
		c.notify(1) // a notification must not be lost with us
	}
	return err
}

// WaitFor waits (see Wait) until pred returns true and returns nil;
// pred is called with the lock held, first before any waiting. If pred
// is already true, WaitFor returns nil without needing the lock
// (asyncio's wait_for). It returns the first error of Wait.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notify wakes up to n tasks waiting on the condition, in FIFO order;
// each resumes once it has acquired the lock again. The caller must hold
// the lock (ErrLockNotHeld otherwise).
func (c *Condition) Notify(n int) error {
	if l := c.lock().loop; !onLoop(l) {
		return offLoop(l, "Condition.Notify")
	}
	if !c.lock().locked {
		return ErrLockNotHeld
	}
	c.notify(n)
	return nil
}

// NotifyAll wakes every task waiting on the condition. The caller must
// hold the lock (ErrLockNotHeld otherwise).
func (c *Condition) NotifyAll() error {
	if l := c.lock().loop; !onLoop(l) {
		return offLoop(l, "Condition.NotifyAll")
	}
	if !c.lock().locked {
		return ErrLockNotHeld
	}
	c.q.wakeAll()
	return nil
}

func (c *Condition) notify(n int) {
	for ; n > 0; n-- {
		if !c.q.wakeOne() {
			return
		}
	}
}

// String describes the condition as asyncio's repr does:
// "aio.Condition[locked, waiters:2]".
func (c *Condition) String() string {
	st := "unlocked"
	if c.lock().locked {
		st = "locked"
	}
	return "aio.Condition[" + st + waitersSuffix(c.q.n) + "]"
}

// sem is the state shared by Semaphore and BoundedSemaphore.
//
// A release hands its permit directly to the first waiter (value does not
// move); pending counts waiters handed a permit that have not resumed yet.
// As in asyncio, a task that finds a free permit while such waiters exist
// queues behind them rather than overtaking them, and each resuming
// waiter hands free permits to those queued behind it.
type sem struct {
	loop    *Loop
	value   int
	pending int
	q       waitq
}

func (s *sem) acquire(ctx context.Context, what string) error {
	// Who calls first: the semaphore's state belongs to its loop.
	if s.loop != nil && !onLoop(s.loop) {
		return offLoop(s.loop, what)
	}
	if s.value > 0 && s.pending == 0 {
		if s.loop == nil {
			s.loop = loopOf(ctx)
		}
		s.value--
		return nil
	}
	t, err := waitCaller(&s.loop, ctx, what)
	if err != nil {
		return err
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	woken, err := s.q.wait(ctx, t, false)
	if woken {
		s.pending--
		if err != nil {
			s.value++ // the permit was ours: give it back, to be passed on
		}
	}
	s.handOut()
	return err
}

func (s *sem) release() {
	s.value++
	s.handOut()
}

// handOut hands free permits to waiters, first come first served.
func (s *sem) handOut() {
	for s.value > 0 && s.q.wakeOne() {
		s.value--
		s.pending++
	}
}

func (s *sem) locked() bool { return s.value == 0 || s.pending > 0 }

func (s *sem) string(kind string) string {
	if s.locked() {
		return "aio." + kind + "[locked" + waitersSuffix(s.q.n) + "]"
	}
	return "aio." + kind + "[unlocked, value:" + strconv.Itoa(s.value) + waitersSuffix(s.q.n) + "]"
}

// Semaphore limits how many tasks of one loop hold it at once
// (asyncio.Semaphore): it counts permits; Acquire takes one, waiting in
// FIFO order while there are none, and Release gives one back, handing it
// directly to the first waiter. A task never overtakes a waiter: while
// waiters handed a permit have not resumed, a newcomer queues behind them
// even if a permit is free. Make it with NewSemaphore. Its methods belong
// to the loop.
type Semaphore struct{ s sem }

// NewSemaphore returns a semaphore with value permits (asyncio's
// Semaphore(value)). It panics with ErrNegativeSemaphore if value < 0, as
// asyncio raises ValueError.
func NewSemaphore(value int) *Semaphore {
	if value < 0 {
		panic(ErrNegativeSemaphore)
	}
	return &Semaphore{s: sem{value: value}}
}

// Acquire takes a permit, waiting in FIFO order while there is none. It
// returns nil once the task holds a permit, or ctx's error if ctx is done
// first (then it holds none; a permit just handed to it is passed on). A
// free permit is taken at once whatever ctx's state. It waits only in a
// task of the semaphore's loop (see Lock.Acquire).
func (s *Semaphore) Acquire(ctx context.Context) error {
	return s.s.acquire(ctx, "Semaphore.Acquire")
}

// Release gives a permit back, waking the first waiter if there is one.
// A Semaphore may be released more often than acquired: the value grows
// (use BoundedSemaphore to catch that). Loop-only: it panics if called
// from a goroutine that does not run the semaphore's loop.
func (s *Semaphore) Release() {
	bindCaller(&s.s.loop)
	mustOnLoop(s.s.loop, "Semaphore.Release")
	s.s.release()
}

// Locked reports whether Acquire would have to wait: no permit is free,
// or waiters handed a permit have not resumed yet.
func (s *Semaphore) Locked() bool { return s.s.locked() }

// Value returns the number of free permits.
func (s *Semaphore) Value() int { return s.s.value }

// String describes the semaphore as asyncio's repr does:
// "aio.Semaphore[unlocked, value:3]" or "aio.Semaphore[locked, waiters:2]".
func (s *Semaphore) String() string { return s.s.string("Semaphore") }

// BoundedSemaphore is a Semaphore that refuses to be released more times
// than it was acquired (asyncio.BoundedSemaphore): its value never goes
// above the initial one. Make it with NewBoundedSemaphore. Its methods
// belong to the loop.
type BoundedSemaphore struct {
	s     sem
	bound int
}

// NewBoundedSemaphore returns a bounded semaphore with value permits. It
// panics with ErrNegativeSemaphore if value < 0.
func NewBoundedSemaphore(value int) *BoundedSemaphore {
	if value < 0 {
		panic(ErrNegativeSemaphore)
	}
	return &BoundedSemaphore{s: sem{value: value}, bound: value}
}

// Acquire takes a permit (see Semaphore.Acquire).
func (s *BoundedSemaphore) Acquire(ctx context.Context) error {
	return s.s.acquire(ctx, "BoundedSemaphore.Acquire")
}

// Release gives a permit back, waking the first waiter if there is one. It
// returns ErrSemaphoreOverReleased, and changes nothing, if that would
// raise the value above the initial one (asyncio's ValueError). Loop-only:
// from a goroutine that does not run the semaphore's loop it returns an
// error and changes nothing.
func (s *BoundedSemaphore) Release() error {
	if !onLoop(s.s.loop) {
		return offLoop(s.s.loop, "BoundedSemaphore.Release")
	}
	if s.s.value >= s.bound {
		return ErrSemaphoreOverReleased
	}
	s.s.release()
	return nil
}

// Locked reports whether Acquire would have to wait.
func (s *BoundedSemaphore) Locked() bool { return s.s.locked() }

// Value returns the number of free permits.
func (s *BoundedSemaphore) Value() int { return s.s.value }

// String describes the semaphore as asyncio's repr does.
func (s *BoundedSemaphore) String() string { return s.s.string("BoundedSemaphore") }

type barrierState uint8

const (
	barrierFilling barrierState = iota
	barrierDraining
	barrierResetting
	barrierBroken
)

var barrierStateNames = [...]string{"filling", "draining", "resetting", "broken"}

// Barrier makes a fixed number of tasks wait for each other
// (asyncio.Barrier): each calls Wait, and all of them resume once the
// last one arrives. The barrier can then be used again. Abort breaks it
// (every waiter, and every later Wait, fails with ErrBrokenBarrier) and
// Reset fails the current waiters with ErrBrokenBarrier and makes it
// usable again. Make it with NewBarrier. Its methods belong to the loop.
type Barrier struct {
	loop    *Loop
	parties int
	state   barrierState
	count   int // tasks inside Wait, past the entry
	q       waitq
}

// NewBarrier returns a barrier for parties tasks. It panics with
// ErrBarrierParties if parties < 1 (asyncio's ValueError).
func NewBarrier(parties int) *Barrier {
	if parties < 1 {
		panic(ErrBarrierParties)
	}
	return &Barrier{parties: parties}
}

// Wait suspends the task until parties tasks are waiting, then resumes
// them all and returns this task's arrival index, 0 to parties-1 (the
// last to arrive, which does not wait, gets parties-1). While the barrier
// is letting the previous round out (draining) or resetting, Wait first
// waits for that to end.
//
// Wait returns ErrBrokenBarrier if the barrier is broken or is reset or
// aborted while the task waits, and ctx's error if ctx is done first: the
// task then leaves the barrier, which stays usable (as in asyncio, unlike
// threading.Barrier). It waits only in a task of the barrier's loop (see
// Lock.Acquire).
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	if b.parties < 1 {
		return -1, ErrBarrierParties
	}
	// Who calls first: the barrier's state belongs to its loop.
	if b.loop != nil && !onLoop(b.loop) {
		return -1, offLoop(b.loop, "Barrier.Wait")
	}
	var t *taskCore
	for b.state == barrierDraining || b.state == barrierResetting {
		if err := b.park(ctx, &t); err != nil {
			return -1, err
		}
	}
	if b.state == barrierBroken {
		return -1, ErrBrokenBarrier
	}
	if b.loop == nil {
		b.loop = loopOf(ctx)
	} else if t == nil && !onLoop(b.loop) {
		return -1, offLoop(b.loop, "Barrier.Wait")
	}
	index := b.count
	b.count++
	if index+1 == b.parties {
		b.state = barrierDraining
		b.q.wakeAll()
	} else {
		for b.state == barrierFilling {
			if err := b.park(ctx, &t); err != nil {
				b.exit()
				return -1, err
			}
		}
		if b.state == barrierBroken || b.state == barrierResetting {
			b.exit()
			return -1, ErrBrokenBarrier
		}
	}
	b.exit()
	return index, nil
}

// park waits for the next change of the barrier's state.
func (b *Barrier) park(ctx context.Context, tp **taskCore) error {
	if *tp == nil {
		t, err := waitCaller(&b.loop, ctx, "Barrier.Wait")
		if err != nil {
			return err
		}
		*tp = t
	}
	if err := ctxErr(ctx); err != nil {
		return err
	}
	_, err := b.q.wait(ctx, *tp, false)
	return err
}

// exit is a task leaving Wait: the last one out ends the draining or
// resetting and lets blocked tasks in.
func (b *Barrier) exit() {
	b.count--
	if b.count == 0 {
		if b.state == barrierResetting || b.state == barrierDraining {
			b.state = barrierFilling
		}
		b.q.wakeAll()
	}
}

// Reset returns the barrier to its empty state: tasks waiting in it fail
// with ErrBrokenBarrier, and it is usable again once they have left (a
// broken barrier is repaired). In asyncio reset is a coroutine because it
// takes the barrier's internal lock; here it never needs to wait.
// Loop-only: it panics if called from a goroutine that does not run the
// barrier's loop.
func (b *Barrier) Reset() {
	bindCaller(&b.loop)
	mustOnLoop(b.loop, "Barrier.Reset")
	if b.count > 0 {
		b.state = barrierResetting
	} else {
		b.state = barrierFilling
	}
	b.q.wakeAll()
}

// Abort breaks the barrier: tasks waiting in it and every later Wait fail
// with ErrBrokenBarrier until Reset. Loop-only (see Reset).
func (b *Barrier) Abort() {
	bindCaller(&b.loop)
	mustOnLoop(b.loop, "Barrier.Abort")
	b.state = barrierBroken
	b.q.wakeAll()
}

// Parties returns the number of tasks the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

// Waiting returns the number of tasks waiting for the barrier to fill
// (asyncio's n_waiting): 0 while it drains, resets or is broken.
func (b *Barrier) Waiting() int {
	if b.state == barrierFilling {
		return b.count
	}
	return 0
}

// Broken reports whether the barrier is broken (aborted, not yet reset).
func (b *Barrier) Broken() bool { return b.state == barrierBroken }

// String describes the barrier as asyncio's repr does:
// "aio.Barrier[filling, waiters:2/5]".
func (b *Barrier) String() string {
	s := "aio.Barrier[" + barrierStateNames[b.state]
	if b.state != barrierBroken {
		s += ", waiters:" + strconv.Itoa(b.Waiting()) + "/" + strconv.Itoa(b.parties)
	}
	return s + "]"
}

package aio

import (
	"context"
	"errors"
)

// The coordination primitives for the tasks of one loop: asyncio's Lock
// (this file), Event, Condition, Semaphore, BoundedSemaphore and Barrier
// (a file each), over the FIFO of suspended tasks they and the queues
// share (waitq.go).
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
	loop   loopRef
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
	if err := m.loop.claim(ctx, "Lock.Acquire"); err != nil {
		return err
	}
	if !m.locked {
		// No live waiter can exist while the lock is free: Release hands
		// it to the first one.
		m.locked = true
		return nil
	}
	woken, err := m.q.waitIn(&m.loop, ctx, "Lock.Acquire")
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
	if l := m.loop.get(); !onLoop(l) {
		return offLoop(l, "Lock.Release")
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

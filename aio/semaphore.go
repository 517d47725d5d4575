package aio

import (
	"context"
	"strconv"
)

// sem is the state shared by Semaphore and BoundedSemaphore.
//
// A release hands its permit directly to the first waiter (value does not
// move); pending counts waiters handed a permit that have not resumed yet.
// As in asyncio, a task that finds a free permit while such waiters exist
// queues behind them rather than overtaking them, and each resuming
// waiter hands free permits to those queued behind it.
type sem struct {
	loop    loopRef
	value   int
	pending int
	q       waitq
}

func (s *sem) acquire(ctx context.Context, what string) error {
	// Who calls first: the semaphore's state belongs to its loop.
	if err := s.loop.claim(ctx, what); err != nil {
		return err
	}
	if s.value > 0 && s.pending == 0 {
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
	mustOnLoop(s.s.loop.bindCaller(), "Semaphore.Release")
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
	if l := s.s.loop.get(); !onLoop(l) {
		return offLoop(l, "BoundedSemaphore.Release")
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

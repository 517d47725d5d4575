package aio

import (
	"context"
)

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
	if l := c.lock().loop.get(); !onLoop(l) {
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
	if l := c.lock().loop.get(); !onLoop(l) {
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

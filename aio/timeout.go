package aio

import (
	"context"
	"errors"
	"time"
)

// Timeout is a deadline on the loop's clock over a context (asyncio's
// timeout() scope). Every wait done with the context it returns fails
// with context.DeadlineExceeded once the deadline passes; the deadline
// can be moved while the scope is open. Its methods belong to the loop.
type Timeout struct {
	c       *loopCtx
	expired bool
}

// WithTimeout returns a context that expires after d on the loop's clock
// (virtual clocks included), and the scope to move or release it. Call
// Stop when done with it, like a context's cancel function. It panics if
// ctx carries no loop.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, *Timeout) {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	return WithDeadline(ctx, l.Time().Add(d))
}

// WithDeadline is WithTimeout with an instant on the loop's clock (see
// Loop.Time). A zero when means no deadline until Reschedule.
func WithDeadline(ctx context.Context, when time.Time) (context.Context, *Timeout) {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	owner, _ := l.callerTask()
	c := newLoopCtx(l, ctx, owner)
	tm := &Timeout{c: c}
	if !when.IsZero() {
		tm.schedule(when)
	}
	return c, tm
}

// ErrTimeoutDone is returned by Reschedule once the scope has expired or
// was stopped.
var ErrTimeoutDone = errors.New("aio: the timeout scope has already expired or was stopped")

func (t *Timeout) schedule(when time.Time) {
	c := t.c
	lx := c.loopExtra()
	if lx.timer != nil {
		lx.timer.Cancel()
		lx.timer = nil
	}
	mu := c.lock()
	mu.Lock()
	c.shared().deadline = when
	mu.Unlock()
	if when.IsZero() {
		return
	}
	if !when.After(c.loop().Time()) {
		// Already due: expired now, as context.WithDeadline in the past is.
		t.expired = true
		c.cancel(context.DeadlineExceeded)
		return
	}
	lx.timer = c.loop().CallAt(when, func() {
		lx.timer = nil
		t.expired = true
		c.cancel(context.DeadlineExceeded)
	})
}

// Reschedule moves the deadline to when (the zero time: no deadline). It
// fails with ErrTimeoutDone if the scope already expired or was stopped.
func (t *Timeout) Reschedule(when time.Time) error {
	if t.c.isDone() {
		return ErrTimeoutDone
	}
	t.schedule(when)
	return nil
}

// When returns the deadline, and false if there is none.
func (t *Timeout) When() (time.Time, bool) {
	mu := t.c.lock()
	mu.Lock()
	defer mu.Unlock()
	if t.c.sx == nil {
		return time.Time{}, false
	}
	return t.c.sx.deadline, !t.c.sx.deadline.IsZero()
}

// Expired reports whether the deadline passed (as opposed to the scope
// being stopped or its parent cancelled).
func (t *Timeout) Expired() bool { return t.expired }

// Stop releases the scope: its timer is cancelled and its context is
// done with context.Canceled. Call it when the work under the scope ends
// (defer it).
func (t *Timeout) Stop() {
	t.c.cancel(context.Canceled)
}

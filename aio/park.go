package aio

import (
	"context"
	"os"
	"time"
)

// Every wait of a task goes through park: awaiting a future, sleeping,
// the combinators, the wait queue of the locks and queues, the I/O
// layer, a future of an executor, a task group waiting for its children.
// It is the one place where a task watches its context, checks what it
// waits for, suspends, and undoes the watch (trio's
// wait_task_rescheduled, with parkCond.abort as its abort function).

// parkCond is what a parked task waits for.
type parkCond interface {
	// ready reports whether the wait is over.
	ready() bool
	// register asks for a wake-up of t when ready may have changed. It
	// is called before every suspension (wake-ups may be spurious), so
	// it must be idempotent; most waits register once, before park.
	register(t *taskCore)
	// abort withdraws the wait when it ends without ready: ctx done, the
	// deadline passed, or the loop abandoned the task.
	abort(t *taskCore)
}

// parkOpts says how a wait goes beyond its condition and its context.
type parkOpts struct {
	// ctxFirst makes a context that is done by the time the task resumes
	// win over a condition that became ready meanwhile (asyncio throws
	// CancelledError into a task cancelled before it resumed). Without
	// it a ready condition wins.
	ctxFirst bool
	// checked says that the caller has just seen ctx not done and c not
	// ready, so the first check is skipped (the hot waits: the wait
	// queue, a future, a sleep).
	checked bool
	// external counts the wait as work outside the loop, so that a
	// virtual clock does not jump over the answer of a real socket or
	// process.
	external bool
	// deadline, if not nil and not zero, ends the wait with
	// os.ErrDeadlineExceeded when it passes on the loop's clock. It is
	// read again after every wake-up, so that a net.Conn's deadline can
	// move while a call waits.
	deadline *time.Time
}

// park suspends the running task t until c is ready, ctx is done, the
// deadline passes, or the loop abandons t. It
// returns nil when c is ready, ctx's error, os.ErrDeadlineExceeded or
// errAbandoned; on an error c.abort has been called. A condition or a
// context that is already decided returns at once, without watching
// (unless the caller has checked them: o.checked).
// It allocates nothing unless ctx is a context from outside the loop.
func park(ctx context.Context, t *taskCore, c parkCond, o parkOpts) error {
	if !o.checked {
		if done, err := parkCheck(ctx, c, o.ctxFirst); done {
			if err != nil {
				c.abort(t)
			}
			return err
		}
	}
	if o.deadline != nil || o.external {
		return parkTimed(ctx, t, c, o)
	}
	stop := t.watch(ctx)
	var err error
	for done := false; !done; {
		done, err = parkOnce(ctx, t, c, o.ctxFirst)
	}
	return unpark(t, c, stop, err)
}

// parkTimed is park's loop with a deadline or counted as outside work
// (the I/O layer's waits), after the first check.
func parkTimed(ctx context.Context, t *taskCore, c parkCond, o parkOpts) error {
	l := t.loop
	stop := t.watch(ctx)
	var grace *externalGrace
	if o.external {
		l.external++
		if l.virtual {
			grace = startGrace(l)
		}
	}
	var armed time.Time // the deadline the task's timer is set for
	var err error
	for {
		if dl := o.deadline; dl != nil && !dl.IsZero() {
			if !dl.Equal(armed) || t.timerSeq == 0 {
				d := dl.Sub(l.Time())
				if d <= 0 {
					err = os.ErrDeadlineExceeded
					break
				}
				armed = *dl
				l.startTaskTimer(t, d)
			}
		} else if !armed.IsZero() {
			armed = time.Time{}
			l.stopTaskTimer(t)
		}
		var done bool
		if done, err = parkOnce(ctx, t, c, o.ctxFirst); done {
			break
		}
	}
	if o.external {
		if grace != nil {
			grace.end()
		} else {
			l.external--
		}
	}
	if !armed.IsZero() {
		l.stopTaskTimer(t)
	}
	return unpark(t, c, stop, err)
}

// parkOnce is one round of the waits of park and parkTimed: it asks c
// for a wake-up, suspends t, and reports as parkCheck does whether the
// wait is over, or errAbandoned when the loop abandoned t.
func parkOnce(ctx context.Context, t *taskCore, c parkCond, ctxFirst bool) (bool, error) {
	c.register(t)
	if !t.park() {
		return true, errAbandoned
	}
	return parkCheck(ctx, c, ctxFirst)
}

// unpark ends a wait of park or parkTimed: it undoes the watch of the
// context (stop, from t.watch) and withdraws the wait when it ends with
// an error.
func unpark(t *taskCore, c parkCond, stop func() bool, err error) error {
	if stop != nil {
		stop()
	}
	if err != nil {
		c.abort(t)
	}
	return err
}

// parkCheck reports whether a wait is over: c ready (err nil) or ctx
// done (its error), in the order ctxFirst says.
func parkCheck(ctx context.Context, c parkCond, ctxFirst bool) (bool, error) {
	if ctxFirst {
		if err := ctxErr(ctx); err != nil {
			return true, err
		}
		return c.ready(), nil
	}
	if c.ready() {
		return true, nil
	}
	if err := ctxErr(ctx); err != nil {
		return true, err
	}
	return false, nil
}

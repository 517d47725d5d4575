package aio

import (
	"context"
)

// Event is a flag that tasks can wait for (asyncio.Event): Set wakes
// every waiting task at once, Clear resets it. The zero value is an unset
// Event. Its methods belong to the loop.
type Event struct {
	loop loopRef
	set  bool
	q    waitq
}

// Wait returns nil at once if the event is set; otherwise it suspends the
// task until Set is called (it returns nil even if Clear follows before
// the task resumes), or returns ctx's error if ctx is done first. It waits
// only in a task of the event's loop (see Lock.Acquire).
func (e *Event) Wait(ctx context.Context) error {
	// Who calls first: the event's state belongs to its loop.
	if err := e.loop.claim(ctx, "Event.Wait"); err != nil {
		return err
	}
	if e.set {
		return nil
	}
	_, err := e.q.waitIn(&e.loop, ctx, "Event.Wait")
	return err
}

// Set sets the event and wakes every task waiting for it, in the order
// they started waiting. Loop-only: it panics if called from a goroutine
// that does not run the event's loop (from there, use
// loop.CallSoonThreadsafe(ev.Set)).
func (e *Event) Set() {
	mustOnLoop(e.loop.bindCaller(), "Event.Set")
	if !e.set {
		e.set = true
		e.q.wakeAll()
	}
}

// Clear unsets the event: later calls to Wait suspend until the next Set.
// Loop-only.
func (e *Event) Clear() {
	mustOnLoop(e.loop.bindCaller(), "Event.Clear")
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

package aio

import (
	"context"
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

// A waiter is the parkCond of its task: a waker takes it out of the
// queue and marks it woken.
func (w *waiter) ready() bool        { return w.woken }
func (w *waiter) register(*taskCore) {}
func (w *waiter) abort(*taskCore)    {}

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
// pass the wake-up on. The caller has checked ctx: a ctx done before the
// wait would go unnoticed until a wake-up.
func (q *waitq) wait(ctx context.Context, t *taskCore, front bool) (woken bool, err error) {
	w := q.alloc(t, ctx)
	if front {
		q.pushFront(w)
	} else {
		q.pushBack(w)
	}
	err = park(ctx, t, w, parkOpts{ctxFirst: true, checked: true})
	woken = w.woken
	if w.queued {
		q.unlink(w)
	}
	q.recycle(w)
	return woken, err
}

// waitIn is the whole wait of a primitive bound to *bound that has one
// waitq (Lock, Event, Queue.Join): it finds the calling task
// (waitCaller, naming what), returns ctx's error if ctx is already done,
// and otherwise waits at the back of q. woken and err are wait's.
func (q *waitq) waitIn(bound *loopRef, ctx context.Context, what string) (woken bool, err error) {
	t, err := waitCaller(bound, ctx, what)
	if err != nil {
		return false, err
	}
	if err := ctxErr(ctx); err != nil {
		return false, err
	}
	return q.wait(ctx, t, false)
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

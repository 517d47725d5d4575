package aio

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/braid-go/braid/internal/ring"
)

// Errors of the queues.
var (
	// ErrQueueFull is returned by PutNowait on a bounded queue that is
	// full (asyncio.QueueFull). Put waits for room instead.
	ErrQueueFull = errors.New("aio: the queue is full (Put waits for room; PutNowait does not)")
	// ErrQueueEmpty is returned by GetNowait on an empty queue
	// (asyncio.QueueEmpty). Get waits for an item instead.
	ErrQueueEmpty = errors.New("aio: the queue is empty (Get waits for an item; GetNowait does not)")
	// ErrQueueShutDown is returned by Put and PutNowait on a queue that
	// was shut down, and by Get and GetNowait once it is also empty
	// (asyncio.QueueShutDown).
	ErrQueueShutDown = errors.New("aio: the queue is shut down")
	// ErrTaskDoneTooMany is returned by TaskDone called more times than
	// items were put (asyncio's ValueError).
	ErrTaskDoneTooMany = errors.New("aio: Queue.TaskDone called more times than there were items put")
)

var errUnmadeQueue = errors.New("aio: a Queue must be made with NewQueue, NewLifoQueue or NewPriorityQueue (the zero value is not usable)")

// Queue is a first-in, first-out queue for the tasks of one loop
// (asyncio.Queue[T]), bounded or not. Put waits while a bounded queue is
// full, Get waits while it is empty; waiting tasks are woken strictly in
// FIFO order, and a waiter that is cancelled as it is woken passes its
// turn on. TaskDone and Join track the items' processing, and Shutdown
// ends the queue (Python 3.13).
//
// As in asyncio, an item is not reserved for the getter it wakes: Get and
// GetNowait take what is there without waiting, so a task that never
// waited may take an item first; the woken getter then waits again, at
// the head of the line. Operations that need not wait do not look at
// their context.
//
// Make it with NewQueue (the zero value is not usable); LifoQueue and
// PriorityQueue are Queues that hand out their items in another order.
// Its methods belong to the loop (see the package's notes on primitives).
type Queue[T any] struct {
	loop    loopRef
	made    bool
	maxsize int
	size    int

	// The items of a FIFO queue.
	items ring.Ring[T]
	// order, for a LifoQueue or a PriorityQueue, keeps the items in its
	// own order instead (CPython's _put and _get).
	order queueOrder[T]

	unfinished int
	shutdown   bool

	getters, putters, joiners waitq
}

// LifoQueue is a Queue that returns the most recently put item first
// (asyncio.LifoQueue). Make it with NewLifoQueue; its methods are the
// Queue's.
type LifoQueue[T any] struct {
	Queue[T]
	stack lifoOrder[T]
}

// PriorityQueue is a Queue that returns the smallest item first
// (asyncio.PriorityQueue); items that compare equal come out in the
// order they were put, unlike heapq's. Make it with NewPriorityQueue or
// NewPriorityQueueFunc; its methods are the Queue's.
type PriorityQueue[T any] struct {
	Queue[T]
	heap prioOrder[T]
}

// NewQueue returns a FIFO queue that holds at most maxsize items; maxsize
// <= 0 means no limit (asyncio.Queue(maxsize)).
func NewQueue[T any](maxsize int) *Queue[T] {
	q := &Queue[T]{}
	q.init(nil, maxsize)
	return q
}

// NewLifoQueue returns a last-in, first-out queue that holds at most
// maxsize items; maxsize <= 0 means no limit.
func NewLifoQueue[T any](maxsize int) *LifoQueue[T] {
	q := &LifoQueue[T]{}
	q.init(&q.stack, maxsize)
	return q
}

// NewPriorityQueue returns a queue that hands out its smallest item first
// (by cmp.Compare), holding at most maxsize items; maxsize <= 0 means no
// limit.
func NewPriorityQueue[T cmp.Ordered](maxsize int) *PriorityQueue[T] {
	return NewPriorityQueueFunc(maxsize, cmp.Compare[T])
}

// NewPriorityQueueFunc is NewPriorityQueue for any item type: compare
// returns a negative number when a comes before b, zero when they are
// equal, a positive number otherwise (as for slices.SortFunc). It panics
// if compare is nil.
func NewPriorityQueueFunc[T any](maxsize int, compare func(a, b T) int) *PriorityQueue[T] {
	if compare == nil {
		panic("aio: NewPriorityQueueFunc needs a compare function")
	}
	q := &PriorityQueue[T]{}
	q.heap.cmp = compare
	q.init(&q.heap, maxsize)
	return q
}

func (q *Queue[T]) init(order queueOrder[T], maxsize int) {
	if maxsize < 0 {
		maxsize = 0
	}
	q.made, q.order, q.maxsize = true, order, maxsize
}

// Len returns the number of items in the queue (asyncio's qsize).
func (q *Queue[T]) Len() int { return q.size }

// Maxsize returns the queue's bound, 0 for an unbounded queue.
func (q *Queue[T]) Maxsize() int { return q.maxsize }

// Empty reports whether the queue holds no item.
func (q *Queue[T]) Empty() bool { return q.size == 0 }

// Full reports whether a bounded queue holds maxsize items (never true
// for an unbounded queue).
func (q *Queue[T]) Full() bool { return q.maxsize > 0 && q.size >= q.maxsize }

// Put adds v to the queue, waiting in FIFO order while a bounded queue is
// full. It returns ErrQueueShutDown if the queue is shut down (also while
// it waits), and ctx's error if ctx is done while it waits (v is then not
// added). Room is used at once whatever ctx's state.
//
// Put waits only in a task of the queue's loop: from a loop callback it
// returns ErrInCallback, from a plain goroutine an error saying so, and
// from a task of another loop an error matching ErrOtherLoop.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	// Who calls first: the queue's state belongs to its loop.
	if err := q.loop.claim(ctx, "Queue.Put"); err != nil {
		return err
	}
	if q.shutdown {
		return ErrQueueShutDown
	}
	if q.maxsize == 0 || q.size < q.maxsize {
		q.put(v)
		return nil
	}
	return q.putSlow(ctx, v)
}

func (q *Queue[T]) putSlow(ctx context.Context, v T) error {
	t, err := waitCaller(&q.loop, ctx, "Queue.Put")
	if err != nil {
		return err
	}
	front := false
	for q.Full() {
		if q.shutdown {
			return ErrQueueShutDown
		}
		if err := ctxErr(ctx); err != nil {
			return err
		}
		woken, err := q.putters.wait(ctx, t, front)
		if err != nil {
			if woken && !q.Full() {
				q.putters.wakeOne() // the room was for us: pass it on
			}
			return err
		}
		// Woken for room that another task took first: keep our turn.
		front = true
	}
	if q.shutdown {
		return ErrQueueShutDown
	}
	q.put(v)
	return nil
}

// PutNowait adds v without waiting: it returns ErrQueueFull if a bounded
// queue is full, ErrQueueShutDown if the queue is shut down. Loop-only:
// from a goroutine that does not run the queue's loop it returns an
// error.
func (q *Queue[T]) PutNowait(v T) error {
	if l := q.loop.bindCaller(); l != nil && !onLoop(l) {
		return offLoop(l, "Queue.PutNowait")
	}
	if q.shutdown {
		return ErrQueueShutDown
	}
	if q.maxsize > 0 && q.size >= q.maxsize {
		return ErrQueueFull
	}
	q.put(v)
	return nil
}

// Get removes and returns an item, waiting in FIFO order while the queue
// is empty. Once the queue is shut down, Get still returns the items left
// in it, then ErrQueueShutDown (at once after Shutdown(true)). It returns
// ctx's error if ctx is done while it waits. An item that is there is
// taken at once whatever ctx's state. It waits only in a task of the
// queue's loop (see Put).
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	// Who calls first: the queue's state belongs to its loop.
	if err := q.loop.claim(ctx, "Queue.Get"); err != nil {
		var zero T
		return zero, err
	}
	if q.size > 0 {
		return q.take(), nil
	}
	return q.getSlow(ctx)
}

func (q *Queue[T]) getSlow(ctx context.Context) (T, error) {
	var zero T
	if q.shutdown {
		return zero, ErrQueueShutDown
	}
	if !q.made {
		panic(errUnmadeQueue)
	}
	t, err := waitCaller(&q.loop, ctx, "Queue.Get")
	if err != nil {
		return zero, err
	}
	front := false
	for q.size == 0 {
		if q.shutdown {
			return zero, ErrQueueShutDown
		}
		if err := ctxErr(ctx); err != nil {
			return zero, err
		}
		woken, err := q.getters.wait(ctx, t, front)
		if err != nil {
			if woken && q.size > 0 {
				q.getters.wakeOne() // the item was for us: pass it on
			}
			return zero, err
		}
		// Woken for an item that another task took first: keep our turn.
		front = true
	}
	return q.take(), nil
}

// GetNowait removes and returns an item without waiting: it returns
// ErrQueueEmpty if there is none, or ErrQueueShutDown if there is none
// and the queue is shut down. Loop-only: from a goroutine that does not
// run the queue's loop it returns an error.
func (q *Queue[T]) GetNowait() (T, error) {
	var zero T
	if l := q.loop.get(); l != nil && !onLoop(l) {
		return zero, offLoop(l, "Queue.GetNowait")
	}
	if q.size == 0 {
		if q.shutdown {
			return zero, ErrQueueShutDown
		}
		return zero, ErrQueueEmpty
	}
	return q.take(), nil
}

// TaskDone tells the queue that the processing of an item taken from it
// is complete: Join returns when every item put has been marked so. It
// returns ErrTaskDoneTooMany if called more times than items were put.
// Loop-only: from a goroutine that does not run the queue's loop it
// returns an error and changes nothing.
func (q *Queue[T]) TaskDone() error {
	if l := q.loop.get(); !onLoop(l) {
		return offLoop(l, "Queue.TaskDone")
	}
	if q.unfinished <= 0 {
		return ErrTaskDoneTooMany
	}
	q.unfinished--
	if q.unfinished == 0 {
		q.joiners.wakeAll()
	}
	return nil
}

// Join waits until every item put in the queue has been taken and marked
// with TaskDone (or dropped by Shutdown(true)), and returns nil; it
// returns at once if that is already so, and ctx's error if ctx is done
// first. It waits only in a task of the queue's loop (see Put).
func (q *Queue[T]) Join(ctx context.Context) error {
	// Who calls first: the queue's state belongs to its loop.
	if err := q.loop.claim(ctx, "Queue.Join"); err != nil {
		return err
	}
	if q.unfinished == 0 {
		return nil
	}
	_, err := q.joiners.waitIn(&q.loop, ctx, "Queue.Join")
	return err
}

// Shutdown shuts the queue down (Python 3.13's Queue.shutdown): Put and
// PutNowait fail with ErrQueueShutDown from now on, and so do the tasks
// waiting in Put; Get and GetNowait return the items left, then fail with
// ErrQueueShutDown, and tasks waiting in Get are woken to do so. With
// immediate, the items left are dropped and counted as done for Join,
// which may release it. Calling it again does no harm. Loop-only: it
// panics if called from a goroutine that does not run the queue's loop.
func (q *Queue[T]) Shutdown(immediate bool) {
	mustOnLoop(q.loop.bindCaller(), "Queue.Shutdown")
	q.shutdown = true
	if immediate && q.size > 0 {
		n := q.size
		q.clearItems()
		q.unfinished = max(0, q.unfinished-n)
		if q.unfinished == 0 {
			q.joiners.wakeAll()
		}
	}
	q.getters.wakeAll()
	q.putters.wakeAll()
}

// String describes the queue as asyncio's repr does:
// "aio.Queue[maxsize=1 getters:1 tasks=2]".
func (q *Queue[T]) String() string {
	name := "Queue"
	if q.order != nil {
		name = q.order.name()
	}
	s := fmt.Sprintf("aio.%s[maxsize=%d", name, q.maxsize)
	if q.size > 0 {
		s += fmt.Sprintf(" items=%d", q.size)
	}
	if q.getters.n > 0 {
		s += fmt.Sprintf(" getters:%d", q.getters.n)
	}
	if q.putters.n > 0 {
		s += fmt.Sprintf(" putters:%d", q.putters.n)
	}
	if q.unfinished > 0 {
		s += fmt.Sprintf(" tasks=%d", q.unfinished)
	}
	if q.shutdown {
		s += " shutdown"
	}
	return s + "]"
}

// put stores v, counts it as unfinished and wakes the first getter.
func (q *Queue[T]) put(v T) {
	switch {
	case q.order != nil:
		q.order.put(v)
	case !q.made:
		panic(errUnmadeQueue)
	default:
		q.items.Push(v)
	}
	q.size++
	q.unfinished++
	if q.getters.head != nil {
		q.getters.wakeOne()
	}
}

// take removes the next item (q.size > 0) and wakes the first putter.
func (q *Queue[T]) take() T {
	var v T
	if q.order != nil {
		v = q.order.take()
		q.size--
	} else {
		v, _ = q.items.Pop()
		q.size--
		q.items.Shrink()
	}
	if q.putters.head != nil {
		q.putters.wakeOne()
	}
	return v
}

func (q *Queue[T]) clearItems() {
	q.items = ring.Ring[T]{}
	if q.order != nil {
		q.order.clear()
	}
	q.size = 0
}

package aio_test

// Tests of Queue, LifoQueue and PriorityQueue. Each mirrors the test of
// CPython's Lib/test/test_asyncio/test_queues.py (3.13) named in its
// comment; the join and shutdown mixins run on all three kinds, as in
// CPython. Not mirrored, as they test Python itself: test_generic_alias,
// test_float_maxsize. Everything runs on a virtual clock.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

// queueKinds makes each kind of queue, seen as its *aio.Queue.
var queueKinds = []struct {
	name string
	make func(maxsize int) *aio.Queue[string]
}{
	{"Queue", aio.NewQueue[string]},
	{"LifoQueue", func(n int) *aio.Queue[string] { return &aio.NewLifoQueue[string](n).Queue }},
	{"PriorityQueue", func(n int) *aio.Queue[string] { return &aio.NewPriorityQueue[string](n).Queue }},
}

func forEachQueueKind(t *testing.T, fn func(t *testing.T, newQ func(maxsize int) *aio.Queue[string])) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) { fn(t, k.make) })
	}
}

func mustGetItem[T any](t *testing.T, ctx context.Context, q *aio.Queue[T]) T {
	t.Helper()
	v, err := q.Get(ctx)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return v
}

// ---- QueueBasicTests ----

// Mirrors QueueBasicTests.test_repr and test_str.
func TestQueueRepr(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		if s := q.String(); s != "aio.Queue[maxsize=0]" {
			t.Errorf("String() = %q", s)
		}
		getter := aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		if s := q.String(); !strings.Contains(s, "getters:1") {
			t.Errorf("String() = %q", s)
		}
		q.PutNowait(0)
		if v, err := getter.Await(ctx); v != 0 || err != nil {
			t.Errorf("getter: %v, %v", v, err)
		}

		q = aio.NewQueue[int](1)
		q.PutNowait(1)
		putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 2) })
		yieldOnce(t, ctx)
		if s := q.String(); !strings.Contains(s, "putters:1") {
			t.Errorf("String() = %q", s)
		}
		q.GetNowait()
		if err := awaitErr(t, ctx, putter); err != nil {
			t.Errorf("putter: %v", err)
		}

		q = aio.NewQueue[int](0)
		q.PutNowait(1)
		if s := q.String(); s != "aio.Queue[maxsize=0 items=1 tasks=1]" {
			t.Errorf("String() = %q", s)
		}
		return nil
	})
}

// Mirrors QueueBasicTests.test_empty.
func TestQueueEmpty(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		if !q.Empty() {
			t.Error("not empty at start")
		}
		q.Put(ctx, 1)
		if q.Empty() || q.Len() != 1 {
			t.Errorf("after Put: empty %v, len %d", q.Empty(), q.Len())
		}
		if v := mustGetItem(t, ctx, q); v != 1 || !q.Empty() {
			t.Errorf("Get = %d, empty %v", v, q.Empty())
		}
		return nil
	})
}

// Mirrors QueueBasicTests.test_full.
func TestQueueFull(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		if aio.NewQueue[int](0).Full() {
			t.Error("an unbounded queue is full")
		}
		q := aio.NewQueue[int](1)
		q.Put(ctx, 1)
		if !q.Full() || q.Maxsize() != 1 {
			t.Errorf("full %v, maxsize %d", q.Full(), q.Maxsize())
		}
		return nil
	})
}

// Mirrors QueueBasicTests.test_order.
func TestQueueOrder(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		for _, i := range []int{1, 3, 2} {
			q.Put(ctx, i)
		}
		got := []int{mustGetItem(t, ctx, q), mustGetItem(t, ctx, q), mustGetItem(t, ctx, q)}
		if !slices.Equal(got, []int{1, 3, 2}) {
			t.Errorf("got %v", got)
		}
		return nil
	})
}

// Mirrors QueueBasicTests.test_maxsize.
func TestQueueMaxsize(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](2)
		if q.Maxsize() != 2 {
			t.Fatalf("maxsize %d", q.Maxsize())
		}
		var put []int
		task := spawnErr(ctx, func(ctx context.Context) error {
			for i := range 3 {
				if err := q.Put(ctx, i); err != nil {
					return err
				}
				put = append(put, i)
			}
			return nil
		})
		yieldOnce(t, ctx)
		yieldOnce(t, ctx)
		if !slices.Equal(put, []int{0, 1}) {
			t.Fatalf("put %v: the putter is not blocked after two items", put)
		}
		if v := mustGetItem(t, ctx, q); v != 0 {
			t.Errorf("Get = %d", v)
		}
		yieldOnce(t, ctx)
		if !slices.Equal(put, []int{0, 1, 2}) {
			t.Fatalf("put %v", put)
		}
		if a, b := mustGetItem(t, ctx, q), mustGetItem(t, ctx, q); a != 1 || b != 2 {
			t.Errorf("got %d, %d", a, b)
		}
		if !task.Done() {
			t.Error("putter not done")
		}
		return nil
	})
}

// ---- QueueGetTests ----

// Mirrors QueueGetTests.test_blocking_get.
func TestQueueBlockingGet(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		q.PutNowait(1)
		if v := mustGetItem(t, ctx, q); v != 1 {
			t.Errorf("Get = %d", v)
		}
		return nil
	})
}

// Mirrors QueueGetTests.test_get_with_putters: Get wakes a waiting
// putter.
func TestQueueGetWithPutters(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](1)
		q.Put(ctx, 1)
		putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 2) })
		yieldOnce(t, ctx)
		if aio.QueuePutters(q) != 1 {
			t.Fatalf("%d putters", aio.QueuePutters(q))
		}
		if v := mustGetItem(t, ctx, q); v != 1 {
			t.Errorf("Get = %d", v)
		}
		if err := awaitErr(t, ctx, putter); err != nil {
			t.Errorf("putter: %v", err)
		}
		if v, _ := q.GetNowait(); v != 2 {
			t.Errorf("GetNowait = %d", v)
		}
		return nil
	})
}

// Mirrors QueueGetTests.test_blocking_get_wait.
func TestQueueBlockingGetWait(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		var started aio.Event
		finished := false
		getter := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			started.Set()
			v, err := q.Get(ctx)
			finished = true
			return v, err
		})
		if err := started.Wait(ctx); err != nil {
			return err
		}
		if finished {
			t.Fatal("finished before the put")
		}
		l := aio.CurrentLoop(ctx)
		start := l.Time()
		l.CallLater(10*time.Millisecond, func() { q.PutNowait(1) })
		v, err := getter.Await(ctx)
		if v != 1 || err != nil || !finished {
			t.Errorf("getter: %v, %v, finished %v", v, err, finished)
		}
		if d := l.Time().Sub(start); d != 10*time.Millisecond {
			t.Errorf("the getter waited %v of loop time, want 10ms", d)
		}
		return nil
	})
}

// Mirrors QueueGetTests.test_nonblocking_get and
// test_nonblocking_get_exception.
func TestQueueNonblockingGet(t *testing.T) {
	q := aio.NewQueue[int](0)
	if _, err := q.GetNowait(); !errors.Is(err, aio.ErrQueueEmpty) {
		t.Errorf("GetNowait on empty: %v", err)
	}
	q.PutNowait(1)
	if v, err := q.GetNowait(); v != 1 || err != nil {
		t.Errorf("GetNowait = %v, %v", v, err)
	}
}

// Mirrors QueueGetTests.test_get_cancelled_race.
func TestQueueGetCancelledRace(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[string](0)
		t1 := aio.Spawn(ctx, q.Get)
		t2 := aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		t1.Cancel()
		yieldOnce(t, ctx)
		if !t1.Done() {
			t.Fatal("t1 not done")
		}
		q.Put(ctx, "a")
		yieldOnce(t, ctx)
		if v, err := t2.Await(ctx); v != "a" || err != nil {
			t.Errorf("t2: %q, %v", v, err)
		}
		return nil
	})
}

// Mirrors QueueGetTests.test_get_with_waiting_putters.
func TestQueueGetWithWaitingPutters(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[string](1)
		spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "a") })
		spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "b") })
		if a, b := mustGetItem(t, ctx, q), mustGetItem(t, ctx, q); a != "a" || b != "b" {
			t.Errorf("got %q, %q", a, b)
		}
		return nil
	})
}

// Mirrors QueueGetTests.test_why_are_getters_waiting.
func TestQueueWhyAreGettersWaiting(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		const n = 5
		q := aio.NewQueue[int](1)
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(func(ctx context.Context) error {
				for i := range n {
					if err := q.Put(ctx, i); err != nil {
						return err
					}
				}
				return nil
			})
			g.Go(func(ctx context.Context) error {
				for range n {
					if _, err := q.Get(ctx); err != nil {
						return err
					}
				}
				return nil
			})
			return nil
		})
	})
}

// Mirrors QueueGetTests.test_cancelled_getters_not_being_held_in_self_getters.
func TestQueueCancelledGettersNotHeld(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](5)
		tctx, tm := aio.WithTimeout(ctx, 100*time.Millisecond)
		defer tm.Stop()
		if _, err := q.Get(tctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get: %v, want DeadlineExceeded", err)
		}
		if n := aio.SyncWaiters(q); n != 0 {
			t.Errorf("%d getters left", n)
		}
		return nil
	})
}

// ---- QueuePutTests ----

// Mirrors QueuePutTests.test_blocking_put and test_nonblocking_put.
func TestQueueBlockingPut(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		if err := q.Put(ctx, 1); err != nil { // no maxsize: does not wait
			return err
		}
		if v := mustGetItem(t, ctx, q); v != 1 {
			t.Errorf("Get = %d", v)
		}
		if err := q.PutNowait(2); err != nil {
			return err
		}
		if v, _ := q.GetNowait(); v != 2 {
			t.Errorf("GetNowait = %d", v)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_blocking_put_wait.
func TestQueueBlockingPutWait(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](1)
		var started aio.Event
		finished := false
		l := aio.CurrentLoop(ctx)
		l.CallLater(10*time.Millisecond, func() { q.GetNowait() })
		putter := spawnErr(ctx, func(ctx context.Context) error {
			started.Set()
			if err := q.Put(ctx, 1); err != nil {
				return err
			}
			if err := q.Put(ctx, 2); err != nil {
				return err
			}
			finished = true
			return nil
		})
		started.Wait(ctx)
		if finished {
			t.Fatal("finished before the get")
		}
		if err := awaitErr(t, ctx, putter); err != nil || !finished {
			t.Errorf("putter: %v, finished %v", err, finished)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_get_cancel_drop_one_pending_reader: a reader
// woken for an item and cancelled at once does not drop the item.
func TestQueueGetCancelDropOnePendingReader(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		reader := aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		q.PutNowait(1)
		q.PutNowait(2)
		reader.Cancel()
		v, err := reader.Await(ctx)
		if isCanceledErr(err) {
			reader = aio.Spawn(ctx, q.Get)
			v, err = reader.Await(ctx)
		}
		if v != 1 || err != nil {
			t.Errorf("got %d, %v: an item was dropped", v, err)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_get_cancel_drop_many_pending_readers: the
// cancelled reader's wake-up passes to the next reader.
func TestQueueGetCancelDropManyPendingReaders(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		r1, r2, r3 := aio.Spawn(ctx, q.Get), aio.Spawn(ctx, q.Get), aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		q.PutNowait(1)
		q.PutNowait(2)
		r1.Cancel()
		if _, err := r1.Await(ctx); !isCanceledErr(err) {
			t.Errorf("r1: %v", err)
		}
		v3, err3 := r3.Await(ctx)
		v2, err2 := r2.Await(ctx)
		if err2 != nil || err3 != nil {
			t.Fatalf("r2 %v, r3 %v", err2, err3)
		}
		// CPython leaves the order undefined; braid's is FIFO.
		if v2 != 1 || v3 != 2 {
			t.Errorf("r2 got %d, r3 got %d", v2, v3)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_put_cancel_drop.
func TestQueuePutCancelDrop(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](1)
		q.PutNowait(1)
		writer := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 2) })
		yieldOnce(t, ctx)
		if v, _ := q.GetNowait(); v != 1 {
			t.Fatalf("GetNowait = %d", v)
		}
		writer.Cancel()
		if err := awaitErr(t, ctx, writer); isCanceledErr(err) {
			writer = spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 2) })
			if err := awaitErr(t, ctx, writer); err != nil {
				return err
			}
		}
		if v, _ := q.GetNowait(); v != 2 || q.Len() != 0 {
			t.Errorf("GetNowait = %d, len %d", v, q.Len())
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_nonblocking_put_exception.
func TestQueueNonblockingPutError(t *testing.T) {
	q := aio.NewQueue[int](1)
	q.PutNowait(1)
	if err := q.PutNowait(2); !errors.Is(err, aio.ErrQueueFull) {
		t.Errorf("PutNowait on full: %v", err)
	}
}

// Mirrors QueuePutTests.test_put_cancelled (a Put that did not wait).
func TestQueuePutCancelled(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 1) })
		if v := mustGetItem(t, ctx, q); v != 1 {
			t.Errorf("Get = %d", v)
		}
		if _, err := putter.Result(); err != nil {
			t.Errorf("putter: %v", err)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_put_cancelled_race.
func TestQueuePutCancelledRace(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[string](1)
		putA := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "a") })
		putB := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "b") })
		putC := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "X") })
		yieldOnce(t, ctx)
		if !putA.Done() || putB.Done() {
			t.Fatalf("putA %v, putB %v", putA, putB)
		}
		putC.Cancel()
		yieldOnce(t, ctx)
		if !putC.Done() {
			t.Fatal("putC not done")
		}
		if v, _ := q.GetNowait(); v != "a" {
			t.Errorf("GetNowait = %q", v)
		}
		yieldOnce(t, ctx)
		if v, _ := q.GetNowait(); v != "b" {
			t.Errorf("GetNowait = %q", v)
		}
		return awaitErr(t, ctx, putB)
	})
}

// Mirrors QueuePutTests.test_put_with_waiting_getters.
func TestQueuePutWithWaitingGetters(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[string](0)
		getter := aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		q.Put(ctx, "a")
		if v, err := getter.Await(ctx); v != "a" || err != nil {
			t.Errorf("getter: %q, %v", v, err)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_why_are_putters_waiting.
func TestQueueWhyArePuttersWaiting(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](2)
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(func(ctx context.Context) error {
				if err := aio.Sleep(ctx, 0); err != nil {
					return err
				}
				for range q.Len() {
					q.GetNowait()
				}
				return nil
			})
			for i := range 4 {
				g.Go(func(ctx context.Context) error { return q.Put(ctx, i) })
			}
			return nil
		})
	})
}

// Mirrors QueuePutTests.test_cancelled_puts_not_being_held_in_self_putters.
func TestQueueCancelledPutsNotHeld(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](1)
		q.PutNowait(1)
		putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 1) })
		yieldOnce(t, ctx)
		if n := aio.QueuePutters(q); n != 1 {
			t.Fatalf("%d putters", n)
		}
		putter.Cancel()
		if err := awaitErr(t, ctx, putter); !isCanceledErr(err) {
			t.Errorf("putter: %v", err)
		}
		if n := aio.QueuePutters(q); n != 0 {
			t.Errorf("%d putters left", n)
		}
		return nil
	})
}

// Mirrors QueuePutTests.test_cancelled_put_silence_value_error_exception:
// a putter woken for room and cancelled at once fails with the
// cancellation only.
func TestQueueCancelledPutAfterWakeUp(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](1)
		q.PutNowait(1)
		putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, 1) })
		yieldOnce(t, ctx)
		q.GetNowait()
		putter.Cancel()
		if err := awaitErr(t, ctx, putter); !isCanceledErr(err) {
			t.Errorf("putter: %v", err)
		}
		if q.Len() != 0 {
			t.Errorf("len %d: the cancelled put went through", q.Len())
		}
		return nil
	})
}

// ---- LifoQueueTests, PriorityQueueTests ----

// Mirrors LifoQueueTests.test_order.
func TestLifoQueueOrder(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewLifoQueue[int](0)
		for _, i := range []int{1, 3, 2} {
			q.Put(ctx, i)
		}
		got := []int{mustGetItem(t, ctx, &q.Queue), mustGetItem(t, ctx, &q.Queue), mustGetItem(t, ctx, &q.Queue)}
		if !slices.Equal(got, []int{2, 3, 1}) {
			t.Errorf("got %v", got)
		}
		return nil
	})
}

// Mirrors PriorityQueueTests.test_order.
func TestPriorityQueueOrder(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewPriorityQueue[int](0)
		for _, i := range []int{1, 3, 2} {
			q.Put(ctx, i)
		}
		got := []int{mustGetItem(t, ctx, &q.Queue), mustGetItem(t, ctx, &q.Queue), mustGetItem(t, ctx, &q.Queue)}
		if !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("got %v", got)
		}
		return nil
	})
}

// Items of equal priority come out in the order they were put (a
// deliberate difference: heapq does not promise it).
func TestPriorityQueueStable(t *testing.T) {
	type job struct {
		prio int
		name string
	}
	q := aio.NewPriorityQueueFunc(0, func(a, b job) int { return a.prio - b.prio })
	in := []job{{2, "a"}, {1, "b"}, {2, "c"}, {1, "d"}, {0, "e"}, {2, "f"}, {1, "g"}}
	for _, j := range in {
		q.PutNowait(j)
	}
	var got []string
	for !q.Empty() {
		j, _ := q.GetNowait()
		got = append(got, j.name)
	}
	if want := []string{"e", "b", "d", "g", "a", "c", "f"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// ---- _QueueJoinTestMixin (Queue, LifoQueue, PriorityQueue) ----

// Mirrors _QueueJoinTestMixin.test_task_done_underflow.
func TestQueueTaskDoneUnderflow(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		if err := newQ(0).TaskDone(); !errors.Is(err, aio.ErrTaskDoneTooMany) {
			t.Errorf("TaskDone: %v", err)
		}
	})
}

// Mirrors _QueueJoinTestMixin.test_task_done.
func TestQueueTaskDone(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(0)
			want := 0
			for i := range 100 {
				q.PutNowait(fmt.Sprint(i))
				want += i
			}
			acc := 0
			running := true
			return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
				for range 2 {
					g.Go(func(ctx context.Context) error {
						for running {
							item, err := q.Get(ctx)
							if err != nil {
								return err
							}
							var n int
							fmt.Sscan(item, &n)
							acc += n
							if err := q.TaskDone(); err != nil {
								return err
							}
						}
						return nil
					})
				}
				if err := q.Join(ctx); err != nil {
					return err
				}
				if acc != want {
					t.Errorf("sum %d, want %d", acc, want)
				}
				running = false
				q.PutNowait("0")
				q.PutNowait("0")
				return nil
			})
		})
	})
}

// Mirrors _QueueJoinTestMixin.test_join_empty_queue.
func TestQueueJoinEmptyQueue(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(0)
			if err := q.Join(ctx); err != nil {
				return err
			}
			return q.Join(ctx)
		})
	})
}

// Mirrors _QueueJoinTestMixin.test_format.
func TestQueueFormat(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		q := newQ(0)
		if s := q.String(); !strings.HasSuffix(s, "[maxsize=0]") {
			t.Errorf("String() = %q", s)
		}
		q.PutNowait("a")
		q.PutNowait("b")
		q.GetNowait()
		q.GetNowait()
		if s := q.String(); !strings.HasSuffix(s, "[maxsize=0 tasks=2]") {
			t.Errorf("String() = %q", s)
		}
	})
}

// ---- _QueueShutdownTestMixin (Queue, LifoQueue, PriorityQueue) ----

func expectShutDown(t *testing.T, ctx context.Context, q *aio.Queue[string]) {
	t.Helper()
	if err := q.Put(ctx, "data"); !errors.Is(err, aio.ErrQueueShutDown) {
		t.Errorf("Put: %v", err)
	}
	if err := q.PutNowait("data"); !errors.Is(err, aio.ErrQueueShutDown) {
		t.Errorf("PutNowait: %v", err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, aio.ErrQueueShutDown) {
		t.Errorf("Get: %v", err)
	}
	if _, err := q.GetNowait(); !errors.Is(err, aio.ErrQueueShutDown) {
		t.Errorf("GetNowait: %v", err)
	}
}

// Mirrors _QueueShutdownTestMixin.test_format.
func TestQueueShutdownFormat(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		q := newQ(0)
		q.Shutdown(false)
		if s := q.String(); !strings.HasSuffix(s, "[maxsize=0 shutdown]") {
			t.Errorf("String() = %q", s)
		}
	})
}

// Mirrors _QueueShutdownTestMixin.test_shutdown_empty.
func TestQueueShutdownEmpty(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(0)
			getter := aio.Spawn(ctx, q.Get)
			yieldOnce(t, ctx)
			q.Shutdown(false)
			if q.Len() != 0 {
				t.Errorf("len %d", q.Len())
			}
			if err := q.Join(ctx); err != nil {
				t.Errorf("Join: %v", err)
			}
			yieldOnce(t, ctx)
			if !getter.Done() {
				t.Fatal("the getter was not woken")
			}
			if _, err := getter.Result(); !errors.Is(err, aio.ErrQueueShutDown) {
				t.Errorf("getter: %v", err)
			}
			expectShutDown(t, ctx, q)
			return nil
		})
	})
}

// Mirrors _QueueShutdownTestMixin.test_shutdown_nonempty.
func TestQueueShutdownNonempty(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(1)
			q.PutNowait("data")
			joiner := spawnErr(ctx, q.Join)
			putter := spawnErr(ctx, func(ctx context.Context) error { return q.Put(ctx, "data2") })
			yieldOnce(t, ctx)
			if putter.Done() {
				t.Fatal("the putter did not wait")
			}
			q.Shutdown(false)
			if q.Len() != 1 {
				t.Errorf("len %d", q.Len())
			}
			yieldOnce(t, ctx)
			if _, err := putter.Result(); !errors.Is(err, aio.ErrQueueShutDown) {
				t.Errorf("putter: %v", err)
			}
			if v := mustGetItem(t, ctx, q); v != "data" {
				t.Errorf("Get = %q", v)
			}
			yieldOnce(t, ctx)
			if joiner.Done() {
				t.Error("Join returned with an unfinished item")
			}
			expectShutDown(t, ctx, q)
			if err := q.TaskDone(); err != nil {
				t.Errorf("TaskDone: %v", err)
			}
			yieldOnce(t, ctx)
			if _, err := joiner.Result(); err != nil {
				t.Errorf("joiner: %v", err)
			}
			if err := q.TaskDone(); !errors.Is(err, aio.ErrTaskDoneTooMany) {
				t.Errorf("TaskDone: %v", err)
			}
			return nil
		})
	})
}

// Mirrors _QueueShutdownTestMixin.test_shutdown_immediate.
func TestQueueShutdownImmediate(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(0)
			q.PutNowait("data")
			joiner := spawnErr(ctx, q.Join)
			q.Shutdown(true)
			if q.Len() != 0 {
				t.Errorf("len %d", q.Len())
			}
			yieldOnce(t, ctx)
			if _, err := joiner.Result(); err != nil {
				t.Errorf("joiner: %v", err)
			}
			expectShutDown(t, ctx, q)
			if err := q.TaskDone(); !errors.Is(err, aio.ErrTaskDoneTooMany) {
				t.Errorf("TaskDone: %v", err)
			}
			return nil
		})
	})
}

// Mirrors _QueueShutdownTestMixin.test_shutdown_immediate_with_unfinished.
func TestQueueShutdownImmediateWithUnfinished(t *testing.T) {
	forEachQueueKind(t, func(t *testing.T, newQ func(int) *aio.Queue[string]) {
		runSync(t, func(ctx context.Context) error {
			q := newQ(0)
			q.PutNowait("data")
			q.PutNowait("data")
			joiner := spawnErr(ctx, q.Join)
			if v := mustGetItem(t, ctx, q); v != "data" {
				t.Errorf("Get = %q", v)
			}
			q.Shutdown(true)
			if q.Len() != 0 {
				t.Errorf("len %d", q.Len())
			}
			yieldOnce(t, ctx)
			if joiner.Done() {
				t.Error("Join returned with an unfinished item")
			}
			expectShutDown(t, ctx, q)
			if err := q.TaskDone(); err != nil {
				t.Errorf("TaskDone: %v", err)
			}
			if err := q.TaskDone(); !errors.Is(err, aio.ErrTaskDoneTooMany) {
				t.Errorf("TaskDone: %v", err)
			}
			yieldOnce(t, ctx)
			if _, err := joiner.Result(); err != nil {
				t.Errorf("joiner: %v", err)
			}
			return nil
		})
	})
}

// ---- beyond CPython's cases ----

// A getter woken for an item that another task takes first keeps its
// turn: it waits again at the head of the line (asyncio puts it at the
// back). A deliberate difference, for strict FIFO.
func TestQueueWokenGetterKeepsItsTurn(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		g1 := aio.Spawn(ctx, q.Get)
		g2 := aio.Spawn(ctx, q.Get)
		yieldOnce(t, ctx)
		q.PutNowait(1) // wakes g1...
		if v, err := q.GetNowait(); v != 1 || err != nil {
			t.Fatalf("GetNowait = %v, %v", v, err) // ...but the item is taken first
		}
		yieldOnce(t, ctx)
		if g1.Done() || aio.SyncWaiters(q) != 2 {
			t.Fatalf("g1 %v, %d getters", g1, aio.SyncWaiters(q))
		}
		q.PutNowait(2)
		q.PutNowait(3)
		v1, _ := g1.Await(ctx)
		v2, _ := g2.Await(ctx)
		if v1 != 2 || v2 != 3 {
			t.Errorf("g1 got %d, g2 got %d: g1 lost its turn", v1, v2)
		}
		return nil
	})
}

// The ring buffer against a slice model: wrap-around, growth and
// shrinking, FIFO and LIFO, bounded and not.
func TestQueueRingModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, lifo := range []bool{false, true} {
		for _, maxsize := range []int{0, 1, 7, 100} {
			var q *aio.Queue[int]
			if lifo {
				q = &aio.NewLifoQueue[int](maxsize).Queue
			} else {
				q = aio.NewQueue[int](maxsize)
			}
			var model []int
			next := 0
			for step := range 20000 {
				// Phases of filling and draining make the ring grow and shrink.
				putBias := 60
				if (step/2000)%2 == 1 {
					putBias = 40
				}
				if rnd.IntN(100) < putBias {
					err := q.PutNowait(next)
					if maxsize > 0 && len(model) >= maxsize {
						if !errors.Is(err, aio.ErrQueueFull) {
							t.Fatalf("PutNowait on full: %v", err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("PutNowait: %v", err)
					}
					model = append(model, next)
					next++
				} else {
					v, err := q.GetNowait()
					if len(model) == 0 {
						if !errors.Is(err, aio.ErrQueueEmpty) {
							t.Fatalf("GetNowait on empty: %v", err)
						}
						continue
					}
					var want int
					if lifo {
						want, model = model[len(model)-1], model[:len(model)-1]
					} else {
						want, model = model[0], model[1:]
					}
					if v != want || err != nil {
						t.Fatalf("lifo %v maxsize %d step %d: got %d, %v; want %d", lifo, maxsize, step, v, err, want)
					}
				}
				if q.Len() != len(model) {
					t.Fatalf("len %d, model %d", q.Len(), len(model))
				}
			}
		}
	}
}

// Producers and consumers with cancellations striking waiters as they are
// woken: every item is received exactly once and no task is left waiting.
func TestQueueCancelStorm(t *testing.T) {
	runSync(t, func(ctx context.Context) error {
		const producers, consumers, perProducer = 4, 6, 200
		q := aio.NewQueue[int](3)
		seen := make(map[int]int)
		var cons []*aio.Task[struct{}]
		for i := range consumers {
			cons = append(cons, spawnErr(ctx, func(ctx context.Context) error {
				for {
					v, err := q.Get(ctx)
					if err != nil {
						if errors.Is(err, aio.ErrQueueShutDown) {
							return nil
						}
						return err
					}
					seen[v]++
					if v%5 == i%5 {
						if err := aio.Sleep(ctx, time.Millisecond); err != nil {
							return err
						}
					}
				}
			}))
		}
		var prods []*aio.Task[struct{}]
		for p := range producers {
			prods = append(prods, spawnErr(ctx, func(ctx context.Context) error {
				for i := range perProducer {
					if err := q.Put(ctx, p*perProducer+i); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		// Cancel two consumers at moments when items are being handed out.
		for round := range 6 {
			yieldOnce(t, ctx)
			if round == 2 || round == 5 {
				cons[round%consumers].Cancel()
			}
		}
		if _, err := aio.Gather(ctx, prods...); err != nil {
			return err
		}
		for q.Len() > 0 {
			yieldOnce(t, ctx)
		}
		q.Shutdown(false)
		_, errs := aio.GatherAll(ctx, cons...)
		for i, err := range errs {
			if err != nil && !isCanceledErr(err) {
				t.Errorf("consumer %d: %v", i, err)
			}
		}
		for i := range producers * perProducer {
			if seen[i] != 1 {
				t.Fatalf("item %d seen %d times", i, seen[i])
			}
		}
		if q.Len() != 0 || aio.SyncWaiters(q) != 0 || aio.QueuePutters(q) != 0 {
			t.Errorf("%v", q)
		}
		return nil
	})
}

// A queue must be made by its constructor; misuse from another goroutine
// is an error.
func TestQueueMisuse(t *testing.T) {
	var zero aio.Queue[int]
	func() {
		defer func() {
			if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "NewQueue") {
				t.Errorf("PutNowait on a zero Queue: panic %v", p)
			}
		}()
		zero.PutNowait(1)
	}()
	runSync(t, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		q.Put(ctx, 1)
		errc := make(chan error)
		go func() {
			_, err := q.GetNowait()
			errc <- err
		}()
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "goroutine") {
			t.Errorf("GetNowait from another goroutine: %v", err)
		}
		go func() {
			_, err := q.Get(ctx)
			errc <- err
		}()
		if err := <-errc; err == nil {
			t.Errorf("Get from another goroutine succeeded")
		}
		return nil
	})
}

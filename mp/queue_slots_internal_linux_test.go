package mp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// deadPid is above Linux's largest pid (2^22): never a running process.
const deadPid = 1 << 29

// slotPidWord returns the pid word of consumer slot i of q.
func slotPidWord[T any](q *Queue[T], i int) *uint32 { return q.seg.u32(qSlots + i*qSlotSize + slotPid) }

// A consumer that ended normally (leaveQueues: its function returned, its
// pool closed) is not a dead consumer when no consumer is left, where one
// that crashed is; items it took and never marked done are reported
// either way.
func TestConsumerSlotLeft(t *testing.T) {
	ctx := context.Background()
	for _, left := range []bool{false, true} {
		q, err := NewJoinableQueue[int](0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if err := q.Put(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := q.Get(ctx); err != nil { // claims this process's slot
			t.Fatal(err)
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
		i := q.consumerSlot()
		if i < 0 {
			t.Fatal("no consumer slot claimed")
		}
		if left {
			leaveQueues()
		}
		atomic.StoreUint32(slotPidWord(&q.Queue, i), deadPid) // the process is gone
		err = q.consumersGone(true)
		var died *ConsumerDiedError
		switch {
		case left && err != nil:
			t.Errorf("a consumer that ended normally: %v; want no error", err)
		case !left && (!errors.As(err, &died) || died.PID != deadPid || died.Waiting != 2):
			t.Errorf("a consumer that crashed: %v; want a *ConsumerDiedError with 2 items waiting", err)
		}
		// An item taken and never marked done is lost however it ended.
		atomic.AddUint64(q.seg.u64(qSlots+i*qSlotSize+slotTaken), 1)
		if err := q.consumersGone(true); !errors.As(err, &died) || died.Lost != 1 {
			t.Errorf("left %v, an item not done: %v; want a *ConsumerDiedError with 1 lost", left, err)
		}
		atomic.StoreUint32(slotPidWord(&q.Queue, i), 0)
		q.Close()
	}
}

// A 65th consumer process finds no slot: it is not tracked, and from then
// on the death of every tracked consumer does not mean that no consumer
// is left, so neither Join nor a waiting Put reports it.
func TestConsumerSlotsFull(t *testing.T) {
	ctx := context.Background()
	q, err := NewJoinableQueue[int](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i := range qNSlots {
		atomic.StoreUint32(slotPidWord(&q.Queue, i), 1) // init: alive, not this process
	}
	for i := range 2 {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if q.consumerSlot() >= 0 {
		t.Fatal("a slot was claimed though all were in use by live processes")
	}
	if atomic.LoadUint32(q.seg.u32(qUntrack)) == 0 {
		t.Fatal("the queue does not record its untracked consumer")
	}
	for i := range qNSlots {
		atomic.StoreUint32(slotPidWord(&q.Queue, i), deadPid)
	}
	if err := q.consumersGone(true); err != nil {
		t.Errorf("every tracked consumer dead, an untracked one alive: %v; want no error", err)
	}
	// The same slots without the untracked consumer: reported.
	atomic.StoreUint32(q.seg.u32(qUntrack), 0)
	var died *ConsumerDiedError
	if err := q.consumersGone(true); !errors.As(err, &died) || died.Waiting != 1 {
		t.Errorf("every consumer dead: %v; want a *ConsumerDiedError with 1 item waiting", err)
	}
}

// An RLock's recursion stops at the deepest level its depth word counts,
// for Lock (an error) and TryLock (false) alike, instead of wrapping to
// 0 and leaving the lock held with no level to release.
func TestRLockDepthLimit(t *testing.T) {
	ctx := context.Background()
	r, err := NewRLock()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	atomic.StoreUint32(r.seg.u32(rlockDepth), 1<<32-2)
	if err := r.Lock(ctx); err != nil {
		t.Fatalf("Lock at depth 2^32-2: %v", err)
	}
	if err := r.Lock(ctx); !errors.Is(err, errRLockDepth) {
		t.Fatalf("Lock at depth 2^32-1: %v; want errRLockDepth", err)
	}
	if r.TryLock() {
		t.Fatal("TryLock at depth 2^32-1 succeeded")
	}
	if d := atomic.LoadUint32(r.seg.u32(rlockDepth)); d != 1<<32-1 {
		t.Fatalf("depth %d after the refused calls; want 2^32-1", d)
	}
	atomic.StoreUint32(r.seg.u32(rlockDepth), 1)
	if err := r.Unlock(); err != nil {
		t.Fatal(err)
	}
	if !r.TryLock() {
		t.Fatal("the lock is not free after its last Unlock")
	}
	if err := r.Unlock(); err != nil {
		t.Fatal(err)
	}
}

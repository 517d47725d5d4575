package aio

// Test-only views of the primitives' internals, for the tests that mirror
// CPython's checks of len(lock._waiters), sem._value and the like.

// SyncWaiters returns how many tasks wait on a primitive (getters for a
// queue: use QueuePutters for the putters).
func SyncWaiters(p any) int {
	switch p := p.(type) {
	case *Lock:
		return p.q.n
	case *Event:
		return p.q.n
	case *Condition:
		return p.q.n
	case *Semaphore:
		return p.s.q.n
	case *BoundedSemaphore:
		return p.s.q.n
	case *Barrier:
		return p.q.n
	case interface{ getterCount() int }:
		return p.getterCount()
	}
	panic("SyncWaiters: not a primitive")
}

// QueuePutters returns how many tasks wait in Put.
func QueuePutters(p interface{ putterCount() int }) int { return p.putterCount() }

// QueueUnfinished returns the count of items not yet marked TaskDone.
func QueueUnfinished(p interface{ unfinishedCount() int }) int { return p.unfinishedCount() }

func (q *Queue[T]) getterCount() int     { return q.getters.n }
func (q *Queue[T]) putterCount() int     { return q.putters.n }
func (q *Queue[T]) unfinishedCount() int { return q.unfinished }

package futures

import (
	"context"
	"fmt"
	"iter"
	"reflect"
	"sync"
)

// waiter collects the indices of futures that became done, for one call of
// Wait or AsCompleted.
type waiter struct {
	mu     sync.Mutex
	ready  []int
	signal chan struct{} // capacity 1: "ready is not empty"
}

type waiterRef struct {
	w *waiter
	i int
}

func (w *waiter) notify(i int) {
	w.mu.Lock()
	w.ready = append(w.ready, i)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// take returns the indices that became done since the last call.
func (w *waiter) take(buf []int) []int {
	w.mu.Lock()
	buf = append(buf[:0], w.ready...)
	w.ready = w.ready[:0]
	w.mu.Unlock()
	return buf
}

// notifier is implemented by *Future[T] (and types embedding it): Wait and
// AsCompleted register with it instead of starting a goroutine.
type notifier interface {
	addWaiter(w *waiter, i int) bool
	removeWaiter(w *waiter)
}

// watch is one Wait or AsCompleted call watching a set of futures.
type watch[F Waitable] struct {
	fs   []F // deduplicated, in input order
	w    waiter
	stop chan struct{} // ends the goroutines of futures without notifier
	wg   sync.WaitGroup
	regd []bool // registered through notifier
}

// newWatch deduplicates fs (Python takes a set) and registers for every
// future that is not done. It returns the watch and the indices already
// done, in input order.
func newWatch[F Waitable](fs []F) (*watch[F], []int) {
	x := &watch[F]{fs: dedupe(fs)}
	x.w.signal = make(chan struct{}, 1)
	x.regd = make([]bool, len(x.fs))
	var done []int
	for i, f := range x.fs {
		if n, ok := any(f).(notifier); ok {
			if n.addWaiter(&x.w, i) {
				x.regd[i] = true
			} else {
				done = append(done, i)
			}
			continue
		}
		if f.State().Done() {
			done = append(done, i)
			continue
		}
		if x.stop == nil {
			x.stop = make(chan struct{})
		}
		x.wg.Add(1)
		go func(i int, ch <-chan struct{}) {
			defer x.wg.Done()
			select {
			case <-ch:
				x.w.notify(i)
			case <-x.stop:
			}
		}(i, f.Done())
	}
	return x, done
}

// close unregisters from every future and ends the helper goroutines.
func (x *watch[F]) close() {
	for i, f := range x.fs {
		if x.regd[i] {
			any(f).(notifier).removeWaiter(&x.w)
		}
	}
	if x.stop != nil {
		close(x.stop)
		x.wg.Wait()
	}
}

// dedupe removes repeated futures, keeping the first of each.
func dedupe[F Waitable](fs []F) []F {
	if len(fs) < 2 {
		return fs
	}
	seen := make(map[any]struct{}, len(fs))
	out := make([]F, 0, len(fs))
	for _, f := range fs {
		k := any(f)
		if k == nil || !reflect.ValueOf(k).Comparable() {
			out = append(out, f)
			continue
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		out = append(out, f)
	}
	return out
}

// AsCompleted yields the futures of fs as they complete (finish or are
// cancelled), each once: first those already done, in the order of fs, then
// the others in completion order (Python's as_completed). Repeated futures
// are yielded once. The error is nil for each future (read the future's
// own Result or Err); if ctx ends before every future is done, AsCompleted
// yields a zero F and an error wrapping ctx's error (Python's
// TimeoutError), and stops. Stopping the loop early is fine: nothing is
// left behind.
//
// In a task or a callback of a running aio event loop, AsCompleted yields
// the futures that are done without waiting, and then, instead of
// blocking the loop, a zero F with a *BlockingError matching
// ErrBlockingOnLoop, and stops.
func AsCompleted[F Waitable](ctx context.Context, fs []F) iter.Seq2[F, error] {
	return func(yield func(F, error) bool) {
		x, ready := newWatch(fs)
		defer x.close()
		remaining := len(x.fs)
		for {
			for _, i := range ready {
				remaining--
				if !yield(x.fs[i], nil) {
					return
				}
			}
			if remaining == 0 {
				return
			}
			if ready = x.w.take(ready); len(ready) > 0 {
				continue
			}
			if err := refuseOnLoop("futures: AsCompleted", insteadWait); err != nil {
				var zero F
				yield(zero, err)
				return
			}
			if ctx.Err() == nil {
				select {
				case <-x.w.signal:
					ready = x.w.take(ready)
					continue
				case <-ctx.Done():
				}
			}
			// ctx ended; futures done meanwhile are still yielded first.
			if ready = x.w.take(ready); len(ready) > 0 {
				continue
			}
			var zero F
			yield(zero, fmt.Errorf("futures: AsCompleted: %d of %d futures not done: %w", remaining, len(x.fs), context.Cause(ctx)))
			return
		}
	}
}

// Wait waits until the condition when is met for fs and returns the futures
// that are done (finished or cancelled) and those still pending, each in
// the order of fs, without repeats (Python's wait). With FirstError,
// it returns as soon as a future finishes with an error, or when all are
// done. If ctx ends first, Wait returns the two lists as they are then and
// an error wrapping ctx's error (Python returns the sets without raising:
// in Go the caller is told).
//
// In a task or a callback of a running aio event loop, Wait returns as
// usual when its condition is already met, and otherwise returns at once,
// without blocking the loop, the two lists as they are and a
// *BlockingError matching ErrBlockingOnLoop.
func Wait[F Waitable](ctx context.Context, fs []F, when ReturnWhen) (done, pending []F, err error) {
	if when != AllCompleted && when != FirstCompleted && when != FirstError {
		return nil, nil, fmt.Errorf("futures: Wait: invalid ReturnWhen %d", int(when))
	}
	x, ready := newWatch(fs)
	defer x.close()
	isDone := make([]bool, len(x.fs))
	ndone := 0
	failed := false
	met := func() bool {
		for _, i := range ready {
			if isDone[i] {
				continue
			}
			isDone[i] = true
			ndone++
			if f := x.fs[i]; f.State() == Finished && f.Err() != nil {
				failed = true
			}
		}
		switch {
		case ndone == len(x.fs):
			return true
		case when == FirstCompleted:
			return ndone > 0
		case when == FirstError:
			return failed
		}
		return false
	}
	for !met() {
		if ready = x.w.take(ready); len(ready) > 0 {
			continue
		}
		if err = refuseOnLoop("futures: Wait", insteadWait); err != nil {
			break
		}
		select {
		case <-x.w.signal:
			ready = x.w.take(ready)
			continue
		case <-ctx.Done():
		}
		if ready = x.w.take(ready); len(ready) > 0 && met() {
			break
		}
		err = fmt.Errorf("futures: Wait(%v): %d of %d futures not done: %w", when, len(x.fs)-ndone, len(x.fs), context.Cause(ctx))
		break
	}
	for i, f := range x.fs {
		if isDone[i] || f.State().Done() {
			done = append(done, f)
		} else {
			pending = append(pending, f)
		}
	}
	return done, pending, err
}

package aio

import (
	"context"
	"sync"
	"testing"
)

// awaitable is a loopthread.Awaitable without a State method, as another
// package's future might be: done only through its callback.
type awaitable struct {
	mu        sync.Mutex
	done      bool
	cbs       []func()
	cancelled bool
}

func (a *awaitable) AddDoneCallback(fn func()) {
	a.mu.Lock()
	if a.done {
		a.mu.Unlock()
		fn()
		return
	}
	a.cbs = append(a.cbs, fn)
	a.mu.Unlock()
}

func (a *awaitable) Cancel() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cancelled = !a.done
	return a.cancelled
}

func (a *awaitable) finish() {
	a.mu.Lock()
	a.done = true
	cbs := a.cbs
	a.cbs = nil
	a.mu.Unlock()
	for _, fn := range cbs {
		fn()
	}
}

// The callback run inside AddDoneCallback (already done) ends the wait at
// once, without a trip through the loop and without counting as pending
// outside work; one run later, from another goroutine, wakes the task;
// a context ended first cancels the awaitable.
func TestAwaitDoneThroughCallbacks(t *testing.T) {
	err := Run(context.Background(), func(ctx context.Context) error {
		l := CurrentLoop(ctx)
		done := &awaitable{done: true}
		if handled, err := awaitDone(ctx, done); !handled || err != nil {
			t.Errorf("awaitDone of a done awaitable = %v, %v; want true, nil", handled, err)
		}
		if l.external != 0 {
			t.Errorf("a done awaitable left %d pending outside waits", l.external)
		}

		pending := &awaitable{}
		go pending.finish()
		if handled, err := awaitDone(ctx, pending); !handled || err != nil {
			t.Errorf("awaitDone of an awaitable finished by a goroutine = %v, %v; want true, nil", handled, err)
		}
		if l.external != 0 {
			t.Errorf("a finished wait left %d pending outside waits", l.external)
		}

		never := &awaitable{}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if handled, err := awaitDone(cctx, never); !handled || err != context.Canceled || !never.cancelled {
			t.Errorf("awaitDone with an ended context = %v, %v (cancelled %v); want true, context.Canceled, cancelled", handled, err, never.cancelled)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Off the loop, awaitDone leaves the wait to the caller.
	if handled, err := awaitDone(context.Background(), &awaitable{}); handled || err != nil {
		t.Errorf("awaitDone off the loop = %v, %v; want false, nil", handled, err)
	}
}

package futures

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFutureLifecycle(t *testing.T) {
	f := NewFuture[int]()
	if s := f.State(); s != Pending {
		t.Fatalf("new future state = %v, want pending", s)
	}
	if f.Err() != nil {
		t.Fatalf("Err of a pending future = %v, want nil", f.Err())
	}
	select {
	case <-f.Done():
		t.Fatal("Done closed on a pending future")
	default:
	}
	if !f.SetRunning() {
		t.Fatal("SetRunning on a pending future = false")
	}
	if f.SetRunning() {
		t.Fatal("SetRunning twice = true")
	}
	if f.Cancel() {
		t.Fatal("Cancel of a running future = true, want false (as Python)")
	}
	if !f.Complete(42, nil) {
		t.Fatal("Complete = false")
	}
	if f.Complete(7, errors.New("late")) {
		t.Fatal("second Complete = true")
	}
	if f.Cancel() {
		t.Fatal("Cancel of a finished future = true")
	}
	<-f.Done()
	v, err := f.Result(context.Background())
	if v != 42 || err != nil || f.State() != Finished || f.Err() != nil {
		t.Fatalf("Result = %v, %v, state %v; want 42, nil, finished", v, err, f.State())
	}
	if got := f.String(); got != "Future[int](finished)" {
		t.Fatalf("String = %q", got)
	}
}

func TestFutureCompleteWithError(t *testing.T) {
	f := NewFuture[string]()
	boom := errors.New("boom")
	f.Complete("partial", boom)
	v, err := f.Result(context.Background())
	if v != "partial" || !errors.Is(err, boom) || !errors.Is(f.Err(), boom) {
		t.Fatalf("Result = %q, %v; Err = %v", v, err, f.Err())
	}
}

func TestFutureCancelPending(t *testing.T) {
	f := NewFuture[int]()
	var calls int
	f.AddDoneCallback(func() { calls++ })
	if !f.Cancel() {
		t.Fatal("Cancel of a pending future = false")
	}
	if !f.Cancel() {
		t.Fatal("Cancel of a cancelled future = false, want true (as Python)")
	}
	if calls != 1 {
		t.Fatalf("done callback ran %d times, want 1", calls)
	}
	if f.SetRunning() {
		t.Fatal("SetRunning of a cancelled future = true: the executor would run cancelled work")
	}
	if f.Complete(1, nil) {
		t.Fatal("Complete of a cancelled future = true")
	}
	_, err := f.Result(context.Background())
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Result error = %v, want ErrCancelled matching context.Canceled", err)
	}
	if f.State() != Cancelled || !errors.Is(f.Err(), ErrCancelled) {
		t.Fatalf("state %v err %v", f.State(), f.Err())
	}
}

func TestFutureResultContextEndsWaitNotWork(t *testing.T) {
	f := NewFuture[int]()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Result(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Result with a cancelled ctx = %v, want context.Canceled", err)
	}
	if f.State() != Pending {
		t.Fatalf("the wait's ctx changed the future: %v", f.State())
	}
	cause := errors.New("caller gave up")
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	cancel2(cause)
	if _, err := f.Result(ctx2); !errors.Is(err, cause) {
		t.Fatalf("Result = %v, want the context's cause", err)
	}
	f.Complete(3, nil)
	// A done future wins over an ended context.
	if v, err := f.Result(ctx); v != 3 || err != nil {
		t.Fatalf("Result of a done future with an ended ctx = %v, %v", v, err)
	}
}

func TestFutureResultWaitsAcrossGoroutines(t *testing.T) {
	f := NewFuture[int]()
	go func() {
		f.SetRunning()
		f.Complete(5, nil)
	}()
	if v, err := f.Result(context.Background()); v != 5 || err != nil {
		t.Fatalf("Result = %v, %v", v, err)
	}
}

func TestFutureCallbacks(t *testing.T) {
	f := NewFuture[int]()
	var order []int
	f.AddDoneCallback(func() { order = append(order, 1) })
	f.AddDoneCallback(func() { panic("a callback panic is logged, not fatal") })
	f.AddDoneCallback(func() { order = append(order, 2) })
	if len(order) != 0 {
		t.Fatal("callbacks ran before completion")
	}
	f.Complete(1, nil)
	f.AddDoneCallback(func() { order = append(order, 3) }) // runs at once
	if fmt.Sprint(order) != "[1 2 3]" {
		t.Fatalf("callback order %v, want [1 2 3]", order)
	}
}

// TestFutureRaces runs Complete, Cancel, SetRunning and readers at once, for
// the race detector: exactly one final state wins and every reader agrees.
func TestFutureRaces(t *testing.T) {
	for i := 0; i < 200; i++ {
		f := NewFuture[int]()
		var cbs atomic.Int32
		f.AddDoneCallback(func() { cbs.Add(1) })
		var wg sync.WaitGroup
		var completed, cancelled, started atomic.Int32
		for g := 0; g < 4; g++ {
			wg.Add(4)
			go func() {
				defer wg.Done()
				if f.Complete(g, nil) {
					completed.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				if f.Cancel() {
					cancelled.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				if f.SetRunning() {
					started.Add(1)
				}
			}()
			go func() {
				defer wg.Done()
				f.Result(context.Background())
				_ = f.Err()
			}()
		}
		wg.Wait()
		if cbs.Load() != 1 {
			t.Fatalf("callback ran %d times", cbs.Load())
		}
		if started.Load() > 1 {
			t.Fatalf("SetRunning succeeded %d times", started.Load())
		}
		switch f.State() {
		case Finished:
			if completed.Load() != 1 || cancelled.Load() != 0 {
				t.Fatalf("finished, but %d completes and %d cancels succeeded", completed.Load(), cancelled.Load())
			}
		case Cancelled:
			if completed.Load() != 0 || started.Load() != 0 {
				t.Fatalf("cancelled, but %d completes and %d starts succeeded", completed.Load(), started.Load())
			}
		default:
			t.Fatalf("state after the race: %v", f.State())
		}
	}
}

func TestStateStrings(t *testing.T) {
	for s, want := range map[State]string{Pending: "pending", Running: "running", Finished: "finished", Cancelled: "cancelled", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
	for w, want := range map[ReturnWhen]string{AllCompleted: "ALL_COMPLETED", FirstCompleted: "FIRST_COMPLETED", FirstError: "FIRST_EXCEPTION"} {
		if w.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(w), w.String(), want)
		}
	}
}

func TestErrorTypes(t *testing.T) {
	if !errors.Is(ErrCancelled, context.Canceled) {
		t.Fatal("ErrCancelled does not match context.Canceled")
	}
	cause := errors.New("no database")
	var err error = &BrokenError{Executor: "db", Reason: "initializer of worker db_0 failed", Cause: cause}
	if !errors.Is(err, ErrBroken) || !errors.Is(err, cause) {
		t.Fatalf("BrokenError does not match ErrBroken and its cause: %v", err)
	}
	sentinel := errors.New("sentinel")
	err = fmt.Errorf("wrapped: %w", &PanicError{Value: sentinel, Stack: []byte("stack")})
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, sentinel) {
		t.Fatalf("PanicError: errors.As/Is failed on %v", err)
	}
	if (&PanicError{Value: 3}).Unwrap() != nil {
		t.Fatal("PanicError of a non-error unwraps to something")
	}
}

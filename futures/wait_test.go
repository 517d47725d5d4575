package futures

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func pendingFutures(n int) []*Future[int] {
	fs := make([]*Future[int], n)
	for i := range fs {
		fs[i] = NewFuture[int]()
	}
	return fs
}

func TestAsCompletedOrder(t *testing.T) {
	fs := pendingFutures(4)
	fs[1].Complete(1, nil) // already done: yielded first
	var got []*Future[int]
	for f, err := range AsCompleted(bg, fs) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f)
		switch len(got) {
		case 1:
			go fs[3].Complete(3, nil)
		case 2:
			fs[0].Cancel() // a cancelled future is completed too
		case 3:
			go fs[2].Complete(2, errors.New("failed"))
		}
	}
	want := []*Future[int]{fs[1], fs[3], fs[0], fs[2]}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 4 {
		t.Fatalf("order %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("position %d: got another future", i)
		}
	}
}

func TestAsCompletedDedupAndEmpty(t *testing.T) {
	f := NewFuture[int]()
	f.Complete(1, nil)
	n := 0
	for range AsCompleted(bg, []*Future[int]{f, f, f}) {
		n++
	}
	if n != 1 {
		t.Fatalf("a future listed three times was yielded %d times", n)
	}
	for range AsCompleted(bg, []*Future[int](nil)) {
		t.Fatal("AsCompleted of nothing yielded")
	}
}

func TestAsCompletedDeadline(t *testing.T) {
	fs := pendingFutures(3)
	fs[2].Complete(2, nil)
	ctx, cancel := context.WithTimeout(bg, 0)
	defer cancel()
	var got []*Future[int]
	var last error
	for f, err := range AsCompleted(ctx, fs) {
		if err != nil {
			last = err
			if f != nil {
				t.Fatal("the error comes with a zero future")
			}
			continue
		}
		got = append(got, f)
	}
	if len(got) != 1 || got[0] != fs[2] || !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("got %v, error %v; want the done future then DeadlineExceeded", got, last)
	}
	// The futures forgot the finished call.
	for _, f := range fs[:2] {
		if len(f.waiters) != 0 {
			t.Fatal("AsCompleted left a waiter on a pending future")
		}
	}
}

func TestAsCompletedBreakLeavesNothing(t *testing.T) {
	fs := pendingFutures(3)
	fs[0].Complete(0, nil)
	for range AsCompleted(bg, fs) {
		break
	}
	for _, f := range fs {
		if len(f.waiters) != 0 {
			t.Fatal("AsCompleted left a waiter after break")
		}
	}
}

// chanFuture is a Waitable of another package's kind: no AddDoneCallback,
// so Wait and AsCompleted watch it with a goroutine, which must end.
type chanFuture struct {
	once sync.Once
	done chan struct{}
	err  error
}

func newChanFuture() *chanFuture { return &chanFuture{done: make(chan struct{})} }

func (c *chanFuture) Done() <-chan struct{} { return c.done }
func (c *chanFuture) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}
func (c *chanFuture) State() State {
	select {
	case <-c.done:
		return Finished
	default:
		return Pending
	}
}
func (c *chanFuture) Cancel() bool { return false }
func (c *chanFuture) finish(err error) {
	c.once.Do(func() { c.err = err; close(c.done) })
}

func TestAsCompletedForeignWaitable(t *testing.T) {
	fs := []*chanFuture{newChanFuture(), newChanFuture(), newChanFuture()}
	fs[2].finish(nil)
	var got []*chanFuture
	for f := range AsCompleted(bg, fs) {
		got = append(got, f)
		if len(got) == 1 {
			fs[0].finish(nil)
		}
		if len(got) == 2 {
			break // fs[1] never completes: its watcher goroutine must end (goleak)
		}
	}
	if got[0] != fs[2] || got[1] != fs[0] {
		t.Fatal("wrong order")
	}
	// Mixed kinds through the interface type.
	ws := []Waitable{fs[1], NewFuture[int]()}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	done, pending, err := Wait(ctx, ws, AllCompleted)
	if !errors.Is(err, context.Canceled) || len(done) != 0 || len(pending) != 2 {
		t.Fatalf("Wait: %v %v %v", done, pending, err)
	}
}

func TestAsCompletedWithPool(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(4))
	defer shutdown(t, p)
	var fs []*Future[int]
	for i := 0; i < 100; i++ {
		fs = append(fs, mustSubmit(t, p, func(context.Context) (int, error) { return i, nil }))
	}
	seen := map[int]bool{}
	for f, err := range AsCompleted(bg, fs) {
		if err != nil {
			t.Fatal(err)
		}
		v, _ := f.Result(bg)
		if seen[v] {
			t.Fatalf("%d yielded twice", v)
		}
		seen[v] = true
	}
	if len(seen) != 100 {
		t.Fatalf("yielded %d of 100", len(seen))
	}
}

func TestWaitFirstCompleted(t *testing.T) {
	fs := pendingFutures(3)
	go fs[1].Complete(1, nil)
	done, pending, err := Wait(bg, fs, FirstCompleted)
	if err != nil || len(done) != 1 || done[0] != fs[1] || len(pending) != 2 || pending[0] != fs[0] || pending[1] != fs[2] {
		t.Fatalf("done %v pending %v err %v", done, pending, err)
	}
	// Already done: returns at once.
	done, _, err = Wait(bg, fs, FirstCompleted)
	if err != nil || len(done) != 1 {
		t.Fatalf("second Wait: %v %v", done, err)
	}
}

func TestWaitFirstError(t *testing.T) {
	fs := pendingFutures(4)
	fs[0].Complete(0, nil)
	boom := errors.New("boom")
	started := make(chan struct{})
	go func() {
		<-started
		fs[1].Cancel()          // cancelled: not an exception
		fs[2].Complete(0, boom) // the first exception
	}()
	close(started)
	done, pending, err := Wait(bg, fs, FirstError)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 3 || done[0] != fs[0] || done[1] != fs[1] || done[2] != fs[2] || len(pending) != 1 || pending[0] != fs[3] {
		t.Fatalf("done %v pending %v", done, pending)
	}
	// Without any failure FIRST_EXCEPTION waits for all.
	gs := pendingFutures(2)
	gs[0].Cancel()
	go gs[1].Complete(1, nil)
	done, pending, err = Wait(bg, gs, FirstError)
	if err != nil || len(done) != 2 || len(pending) != 0 {
		t.Fatalf("no failure: done %v pending %v err %v", done, pending, err)
	}
}

func TestWaitAllCompleted(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	var fs []*Future[int]
	for i := 0; i < 20; i++ {
		fs = append(fs, mustSubmit(t, p, func(context.Context) (int, error) { return i, nil }))
	}
	fs = append(fs, fs[0]) // repeats collapse, as Python's sets
	done, pending, err := Wait(bg, fs, AllCompleted)
	if err != nil || len(done) != 20 || len(pending) != 0 {
		t.Fatalf("done %d pending %d err %v", len(done), len(pending), err)
	}
	for i, f := range done {
		if v, _ := f.Result(bg); v != i {
			t.Fatal("done is not in input order")
		}
	}
	done, pending, err = Wait(bg, []*Future[int](nil), AllCompleted)
	if err != nil || done != nil || pending != nil {
		t.Fatal("Wait of nothing")
	}
	if _, _, err := Wait(bg, fs, ReturnWhen(42)); err == nil {
		t.Fatal("invalid ReturnWhen accepted")
	}
}

func TestWaitContextEnds(t *testing.T) {
	fs := pendingFutures(3)
	fs[0].Complete(0, nil)
	ctx, cancel := context.WithCancel(bg)
	go cancel()
	done, pending, err := Wait(ctx, fs, AllCompleted)
	if !errors.Is(err, context.Canceled) || len(done) != 1 || len(pending) != 2 {
		t.Fatalf("done %v pending %v err %v", done, pending, err)
	}
	for _, f := range fs {
		if len(f.waiters) != 0 {
			t.Fatal("Wait left a waiter behind")
		}
	}
}

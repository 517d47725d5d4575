package aio_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/braid-go/braid/aio"
)

// Two loops using a fresh primitive at the same moment: binding is a
// compare-and-swap, so exactly one loop gets it and the other is refused
// with ErrOtherLoop before it touches the primitive's state (with -race, a
// write of the loser would be reported). Each loop stays open until both
// tried: a primitive of a closed loop may be bound again.
func TestFirstUseBindsOneLoop(t *testing.T) {
	type firstUse struct {
		name string
		use  func(ctx context.Context) error
	}
	for i := range 50 {
		var mu aio.Lock
		var ev aio.Event
		sem := aio.NewSemaphore(2)
		q := aio.NewQueue[int](0)
		uses := []firstUse{
			{"Lock.Acquire", mu.Acquire},
			{"Semaphore.Acquire", sem.Acquire},
			{"Queue.Put", func(ctx context.Context) error { return q.Put(ctx, 1) }},
			{"Event.Wait", func(ctx context.Context) error {
				ev.Set() // binds, or panics with ErrOtherLoop
				return ev.Wait(ctx)
			}},
		}
		start := make(chan struct{})
		var tried sync.WaitGroup
		tried.Add(2)
		results := make([][]error, 2)
		var runs sync.WaitGroup
		for k := range 2 {
			runs.Add(1)
			go func() {
				defer runs.Done()
				err := aio.Run(context.Background(), func(ctx context.Context) error {
					<-start // a plain wait: this loop has nothing else to run
					for _, u := range uses {
						results[k] = append(results[k], catch(func() error { return u.use(ctx) }))
					}
					tried.Done()
					_, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) { tried.Wait(); return struct{}{}, nil })
					return err
				})
				if err != nil {
					t.Errorf("loop %d: %v", k, err)
				}
			}()
		}
		close(start)
		runs.Wait()
		for j, u := range uses {
			a, b := results[0][j], results[1][j]
			if (a == nil) == (b == nil) || !errors.Is(a, aio.ErrOtherLoop) && !errors.Is(b, aio.ErrOtherLoop) {
				t.Fatalf("round %d, %s by two loops at once: %v and %v; want one nil and one ErrOtherLoop", i, u.name, a, b)
			}
		}
	}
}

// catch returns f's error, or the error f panicked with.
func catch(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			e, ok := p.(error)
			if !ok {
				panic(p)
			}
			err = e
		}
	}()
	return f()
}

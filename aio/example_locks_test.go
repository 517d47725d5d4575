package aio_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/braid-go/braid/aio"
)

// A Lock guards state that a task reads, awaits something, then writes:
// without it, the two tasks would lose each other's updates.
func ExampleLock() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var mu aio.Lock
		balance := 100
		withdraw := func(amount int) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				if err := mu.Acquire(ctx); err != nil {
					return err
				}
				defer mu.Release()
				b := balance
				if err := aio.Sleep(ctx, time.Millisecond); err != nil { // a database round trip
					return err
				}
				balance = b - amount
				return nil
			}
		}
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			g.Go(withdraw(30))
			g.Go(withdraw(50))
			return nil
		})
		fmt.Println("balance:", balance)
		return err
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output: balance: 20
}

// A Semaphore bounds how many tasks do something at once: here at most
// 3 of 10 downloads are in flight, as the articles' crawler does with
// asyncio.Semaphore(50).
func ExampleSemaphore() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		sem := aio.NewSemaphore(3)
		inFlight, peak := 0, 0
		fetch := func(ctx context.Context) error {
			if err := sem.Acquire(ctx); err != nil {
				return err
			}
			defer sem.Release()
			inFlight++
			peak = max(peak, inFlight)
			defer func() { inFlight-- }()
			return aio.Sleep(ctx, 20*time.Millisecond) // the request
		}
		start := aio.CurrentLoop(ctx).Time()
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for range 10 {
				g.Go(fetch)
			}
			return nil
		})
		fmt.Println("peak in flight:", peak)
		fmt.Println("took:", aio.CurrentLoop(ctx).Time().Sub(start))
		return err
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// peak in flight: 3
	// took: 80ms
}

// An Event lets many tasks wait for one thing to happen.
func ExampleEvent() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var ready aio.Event
		err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for i := range 3 {
				g.Go(func(ctx context.Context) error {
					if err := ready.Wait(ctx); err != nil {
						return err
					}
					fmt.Println("worker", i, "starts")
					return nil
				})
			}
			if err := aio.Sleep(ctx, time.Second); err != nil { // warming up
				return err
			}
			fmt.Println("ready")
			ready.Set()
			return nil
		})
		return err
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// ready
	// worker 0 starts
	// worker 1 starts
	// worker 2 starts
}

// A Condition lets tasks wait, lock held, until shared state satisfies a
// predicate.
func ExampleCondition_WaitFor() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		var cond aio.Condition
		stock := 0
		consumer := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := cond.Acquire(ctx); err != nil {
				return 0, err
			}
			defer cond.Release()
			if err := cond.WaitFor(ctx, func() bool { return stock >= 3 }); err != nil {
				return 0, err
			}
			stock -= 3
			return 3, nil
		})
		for range 4 {
			if err := aio.Sleep(ctx, time.Millisecond); err != nil {
				return err
			}
			if err := cond.Acquire(ctx); err != nil {
				return err
			}
			stock++
			cond.NotifyAll()
			cond.Release()
		}
		n, err := consumer.Await(ctx)
		fmt.Println("took", n, "left", stock)
		return err
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output: took 3 left 1
}

// A Barrier makes tasks wait for each other between phases.
func ExampleBarrier() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		b := aio.NewBarrier(3)
		start := aio.CurrentLoop(ctx).Time()
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for i := range 3 {
				g.Go(func(ctx context.Context) error {
					// Phase 1 takes each task a different time.
					if err := aio.Sleep(ctx, time.Duration(i)*time.Second); err != nil {
						return err
					}
					idx, err := b.Wait(ctx)
					if err != nil {
						return err
					}
					if idx == b.Parties()-1 {
						fmt.Println("all arrived after", aio.CurrentLoop(ctx).Time().Sub(start))
					}
					return nil
				})
			}
			return nil
		})
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output: all arrived after 2s
}

// A bounded Queue hands work from a producer to workers; TaskDone and
// Join tell when all of it is processed, and Shutdown ends the workers.
func ExampleQueue() {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		q := aio.NewQueue[string](2) // Put waits while 2 items are queued
		total := 0
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for range 3 {
				g.Go(func(ctx context.Context) error {
					for {
						url, err := q.Get(ctx)
						if errors.Is(err, aio.ErrQueueShutDown) {
							return nil // drained and shut down: done
						}
						if err != nil {
							return err
						}
						total += len(url)
						if err := aio.Sleep(ctx, 10*time.Millisecond); err != nil {
							return err
						}
						q.TaskDone()
					}
				})
			}
			for _, url := range []string{"/a", "/bb", "/ccc", "/dddd", "/eeeee"} {
				if err := q.Put(ctx, url); err != nil {
					return err
				}
			}
			if err := q.Join(ctx); err != nil { // every item processed
				return err
			}
			fmt.Println("processed bytes:", total)
			q.Shutdown(false)
			return nil
		})
	}, aio.WithVirtualClock())
	if err != nil {
		fmt.Println(err)
	}
	// Output: processed bytes: 20
}

// PutNowait and GetNowait never wait: they report a full or empty queue
// with an error instead.
func ExampleQueue_PutNowait() {
	q := aio.NewQueue[int](1)
	fmt.Println(q.PutNowait(1))
	fmt.Println(q.PutNowait(2))
	fmt.Println(q.GetNowait())
	fmt.Println(q.GetNowait())
	// Output:
	// <nil>
	// aio: the queue is full (Put waits for room; PutNowait does not)
	// 1 <nil>
	// 0 aio: the queue is empty (Get waits for an item; GetNowait does not)
}

// A PriorityQueue hands out its smallest item first; items of equal
// priority come out in the order they were put.
func ExamplePriorityQueue() {
	type job struct {
		prio int
		name string
	}
	q := aio.NewPriorityQueueFunc(0, func(a, b job) int { return cmp.Compare(a.prio, b.prio) })
	for _, j := range []job{{2, "report"}, {0, "page the on-call"}, {1, "reply"}, {2, "refactor"}} {
		q.PutNowait(j)
	}
	for !q.Empty() {
		j, _ := q.GetNowait()
		fmt.Println(j.prio, j.name)
	}
	// Output:
	// 0 page the on-call
	// 1 reply
	// 2 report
	// 2 refactor
}

// A LifoQueue hands out the most recent item first.
func ExampleLifoQueue() {
	q := aio.NewLifoQueue[string](0)
	for _, s := range []string{"first", "second", "third"} {
		q.PutNowait(s)
	}
	for !q.Empty() {
		s, _ := q.GetNowait()
		fmt.Println(s)
	}
	// Output:
	// third
	// second
	// first
}

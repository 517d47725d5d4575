package aio_test

import (
	"context"
	"testing"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/cmd/braid/bench"
)

// runSyncBench runs body as the main task of a fresh loop (real clock).
func runSyncBench(b *testing.B, body func(ctx context.Context) error) {
	b.Helper()
	if err := aio.Run(context.Background(), body); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPingPong: one op = one message. Two tasks ping-pong messages
// through two Queue[int] of size 1; each round trip moves two messages
// (peer: ../shared/peers/a_loop.py a2, asyncio and uvloop).
func BenchmarkPingPong(b *testing.B) {
	runSyncBench(b, func(ctx context.Context) error {
		b.ReportAllocs()
		_, err := bench.PingPongOn(ctx, (b.N+1)/2, b.ResetTimer)
		b.StopTimer()
		return err
	})
}

// BenchmarkSemaphoreContention: 1,000 tasks contend for a Semaphore(50),
// each holding it across one yield to the loop (aio.Sleep(ctx, 0), the
// stand-in for the I/O a crawler does under its semaphore). One op = one
// acquire/release pair, the yield included.
func BenchmarkSemaphoreContention(b *testing.B) {
	const tasks = 1000
	runSyncBench(b, func(ctx context.Context) error {
		sem := aio.NewSemaphore(50)
		per := b.N / tasks
		extra := b.N % tasks
		b.ReportAllocs()
		b.ResetTimer()
		return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
			for i := range tasks {
				n := per
				if i < extra {
					n++
				}
				err := g.Go(func(ctx context.Context) error {
					for range n {
						if err := sem.Acquire(ctx); err != nil {
							return err
						}
						err := aio.Sleep(ctx, 0)
						sem.Release()
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// BenchmarkLockUncontended: one op = Acquire + Release of a free Lock.
func BenchmarkLockUncontended(b *testing.B) {
	runSyncBench(b, func(ctx context.Context) error {
		var mu aio.Lock
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if err := mu.Acquire(ctx); err != nil {
				return err
			}
			mu.Release()
		}
		return nil
	})
}

// BenchmarkQueuePutGet: one op = Put + Get on an unbounded queue, with no
// waiting (the ring buffer alone).
func BenchmarkQueuePutGet(b *testing.B) {
	runSyncBench(b, func(ctx context.Context) error {
		q := aio.NewQueue[int](0)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := q.Put(ctx, i); err != nil {
				return err
			}
			if _, err := q.Get(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

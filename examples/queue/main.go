// Command queue is the producer-consumer pattern on one event loop:
// several producers put work into a bounded asyncio.Queue, several
// consumers take it, the main task waits for the producers, then for every
// item to be processed (Queue.join), then shuts the queue down (Python
// 3.13's Queue.shutdown) so that the consumers end.
//
// Python:
//
//	async def producer(q, p, n):
//	    for i in range(n):
//	        await asyncio.sleep(produce)
//	        await q.put(Item(p, i))      # waits while the queue is full
//	async def consumer(q, c):
//	    while True:
//	        try:
//	            item = await q.get()
//	        except asyncio.QueueShutDown:
//	            return
//	        await asyncio.sleep(work)     # the I/O each item needs
//	        q.task_done()
//	q = asyncio.Queue(maxsize=10)
//	async with asyncio.TaskGroup() as tg:
//	    for c in range(consumers): tg.create_task(consumer(q, c))
//	    await asyncio.gather(*(producer(q, p, n) for p in range(producers)))
//	    await q.join()
//	    q.shutdown()
//
// braid: aio.Run, aio.Group, aio.Spawn, aio.Gather, aio.NewQueue, Queue.Put,
// Queue.Get, Queue.TaskDone, Queue.Join, Queue.Shutdown, aio.ErrQueueShutDown.
// It prints the time against the sequential version (one consumer).
//
//	go run ./examples/queue -producers 4 -consumers 50 -items 100 -work 20ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/braid-go/braid/aio"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// Item is one piece of work: which producer made it, and its number there.
type Item struct {
	Producer, N int
}

type config struct {
	producers, consumers, items, maxsize int
	produce, work                        time.Duration
}

// report is what one run of the pipeline did.
type report struct {
	produced, consumed int
	perConsumer        []int
	sum                int // of the items' N, to check nothing was lost or doubled
	elapsed            time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("queue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.producers, "producers", 3, "producer tasks")
	fs.IntVar(&c.consumers, "consumers", 10, "consumer tasks")
	fs.IntVar(&c.items, "items", 50, "items each producer puts")
	fs.IntVar(&c.maxsize, "maxsize", 10, "the queue's bound (0: unbounded)")
	fs.DurationVar(&c.produce, "produce", time.Millisecond, "time to produce one item")
	fs.DurationVar(&c.work, "work", 10*time.Millisecond, "time to process one item (simulated I/O)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.producers < 1 || c.consumers < 1 || c.items < 0 || c.maxsize < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "queue: -producers and -consumers must be >= 1, -items and -maxsize >= 0, and there are no arguments")
		return 2
	}
	err := aio.Run(ctx, func(ctx context.Context) error {
		r, err := pipeline(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d producers, %d consumers, queue bound %d\n", c.producers, c.consumers, c.maxsize)
		fmt.Fprintf(stdout, "produced %d, consumed %d, checksum %d (want %d)\n", r.produced, r.consumed, r.sum, c.producers*c.items*(c.items-1)/2)
		fmt.Fprintf(stdout, "items per consumer: %v\n", r.perConsumer)

		one := c
		one.consumers = 1
		seq, err := pipeline(ctx, one)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d consumers: %v; 1 consumer (sequential): %v; speedup %.1fx\n",
			c.consumers, r.elapsed.Round(time.Millisecond), seq.elapsed.Round(time.Millisecond),
			seq.elapsed.Seconds()/r.elapsed.Seconds())
		if r.consumed != r.produced || seq.consumed != seq.produced {
			return fmt.Errorf("items lost: %d produced, %d consumed", r.produced, r.consumed)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "queue:", err)
		return 1
	}
	return 0
}

// pipeline runs the producers and consumers once.
func pipeline(ctx context.Context, c config) (report, error) {
	start := time.Now()
	q := aio.NewQueue[Item](c.maxsize)
	r := report{perConsumer: make([]int, c.consumers)}
	// The group ends when the main body and every consumer have ended; if
	// one fails, the others are cancelled.
	err := aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
		for id := range c.consumers {
			g.Go(func(ctx context.Context) error {
				for {
					item, err := q.Get(ctx)
					if errors.Is(err, aio.ErrQueueShutDown) {
						return nil // the queue is shut down and empty: done
					}
					if err != nil {
						return err
					}
					if err := aio.Sleep(ctx, c.work); err != nil {
						return err
					}
					// Tasks of one loop never run at once: no lock.
					r.consumed++
					r.perConsumer[id]++
					r.sum += item.N
					q.TaskDone()
				}
			})
		}

		producers := make([]*aio.Task[int], c.producers)
		for p := range producers {
			producers[p] = aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				for i := range c.items {
					if err := aio.Sleep(ctx, c.produce); err != nil {
						return i, err
					}
					if err := q.Put(ctx, Item{Producer: p, N: i}); err != nil {
						return i, err
					}
				}
				return c.items, nil
			})
		}
		counts, err := aio.Gather(ctx, producers...)
		if err != nil {
			return err
		}
		for _, n := range counts {
			r.produced += n
		}
		if err := q.Join(ctx); err != nil { // every item processed
			return err
		}
		q.Shutdown(false) // the consumers' Get now fails: they return
		return nil
	})
	r.elapsed = time.Since(start)
	return r, err
}

// Command pcqueue is the producer-consumer pattern across processes:
// several producer processes put items into one shared queue, several
// consumer processes take them and do CPU-bound work on each, and the
// program checks that every item was consumed exactly once. It prints the
// time against one process doing all the work alone.
//
// Python (multiprocessing.Process and multiprocessing.Queue, one sentinel
// per consumer):
//
//	def producer(q, p, n):
//	    for i in range(n):
//	        q.put((p, i))
//	def consumer(q, done):
//	    while (item := q.get()) is not None:    # None: the sentinel
//	        done.put((item, digest(item)))
//	q = multiprocessing.Queue(maxsize=64)
//	consumers = [Process(target=consumer, args=(q, done)) for _ in range(c)]
//	producers = [Process(target=producer, args=(q, p, n)) for p in range(k)]
//	for p in consumers + producers: p.start()
//	for p in producers: p.join()
//	for _ in consumers: q.put(None)             # one sentinel per consumer
//	for p in consumers: p.join()
//
// or, with a JoinableQueue, consumers that call q.task_done() and a
// q.join() that waits until every item is done.
//
// braid: mp.Register (the producer and the consumer, by name, so that the
// child processes, this program started again, have them), mp.Main,
// mp.NewProcess, Process.Start/Join/ExitCode, mp.NewJoinableQueue,
// Queue.Put/Get/Shutdown, JoinableQueue.TaskDone/Join, mp.ErrQueueShutDown,
// mp.ConsumerDiedError (what Put and Join return when the consumers died),
// and mp.NewArray/mp.NewValue for the results (each consumer counts the
// items it took in a shared Array instead of sending them back). With
// -end join (the default) the main process waits on JoinableQueue.Join and
// then shuts the queue down (Python 3.13's Queue.shutdown), which ends the
// consumers without sentinels; -end sentinel puts one sentinel item per
// consumer, as the Python above.
//
//	go run ./examples/pcqueue -producers 4 -consumers 4 -items 2000 -rounds 2000
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/braid-go/braid/mp"
)

// Item is one piece of work: which producer made it, and its number there.
// A negative Producer is the sentinel that tells a consumer to stop.
type Item struct {
	Producer, N int
}

// digest is the CPU-bound work done on each item: rounds of SHA-256.
func digest(it Item, rounds int) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(it.Producer))
	binary.LittleEndian.PutUint64(b[8:], uint64(it.N))
	h := sha256.Sum256(b[:])
	for range rounds {
		h = sha256.Sum256(h[:])
	}
	return binary.LittleEndian.Uint64(h[:8])
}

// ProduceArg is what a producer process is given.
type ProduceArg struct {
	Q        *mp.JoinableQueue[Item]
	Producer int
	Items    int
}

// ConsumeArg is what a consumer process is given: the queue, and where to
// record what it consumed.
type ConsumeArg struct {
	Q        *mp.JoinableQueue[Item]
	Consumer int
	Items    int // per producer: Seen's index of an item is Producer*Items+N
	Rounds   int
	Seen     *mp.Array[int32]  // how many times each item was consumed
	Taken    *mp.Array[int64]  // how many items each consumer took
	Checksum *mp.Value[uint64] // the sum of the digests (wrapping)
}

var (
	// Produce puts Items items into the queue, waiting while it is full.
	Produce = mp.Register("examples.pcqueue.produce", func(ctx context.Context, a ProduceArg) (struct{}, error) {
		for n := range a.Items {
			if err := a.Q.Put(ctx, Item{a.Producer, n}); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})

	// Consume takes items until the queue is shut down and drained, or it
	// gets a sentinel.
	Consume = mp.Register("examples.pcqueue.consume", func(ctx context.Context, a ConsumeArg) (struct{}, error) {
		var sum uint64
		defer func() { a.Checksum.Add(sum) }()
		for {
			it, err := a.Q.Get(ctx)
			if errors.Is(err, mp.ErrQueueShutDown) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			if it.Producer < 0 { // the sentinel
				return struct{}{}, a.Q.TaskDone()
			}
			sum += digest(it, a.Rounds)
			a.Seen.Add(it.Producer*a.Items+it.N, 1)
			a.Taken.Add(a.Consumer, 1)
			if err := a.Q.TaskDone(); err != nil {
				return struct{}{}, err
			}
		}
	})
)

func main() {
	mp.Main() // in a child process: run its function, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	producers, consumers, items, rounds, maxsize int
	end                                          string
	consume                                      mp.Func[ConsumeArg, struct{}] // Consume; a test's failing consumer
}

// result is what one run of the pipeline did.
type result struct {
	taken    []int64
	seen     []int32
	checksum uint64
	elapsed  time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("pcqueue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.producers, "producers", 2, "producer processes")
	fs.IntVar(&c.consumers, "consumers", runtime.NumCPU(), "consumer processes")
	fs.IntVar(&c.items, "items", 500, "items each producer puts")
	fs.IntVar(&c.rounds, "rounds", 4000, "SHA-256 rounds of work per item")
	fs.IntVar(&c.maxsize, "maxsize", 64, "the queue's bound (0: only its buffer's size)")
	fs.StringVar(&c.end, "end", "join", "how the consumers are stopped: join (JoinableQueue.Join, then Shutdown) or sentinel (one per consumer)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.producers < 1 || c.consumers < 1 || c.items < 0 || c.rounds < 0 || c.maxsize < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pcqueue: -producers and -consumers must be >= 1, -items, -rounds and -maxsize >= 0, and there are no arguments")
		return 2
	}
	if c.end != "join" && c.end != "sentinel" {
		fmt.Fprintf(stderr, "pcqueue: -end %q: want join or sentinel\n", c.end)
		return 2
	}
	if total := int64(c.producers) * int64(c.items); total > mp.MaxArrayElements {
		fmt.Fprintf(stderr, "pcqueue: -producers x -items is %d; at most %d items are checked, use fewer\n", total, mp.MaxArrayElements)
		return 2
	}

	fmt.Fprintf(stdout, "%d producer and %d consumer processes, %d items of %d SHA-256 rounds, queue bound %d, end by %s, %d CPUs\n",
		c.producers, c.consumers, c.producers*c.items, c.rounds, c.maxsize, c.end, runtime.NumCPU())
	c.consume = Consume
	r, err := pipeline(ctx, c)
	if err != nil {
		fmt.Fprintln(stderr, "pcqueue:", err)
		return 1
	}

	// The multiset check: every item consumed exactly once.
	lost, duplicated := 0, 0
	for _, n := range r.seen {
		switch {
		case n == 0:
			lost++
		case n > 1:
			duplicated += int(n) - 1
		}
	}
	var consumed int64
	for _, n := range r.taken {
		consumed += n
	}
	fmt.Fprintf(stdout, "produced %d, consumed %d: %d lost, %d duplicated\n", len(r.seen), consumed, lost, duplicated)
	fmt.Fprintf(stdout, "items per consumer: %v\n", r.taken)

	start := time.Now()
	want := sequential(c)
	seq := time.Since(start)
	fmt.Fprintf(stdout, "checksum %016x, one process alone %016x\n", r.checksum, want)
	fmt.Fprintf(stdout, "%d processes: %v (process start included); one process: %v; speedup %.1fx\n",
		c.producers+c.consumers, r.elapsed.Round(time.Millisecond), seq.Round(time.Millisecond), seq.Seconds()/r.elapsed.Seconds())
	if lost != 0 || duplicated != 0 || consumed != int64(len(r.seen)) || r.checksum != want {
		fmt.Fprintln(stderr, "pcqueue: the consumers did not take every item exactly once")
		return 1
	}
	return 0
}

// sequential is the same work done by one process, with no queue.
func sequential(c config) uint64 {
	var sum uint64
	for p := range c.producers {
		for n := range c.items {
			sum += digest(Item{p, n}, c.rounds)
		}
	}
	return sum
}

// pipeline runs the producer and consumer processes once.
func pipeline(ctx context.Context, c config) (r result, err error) {
	start := time.Now()
	q, err := mp.NewJoinableQueue[Item](c.maxsize)
	if err != nil {
		return r, err
	}
	defer q.Close()
	seen, err := mp.NewArray[int32](c.producers * c.items)
	if err != nil {
		return r, err
	}
	defer seen.Close()
	taken, err := mp.NewArray[int64](c.consumers)
	if err != nil {
		return r, err
	}
	defer taken.Close()
	checksum, err := mp.NewValue[uint64](0)
	if err != nil {
		return r, err
	}
	defer checksum.Close()

	var started []*mp.Process
	// On an error, stop what was started, so that no child outlives the run.
	defer func() {
		if err != nil {
			for _, p := range started {
				p.Kill()
				p.Join(context.Background())
			}
		}
	}()
	startProcess := func(p *mp.Process, err error) (*mp.Process, error) {
		if err != nil {
			return nil, err
		}
		if err := p.Start(); err != nil {
			return nil, err
		}
		started = append(started, p)
		return p, nil
	}
	join := func(ctx context.Context, p *mp.Process) error {
		if err := p.Join(ctx); err != nil {
			return err
		}
		if code, _ := p.ExitCode(); code != 0 {
			return fmt.Errorf("%v exited with code %d", p, code)
		}
		return nil
	}

	consumers := make([]*mp.Process, c.consumers)
	for i := range consumers {
		arg := ConsumeArg{Q: q, Consumer: i, Items: c.items, Rounds: c.rounds, Seen: seen, Taken: taken, Checksum: checksum}
		if consumers[i], err = startProcess(mp.NewProcess(c.consume, arg, mp.ProcessName(fmt.Sprintf("consumer-%d", i)))); err != nil {
			return r, err
		}
	}
	// A consumer that dies does not leave the producers blocked on the
	// full queue, nor Join waiting for a TaskDone that never comes (as
	// in Python): Put and Join return an *mp.ConsumerDiedError, which
	// names the process.
	named := func(err error) error {
		var died *mp.ConsumerDiedError
		if errors.As(err, &died) {
			for _, p := range consumers {
				if p.Pid() == died.PID {
					return fmt.Errorf("%v exited before the queue was done: %w", p, err)
				}
			}
		}
		return err
	}
	producers := make([]*mp.Process, c.producers)
	for i := range producers {
		arg := ProduceArg{Q: q, Producer: i, Items: c.items}
		if producers[i], err = startProcess(mp.NewProcess(Produce, arg, mp.ProcessName(fmt.Sprintf("producer-%d", i)))); err != nil {
			return r, err
		}
	}
	for _, p := range producers {
		if err = join(ctx, p); err != nil {
			// A producer fails when its Put finds the consumers dead:
			// the queue says which one.
			if qerr := q.Join(ctx); qerr != nil {
				err = fmt.Errorf("%w (%w)", named(qerr), err)
			}
			return r, err
		}
	}
	if c.end == "join" {
		if err = q.Join(ctx); err != nil { // every item put was TaskDone
			return r, named(err)
		}
	}
	switch c.end {
	case "join":
		if err = q.Shutdown(); err != nil { // the consumers' Get returns ErrQueueShutDown
			return r, err
		}
	case "sentinel":
		for range c.consumers {
			if err = q.Put(ctx, Item{Producer: -1}); err != nil {
				return r, err
			}
		}
	}
	for _, p := range consumers {
		if err = join(ctx, p); err != nil {
			return r, err
		}
	}
	r.elapsed = time.Since(start)
	r.seen = append([]int32(nil), seen.Slice()...)
	r.taken = append([]int64(nil), taken.Slice()...)
	r.checksum = checksum.Load()
	return r, nil
}

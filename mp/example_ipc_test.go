//go:build linux

package mp_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/braid-go/braid/mp"
)

// The functions the examples run in child processes, registered at
// package level as every function a Process or Pool runs.

type sumArg struct {
	Q     *mp.Queue[int]
	Total *mp.Value[int64]
}

type incArg struct {
	V *mp.Value[int64]
	N int
}

type partArg struct {
	A      *mp.Array[float64]
	Lo, Hi int
	Sums   *mp.Array[float64]
	Slot   int
}

var (
	// ExProduce puts 1..100 into the queue (Python: def producer(q)).
	ExProduce = mp.Register("example.produce", func(ctx context.Context, q *mp.Queue[int]) (struct{}, error) {
		for i := 1; i <= 100; i++ {
			if err := q.Put(ctx, i); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// ExConsume adds up what it gets until the queue is shut down.
	ExConsume = mp.Register("example.consume", func(ctx context.Context, a sumArg) (struct{}, error) {
		for {
			v, err := a.Q.Get(ctx)
			if errors.Is(err, mp.ErrQueueShutDown) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			a.Total.Add(int64(v))
		}
	})
	// ExIncrement adds 1 to the counter N times under its lock.
	ExIncrement = mp.Register("example.increment", func(ctx context.Context, a incArg) (struct{}, error) {
		for i := 0; i < a.N; i++ {
			if err := a.V.Lock().Lock(ctx); err != nil { // with v.get_lock():
				return struct{}{}, err
			}
			a.V.Store(a.V.Load() + 1) //     v.value += 1
			a.V.Lock().Unlock()
		}
		return struct{}{}, nil
	})
	// ExPartSum sums A[Lo:Hi] in place (the array is mapped, not copied)
	// and stores the result in Sums[Slot].
	ExPartSum = mp.Register("example.partsum", func(ctx context.Context, a partArg) (struct{}, error) {
		s := 0.0
		for _, x := range a.A.Slice()[a.Lo:a.Hi] {
			s += x
		}
		a.Sums.Store(a.Slot, s)
		return struct{}{}, nil
	})
)

// run starts processes and joins them all.
func run(ps ...*mp.Process) {
	for _, p := range ps {
		if err := p.Start(); err != nil {
			panic(err)
		}
	}
	for _, p := range ps {
		p.Join(context.Background())
	}
}

func proc[A, R any](f mp.Func[A, R], arg A) *mp.Process {
	p, err := mp.NewProcess(f, arg)
	if err != nil {
		panic(err)
	}
	return p
}

// Producer and consumers in processes of their own, through one Queue
// (Python's multiprocessing.Queue with Process).
func ExampleQueue() {
	q, err := mp.NewQueue[int](10) // Queue(maxsize=10)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	total, _ := mp.NewValue[int64](0)
	defer total.Close()
	consumers := []*mp.Process{proc(ExConsume, sumArg{q, total}), proc(ExConsume, sumArg{q, total})}
	for _, c := range consumers {
		c.Start()
	}
	run(proc(ExProduce, q)) // the producer puts 1..100, blocking while 10 wait
	q.Shutdown()            // no more items: consumers drain, then stop
	for _, c := range consumers {
		c.Join(context.Background())
	}
	fmt.Println(total.Load())
	// Output: 5050
}

// A counter incremented by 4 processes under its lock (Python's
// Value('q', 0) and get_lock()).
func ExampleValue_Lock() {
	v, err := mp.NewValue[int64](0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	var ps []*mp.Process
	for i := 0; i < 4; i++ {
		ps = append(ps, proc(ExIncrement, incArg{v, 1000}))
	}
	run(ps...)
	fmt.Println(v.Load())
	// Output: 4000
}

// An array split across 2 processes, each summing its half in place
// (Python's Array('d', n) handed to Process).
func ExampleArray() {
	const n = 1_000_000
	a, err := mp.NewArray[float64](n)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	for i, xs := 0, a.Slice(); i < n; i++ {
		xs[i] = 0.5
	}
	sums, _ := mp.NewArray[float64](2)
	defer sums.Close()
	run(proc(ExPartSum, partArg{a, 0, n / 2, sums, 0}), proc(ExPartSum, partArg{a, n / 2, n, sums, 1}))
	fmt.Println(sums.Load(0) + sums.Load(1))
	// Output: 500000
}

// An RLock taken again by its owner (the handle it was taken through),
// as Python's multiprocessing.RLock by its thread; another owner waits.
func ExampleRLock() {
	ctx := context.Background()
	r, err := mp.NewRLock()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	other, err := r.NewOwner() // another goroutine's identity
	if err != nil {
		fmt.Println(err)
		return
	}
	defer other.Close()

	r.Lock(ctx) // with r:
	r.Lock(ctx) //     with r: (the same owner: one level more)
	fmt.Println("other owner can take it:", other.TryLock())
	r.Unlock()
	fmt.Println("after one release:", other.TryLock())
	r.Unlock()
	fmt.Println("after both:", other.TryLock())
	other.Unlock()
	// Output:
	// other owner can take it: false
	// after one release: false
	// after both: true
}

// A consumer that is done with each item before it takes the next reuses
// one buffer: GetInto copies a []byte item into the buffer's array, which
// grows only for an item longer than any before.
func ExampleQueue_GetInto() {
	ctx := context.Background()
	q, err := mp.NewQueue[[]byte](0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	for _, s := range []string{"one", "three", "a longer item"} {
		if err := q.Put(ctx, []byte(s)); err != nil {
			fmt.Println(err)
			return
		}
	}
	buf := make([]byte, 0, 8)
	for range 3 {
		if err := q.GetInto(ctx, &buf); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s (capacity %d)\n", buf, cap(buf))
	}
	// Output:
	// one (capacity 8)
	// three (capacity 8)
	// a longer item (capacity 13)
}

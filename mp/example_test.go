package mp_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// Cube is registered at package level, so every process of the program,
// workers included, has it.
var Cube = mp.Register("example.cube", func(ctx context.Context, x int) (int, error) {
	return x * x * x, nil
})

// Words counts the words of a text: a struct result.
var Words = mp.Register("example.words", func(ctx context.Context, text string) (stats, error) {
	s := stats{Chars: len(text)}
	inWord := false
	for _, r := range text {
		if r == ' ' {
			inWord = false
		} else if !inWord {
			inWord = true
			s.Words++
		}
	}
	return s, nil
})

type stats struct {
	Words, Chars int
}

// Loop ignores its context and never returns: only killing its worker
// stops it.
var Loop = mp.Register("example.loop", func(ctx context.Context, _ int) (int, error) {
	for x := 0; ; x++ {
	}
})

// A program calls mp.Main first thing in main (and in TestMain): in a
// worker process it serves tasks and never returns; in the program itself
// it returns at once.
func Example() {
	// func main() {
	//	mp.Main()
	//	...
	// }
	ctx := context.Background()
	pool, err := mp.NewPool(mp.WithMaxWorkers(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Shutdown(ctx)

	f, err := Cube.Submit(ctx, pool, 3)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := f.Result(ctx)
	fmt.Println(v, err)
	// Output: 27 <nil>
}

func ExampleRegister() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.WithMaxWorkers(1))
	defer pool.Shutdown(ctx)

	// Words was registered at package level:
	//	var Words = mp.Register("example.words", func(ctx context.Context, text string) (stats, error) {...})
	f, _ := Words.Submit(ctx, pool, "to be or not to be")
	s, err := f.Result(ctx)
	fmt.Printf("%+v %v\n", s, err)
	// Output: {Words:6 Chars:18} <nil>
}

func ExampleFunc_Call() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.WithMaxWorkers(1))
	defer pool.Shutdown(ctx)

	v, err := Cube.Call(ctx, pool, 10) // submit and wait: Python's pool.apply
	fmt.Println(v, err)
	// Output: 1000 <nil>
}

func ExampleFunc_Map() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.WithMaxWorkers(2))
	defer pool.Shutdown(ctx)

	for v, err := range Cube.Map(ctx, pool, slices.Values([]int{1, 2, 3, 4, 5}), futures.WithChunkSize(2)) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 1 8 27 64 125
}

// The same handle runs in-process on a futures.ThreadPool: no encoding, no
// worker process.
func ExampleFunc_Submit_threadPool() {
	ctx := context.Background()
	tp := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer tp.Shutdown(ctx)

	f, _ := Cube.Submit(ctx, tp, 4)
	fmt.Println(f.Result(ctx))
	// Output: 64 <nil>
}

// A task that overruns its deadline is stopped by killing its worker; a
// new worker takes its place and the pool goes on.
func ExampleFunc_Submit_deadline() {
	pool, _ := mp.NewPool(mp.WithMaxWorkers(1))
	defer pool.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f, _ := Loop.Submit(ctx, pool, 0)
	_, err := f.Result(context.Background())
	// A *mp.KilledError if the task was running (errors.As tells), the
	// context's error if it had not started.
	fmt.Println(errors.Is(err, context.DeadlineExceeded))

	g, _ := Cube.Submit(context.Background(), pool, 2)
	fmt.Println(g.Result(context.Background()))
	// Output:
	// true
	// 8 <nil>
}

func ExampleNewPool() {
	ctx := context.Background()
	pool, err := mp.NewPool(
		mp.WithMaxWorkers(4),
		mp.WithMaxTasksPerWorker(1000),  // recycle workers (leaks stay bounded)
		mp.WithMemoryLimit(512<<20),     // replace a worker over 512 MiB, between tasks
		mp.WithIdleTimeout(time.Minute), // stop workers idle for a minute
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Shutdown(ctx)
	fmt.Println(pool.MaxWorkers())
	// Output: 4
}

func ExampleWithInitializer() {
	ctx := context.Background()
	// Setup runs once in each worker before its first task.
	pool, _ := mp.NewPool(mp.WithMaxWorkers(2), mp.WithInitializer(Setup, "configured"))
	defer pool.Shutdown(ctx)

	f, _ := Setting.Submit(ctx, pool, 0)
	fmt.Println(f.Result(ctx))
	// Output: configured <nil>
}

func ExamplePool_Shutdown() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.WithMaxWorkers(2))
	f, _ := Cube.Submit(ctx, pool, 5)
	// Waits for the accepted work, then for every worker to exit.
	if err := pool.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Println(f.Result(ctx))
	_, err := Cube.Submit(ctx, pool, 6)
	fmt.Println(errors.Is(err, futures.ErrShutdown))
	// Output:
	// 125 <nil>
	// true
}

package futures_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/braid-go/braid/futures"
)

// Python:
//
//	with ThreadPoolExecutor(max_workers=4) as ex:
//	    f = ex.submit(pow, 2, 10)
//	    print(f.result())
func ExampleSubmit() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(4))
	defer pool.Shutdown(ctx)

	f, err := futures.Submit(ctx, pool, func(ctx context.Context) (int, error) {
		return 1 << 10, nil
	})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	v, err := f.Result(ctx)
	fmt.Println(v, err)
	// Output: 1024 <nil>
}

// Map yields results in input order and reads its input lazily, a few
// chunks ahead of the consumer.
func ExampleMap() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer pool.Shutdown(ctx)

	words := slices.Values([]string{"asyncio", "threading", "multiprocessing"})
	for n, err := range futures.Map(ctx, pool, func(_ context.Context, w string) (int, error) {
		return len(w), nil
	}, words, futures.WithChunkSize(2)) {
		fmt.Println(n, err)
	}
	// Output:
	// 7 <nil>
	// 9 <nil>
	// 15 <nil>
}

// With CollectErrors, Map goes on after a failure and reports each item's
// error in place; the default, StopOnError, would stop at "x".
func ExampleMap_collectErrors() {
	ctx := context.Background()
	pool := futures.NewThreadPool()
	defer pool.Shutdown(ctx)

	parse := func(_ context.Context, s string) (int, error) {
		var n int
		_, err := fmt.Sscan(s, &n)
		return n, err
	}
	in := slices.Values([]string{"1", "x", "3"})
	for n, err := range futures.Map(ctx, pool, parse, in, futures.WithErrorPolicy(futures.CollectErrors)) {
		fmt.Println(n, err != nil)
	}
	// Output:
	// 1 false
	// 0 true
	// 3 false
}

func ExampleAsCompleted() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(3))
	defer pool.Shutdown(ctx)

	var fs []*futures.Future[string]
	for _, url := range []string{"a.example", "b.example", "c.example"} {
		f, _ := futures.Submit(ctx, pool, func(context.Context) (string, error) {
			return strings.ToUpper(url), nil
		})
		fs = append(fs, f)
	}
	var got []string
	for f, err := range futures.AsCompleted(ctx, fs) {
		if err != nil { // ctx ended first
			fmt.Println(err)
			break
		}
		v, _ := f.Result(ctx) // done: returns at once
		got = append(got, v)
	}
	sort.Strings(got) // completion order varies from run to run
	fmt.Println(got)
	// Output: [A.EXAMPLE B.EXAMPLE C.EXAMPLE]
}

func ExampleWait() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer pool.Shutdown(ctx)

	release := make(chan struct{})
	slow, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) {
		<-release
		return 1, nil
	})
	failing, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) {
		return 0, errors.New("disk full")
	})
	done, pending, err := futures.Wait(ctx, []*futures.Future[int]{slow, failing}, futures.FirstError)
	fmt.Println(len(done), len(pending), err, done[0].Err())
	close(release)
	// Output: 1 1 <nil> disk full
}

// Cancel succeeds only while the work waits in the queue, as in Python.
func ExampleFuture_Cancel() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1))
	defer pool.Shutdown(ctx)

	started, release := make(chan struct{}), make(chan struct{})
	running, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	queued, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) { return 2, nil })

	fmt.Println(running.Cancel(), queued.Cancel())
	close(release)
	_, err := queued.Result(ctx)
	fmt.Println(queued.State(), errors.Is(err, context.Canceled))
	// Output:
	// false true
	// cancelled true
}

// A panic in a task is the task's error, with the stack; the worker goes on.
func ExamplePanicError() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1))
	defer pool.Shutdown(ctx)

	f, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) {
		panic("no pixels in image")
	})
	_, err := f.Result(ctx)
	var pe *futures.PanicError
	if errors.As(err, &pe) {
		fmt.Println("panic:", pe.Value)
	}
	// Output: panic: no pixels in image
}

// An initializer that fails breaks the pool: work fails with ErrBroken,
// which unwraps to the cause.
func ExampleWithInitializer() {
	ctx := context.Background()
	errNoDB := errors.New("cannot connect to the database")
	pool := futures.NewThreadPool(
		futures.WithName("db"),
		futures.WithInitializer(func(ctx context.Context) error { return errNoDB }),
	)
	defer pool.Shutdown(ctx)

	f, _ := futures.Submit(ctx, pool, func(context.Context) (int, error) { return 1, nil })
	_, err := f.Result(ctx)
	fmt.Println(errors.Is(err, futures.ErrBroken), errors.Is(err, errNoDB))
	// Output: true true
}

// Close cancels what is still queued; running work finishes, and Shutdown
// waits for it. Submitting afterwards is an error.
func ExampleThreadPool_Close() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1))
	started, release := make(chan struct{}), make(chan struct{})
	running, _ := futures.Submit(ctx, pool, func(context.Context) (string, error) {
		close(started)
		<-release
		return "finished", nil
	})
	<-started
	queued, _ := futures.Submit(ctx, pool, func(context.Context) (string, error) { return "never", nil })

	pool.Close() // do not wait; cancel the queue
	close(release)
	pool.Shutdown(ctx) // now wait for the running task

	v, _ := running.Result(ctx)
	fmt.Println(v, queued.State())
	_, err := futures.Submit(ctx, pool, func(context.Context) (string, error) { return "", nil })
	fmt.Println(errors.Is(err, futures.ErrShutdown))
	// Output:
	// finished cancelled
	// true
}

// A bounded queue gives back-pressure: Submit blocks while it is full, until
// there is room or its context ends.
func ExampleWithQueueSize() {
	ctx := context.Background()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(1), futures.WithQueueSize(1))
	defer pool.Shutdown(ctx)

	started, release := make(chan struct{}), make(chan struct{})
	futures.Submit(ctx, pool, func(context.Context) (int, error) { close(started); <-release; return 0, nil })
	<-started
	futures.Submit(ctx, pool, func(context.Context) (int, error) { return 1, nil }) // fills the queue

	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err := futures.Submit(ended, pool, func(context.Context) (int, error) { return 2, nil })
	fmt.Println(errors.Is(err, context.Canceled))
	close(release)
	// Output: true
}

package mp_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// firstErr returns the first error a Map yields.
func firstErr[R any](seq func(func(R, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// resultErr submits through submit and returns the error of the submission
// or of the future.
func resultErr[R any](f *futures.Future[R], err error) error {
	if err != nil {
		return err
	}
	_, err = f.Result(context.Background())
	return err
}

// TestSentinelsFromEveryEntryPoint checks that every documented sentinel of
// futures, mp and aio matches with errors.Is (or the error type with
// errors.As) whichever entry point returns it.
func TestSentinelsFromEveryEntryPoint(t *testing.T) {
	ctx := context.Background()
	closure := func(context.Context) (int, error) { return 1, nil }
	square := func(_ context.Context, x int) (int, error) { return x * x, nil }

	threadsShut := futures.NewThreadPool()
	threadsShut.Shutdown(ctx)
	threadsClosed := futures.NewThreadPool()
	threadsClosed.Close()
	broken := futures.NewThreadPool(futures.WithInitializer(func(context.Context) error { return errors.New("no") }))
	t.Cleanup(func() { broken.Shutdown(ctx) })
	brokenFirst := resultErr(futures.Submit(ctx, broken, closure))

	full := futures.NewThreadPool(futures.WithMaxWorkers(1), futures.WithQueueSize(1))
	started, release := make(chan struct{}), make(chan struct{})
	futures.Submit(ctx, full, func(context.Context) (int, error) { close(started); <-release; return 0, nil })
	<-started
	futures.Submit(ctx, full, closure) // fills the queue
	fullJob, _ := futures.NewJob(ctx, closure)
	fullErr := full.TryExecute(fullJob)
	close(release)
	full.Shutdown(ctx)

	cancelled := futures.NewFuture[int]()
	cancelled.Cancel()

	procs := newPool(t)
	procsShut, err := mp.NewPool(mp.WithMaxWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	procsShut.Shutdown(ctx)
	procsClosed, err := mp.NewPool(mp.WithMaxWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	procsClosed.Close()
	procsClosed.Shutdown(ctx)
	procsTerminated, err := mp.NewPool(mp.WithMaxWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	procsTerminated.Terminate()
	var zero mp.Func[int, int]

	var taskCancelled, taskPanicked error
	err = aio.Run(ctx, func(ctx context.Context) error {
		blocked := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 0, aio.Sleep(ctx, time.Hour)
		})
		aio.Sleep(ctx, 0)
		blocked.Cancel()
		_, taskCancelled = blocked.Await(ctx)
		_, taskPanicked = aio.Spawn(ctx, func(ctx context.Context) (int, error) { panic("aio boom") }).Await(ctx)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		err  error
		want []error
	}{
		{"futures.Submit after Shutdown", resultErr(futures.Submit(ctx, threadsShut, closure)), []error{futures.ErrShutdown}},
		{"futures.Submit after Close", resultErr(futures.Submit(ctx, threadsClosed, closure)), []error{futures.ErrShutdown}},
		{"ThreadPool.Execute after Shutdown", threadsShut.Execute(fullJob), []error{futures.ErrShutdown}},
		{"futures.Map after Shutdown", firstErr(futures.Map(ctx, threadsShut, square, slices.Values([]int{1, 2}))), []error{futures.ErrShutdown}},
		{"ThreadPool.TryExecute on a full queue", fullErr, []error{futures.ErrQueueFull}},
		{"Future.Result of the job that broke the pool", brokenFirst, []error{futures.ErrBroken}},
		{"futures.Submit to a broken pool", resultErr(futures.Submit(ctx, broken, closure)), []error{futures.ErrBroken}},
		{"futures.Map on a broken pool", firstErr(futures.Map(ctx, broken, square, slices.Values([]int{1}))), []error{futures.ErrBroken}},
		{"Future.Result after Cancel", resultErr(cancelled, nil), []error{futures.ErrCancelled, aio.ErrCancelled, context.Canceled}},
		{"Future.Err after Cancel", cancelled.Err(), []error{futures.ErrCancelled, context.Canceled}},

		{"Func.Submit after Shutdown", resultErr(Square.Submit(ctx, procsShut, 2)), []error{futures.ErrShutdown}},
		{"Func.Call after Close", func() error { _, err := Square.Call(ctx, procsClosed, 2); return err }(), []error{futures.ErrShutdown}},
		{"Func.Map after Shutdown", firstErr(Square.Map(ctx, procsShut, slices.Values([]int{1, 2}))), []error{futures.ErrShutdown}},
		{"Func.Submit after Terminate", resultErr(Square.Submit(ctx, procsTerminated, 2)), []error{futures.ErrShutdown}},
		{"futures.Submit of a closure to mp.Pool", resultErr(futures.Submit(ctx, procs, closure)), []error{mp.ErrNotRemote}},
		{"Func.Submit of the zero Func", resultErr(zero.Submit(ctx, procs, 1)), []error{mp.ErrUnregistered}},
		{"Func.Call of the zero Func", func() error { _, err := zero.Call(ctx, procs, 1); return err }(), []error{mp.ErrUnregistered}},
		{"Func.Map of the zero Func", firstErr(zero.Map(ctx, procs, slices.Values([]int{1}))), []error{mp.ErrUnregistered}},
		{"Func.Submit of an argument that cannot be encoded", resultErr(Any.Submit(ctx, procs, func() {})), []error{mp.ErrEncode}},
		{"Func.Map of arguments that cannot be encoded", firstErr(Any.Map(ctx, procs, slices.Values([]any{make(chan int)}))), []error{mp.ErrEncode}},
		{"Func.Submit of a task whose worker dies", resultErr(Exit.Submit(ctx, procs, 3)), []error{mp.ErrWorkerDied}},
		{"Func.Map of a task whose worker dies", firstErr(Exit.Map(ctx, procs, slices.Values([]int{3}))), []error{mp.ErrWorkerDied}},

		{"an aio task cancelled", taskCancelled, []error{aio.ErrCancelled, futures.ErrCancelled, context.Canceled}},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !errors.Is(tc.err, w) {
				t.Errorf("%s: errors.Is(%v, %v) is false", tc.name, tc.err, w)
			}
		}
	}

	// One PanicError type: aio's is futures', and every entry point gives it.
	threads := futures.NewThreadPool()
	defer threads.Shutdown(ctx)
	for _, tc := range []struct {
		name string
		err  error
		task string
	}{
		{"futures.Submit on a ThreadPool", resultErr(futures.Submit(ctx, threads, func(context.Context) (int, error) { panic("threads boom") })), ""},
		{"futures.Map on a ThreadPool", firstErr(futures.Map(ctx, threads, func(context.Context, int) (int, error) { panic("map boom") }, slices.Values([]int{1}))), ""},
		{"Func.Submit on mp.Pool", resultErr(Panic.Submit(ctx, procs, "here")), ""},
		{"Func.Map on mp.Pool", firstErr(Panic.Map(ctx, procs, slices.Values([]string{"here"}))), ""},
		{"an aio task", taskPanicked, "task"},
	} {
		var pe *futures.PanicError
		var ape *aio.PanicError = pe
		if !errors.As(tc.err, &pe) || !errors.As(tc.err, &ape) || pe.Value == nil || len(pe.Stack) == 0 {
			t.Errorf("%s: %v is not a *futures.PanicError (= *aio.PanicError) with value and stack", tc.name, tc.err)
			continue
		}
		if (pe.Task != "") != (tc.task != "") {
			t.Errorf("%s: PanicError.Task = %q", tc.name, pe.Task)
		}
	}
}

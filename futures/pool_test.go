package futures

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var bg = context.Background()

// shutdown shuts p down and waits, failing the test on error.
func shutdown(t *testing.T, p *ThreadPool) {
	t.Helper()
	if err := p.Shutdown(bg); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// blocker returns a task that signals started and waits for release.
func blocker(started chan<- struct{}, release <-chan struct{}) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		started <- struct{}{}
		<-release
		return 1, nil
	}
}

func mustSubmit[T any](t *testing.T, ex Executor, fn func(context.Context) (T, error)) *Future[T] {
	t.Helper()
	f, err := Submit(bg, ex, fn)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return f
}

func TestSubmitResult(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	f := mustSubmit(t, p, func(context.Context) (string, error) { return "hello", nil })
	if v, err := f.Result(bg); v != "hello" || err != nil {
		t.Fatalf("Result = %q, %v", v, err)
	}
	boom := errors.New("boom")
	g := mustSubmit(t, p, func(context.Context) (int, error) { return 0, boom })
	if _, err := g.Result(bg); !errors.Is(err, boom) {
		t.Fatalf("Result error = %v, want boom", err)
	}
	if _, err := Submit[int](bg, nil, nil); err == nil {
		t.Fatal("Submit to a nil executor: no error")
	}
	if err := p.Execute(nil); err == nil {
		t.Fatal("Execute(nil): no error")
	}
}

func TestDefaultsAndNames(t *testing.T) {
	p := NewThreadPool()
	q := NewThreadPool(WithName("images"), WithMaxWorkers(3))
	defer shutdown(t, p)
	defer shutdown(t, q)
	if p.MaxWorkers() != runtime.GOMAXPROCS(0) {
		t.Fatalf("default MaxWorkers = %d, want GOMAXPROCS %d", p.MaxWorkers(), runtime.GOMAXPROCS(0))
	}
	if !strings.HasPrefix(p.Name(), "ThreadPool-") || q.Name() != "images" {
		t.Fatalf("names %q %q", p.Name(), q.Name())
	}
	if s := q.String(); s != `ThreadPool("images", max 3 workers)` {
		t.Fatalf("String = %s", s)
	}
	if st := p.Stats(); st.Workers != 0 {
		t.Fatalf("a new pool runs %d goroutines, want 0 before the first submission", st.Workers)
	}
	for _, bad := range []func(){func() { WithMaxWorkers(0) }, func() { WithQueueSize(-1) }, func() { WithChunkSize(0) }, func() { WithBufferSize(0) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("an invalid option did not panic")
				}
			}()
			bad()
		}()
	}
}

// TestWorkerLabels checks that workers carry pprof labels with the pool
// and worker names, so goroutine profiles say which pool runs what.
func TestWorkerLabels(t *testing.T) {
	p := NewThreadPool(WithName("thumbs"), WithMaxWorkers(1))
	defer shutdown(t, p)
	started, release := make(chan struct{}), make(chan struct{})
	f := mustSubmit(t, p, blocker(started, release))
	<-started
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	close(release)
	f.Result(bg)
	if !strings.Contains(buf.String(), `"braid.worker":"thumbs_0"`) || !strings.Contains(buf.String(), `"braid.executor":"thumbs"`) {
		t.Fatalf("goroutine profile lacks the worker labels:\n%s", buf.String())
	}
}

func TestMaxWorkersBound(t *testing.T) {
	const workers, tasks = 3, 10
	p := NewThreadPool(WithMaxWorkers(workers))
	defer shutdown(t, p)
	started, release := make(chan struct{}, tasks), make(chan struct{})
	var running, peak atomic.Int32
	fs := make([]*Future[int], tasks)
	for i := range fs {
		fs[i] = mustSubmit(t, p, func(context.Context) (int, error) {
			n := running.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			started <- struct{}{}
			<-release
			running.Add(-1)
			return 0, nil
		})
	}
	for i := 0; i < workers; i++ {
		<-started
	}
	if st := p.Stats(); st.Workers != workers || st.Queued != tasks-workers {
		t.Fatalf("stats while blocked: %+v, want %d workers and %d queued", st, workers, tasks-workers)
	}
	close(release)
	for _, f := range fs {
		if _, err := f.Result(bg); err != nil {
			t.Fatal(err)
		}
	}
	if peak.Load() != workers {
		t.Fatalf("peak concurrency %d, want %d", peak.Load(), workers)
	}
}

func TestPanicBecomesErrorWorkerSurvives(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	defer shutdown(t, p)
	f := mustSubmit(t, p, func(context.Context) (int, error) { panic("boom") })
	_, err := f.Result(bg)
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *PanicError", err)
	}
	if pe.Value != "boom" || !strings.Contains(string(pe.Stack), "TestPanicBecomesErrorWorkerSurvives") {
		t.Fatalf("panic value %v, stack:\n%s", pe.Value, pe.Stack)
	}
	if !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("error text lacks the value or the stack: %v", err)
	}
	sentinel := errors.New("sentinel")
	g := mustSubmit(t, p, func(context.Context) (int, error) { panic(sentinel) })
	if _, err := g.Result(bg); !errors.Is(err, sentinel) {
		t.Fatalf("panic(err) does not unwrap to err: %v", err)
	}
	// The single worker survived both panics.
	h := mustSubmit(t, p, func(context.Context) (int, error) { return 7, nil })
	if v, err := h.Result(bg); v != 7 || err != nil {
		t.Fatalf("after panics: %v, %v", v, err)
	}
	if st := p.Stats(); st.Workers != 1 {
		t.Fatalf("workers after panics: %d, want 1", st.Workers)
	}
}

// panickyJob is a foreign Job whose Run panics (it does not recover like
// the closures of Submit); the worker must survive it.
type panickyJob struct{ *Future[int] }

func (j panickyJob) Context() context.Context { return bg }
func (j panickyJob) Start() bool              { return j.SetRunning() }
func (j panickyJob) Run()                     { panic("foreign job") }
func (j panickyJob) Fail(err error)           { j.Complete(0, err) }

func TestForeignJobPanicAndGoexit(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	defer shutdown(t, p)
	j := panickyJob{NewFuture[int]()}
	if err := p.Execute(j); err != nil {
		t.Fatal(err)
	}
	var pe *PanicError
	if _, err := j.Result(bg); !errors.As(err, &pe) || pe.Value != "foreign job" {
		t.Fatalf("foreign job panic: %v", err)
	}
	g := mustSubmit(t, p, func(context.Context) (int, error) {
		runtime.Goexit()
		return 0, nil
	})
	if _, err := g.Result(bg); !errors.As(err, &pe) || !strings.Contains(fmt.Sprint(pe.Value), "Goexit") {
		t.Fatalf("Goexit in a task: %v", err)
	}
	h := mustSubmit(t, p, func(context.Context) (int, error) { return 1, nil })
	if _, err := h.Result(bg); err != nil {
		t.Fatalf("after Goexit the pool does not run work: %v", err)
	}
	if st := p.Stats(); st.Workers != 1 {
		t.Fatalf("workers after Goexit: %d, want 1 (replaced)", st.Workers)
	}
}

func TestCancelPendingNotRunning(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	defer shutdown(t, p)
	started, release := make(chan struct{}), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	<-started
	var ranB atomic.Bool
	b := mustSubmit(t, p, func(context.Context) (int, error) { ranB.Store(true); return 2, nil })
	if b.State() != Pending {
		t.Fatalf("queued future state %v", b.State())
	}
	if a.Cancel() {
		t.Fatal("Cancel of a running task succeeded")
	}
	if !b.Cancel() {
		t.Fatal("Cancel of a queued task failed")
	}
	close(release)
	if v, err := a.Result(bg); v != 1 || err != nil {
		t.Fatalf("running task after a failed Cancel: %v, %v", v, err)
	}
	if _, err := b.Result(bg); !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled task: %v", err)
	}
	// Drain the pool: the worker skipped b.
	shutdown(t, p)
	if ranB.Load() {
		t.Fatal("a cancelled task ran")
	}
}

func TestContextEndedBeforeStart(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	defer shutdown(t, p)
	started, release := make(chan struct{}), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	<-started
	ctx, cancel := context.WithCancel(bg)
	var ran atomic.Bool
	b, err := Submit(ctx, p, func(ctx context.Context) (int, error) { ran.Store(true); return 0, nil })
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	close(release)
	a.Result(bg)
	if _, err := b.Result(bg); !errors.Is(err, context.Canceled) {
		t.Fatalf("task whose ctx ended before start: %v", err)
	}
	if ran.Load() {
		t.Fatal("a task whose context had ended was run")
	}
}

func TestShutdownWaitsForAcceptedWork(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	started, release := make(chan struct{}, 5), make(chan struct{})
	var fs []*Future[int]
	for i := 0; i < 5; i++ {
		fs = append(fs, mustSubmit(t, p, blocker(started, release)))
	}
	<-started
	<-started
	done := make(chan error)
	go func() { done <- p.Shutdown(bg) }()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while work was running", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.State() != Finished || f.Err() != nil {
			t.Fatalf("after Shutdown: %v %v", f.State(), f.Err())
		}
	}
	if _, err := Submit(bg, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Submit after Shutdown: %v, want ErrShutdown", err)
	}
	select {
	case <-p.Terminated():
	default:
		t.Fatal("Terminated not closed after Shutdown")
	}
	if st := p.Stats(); st.Workers != 0 || !st.Shutdown {
		t.Fatalf("stats after shutdown %+v", st)
	}
	// Idempotent, and Close after Shutdown is fine.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
}

func TestCloseCancelsQueued(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	started, release := make(chan struct{}), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	<-started
	var ran atomic.Int32
	var queued []*Future[int]
	for i := 0; i < 3; i++ {
		queued = append(queued, mustSubmit(t, p, func(context.Context) (int, error) { ran.Add(1); return 0, nil }))
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range queued {
		if f.State() != Cancelled {
			t.Fatalf("queued future after Close: %v", f.State())
		}
	}
	if a.State() != Running {
		t.Fatalf("running future after Close: %v, want still running", a.State())
	}
	close(release)
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Result(bg); v != 1 || err != nil || ran.Load() != 0 {
		t.Fatalf("running task %v %v; cancelled tasks ran %d times", v, err, ran.Load())
	}
}

func TestShutdownWaitHonoursContext(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	started, release := make(chan struct{}), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	<-started
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended ctx: %v, want context.Canceled", err)
	}
	close(release)
	if err := p.Shutdown(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Result(bg); err != nil {
		t.Fatal(err)
	}
}

// jobNoCancel is a foreign Job without a Cancel method: Close must fail it with ErrCancelled rather than drop it.
type jobNoCancel struct{ f *Future[int] }

func (j jobNoCancel) Context() context.Context { return bg }
func (j jobNoCancel) Start() bool              { return j.f.SetRunning() }
func (j jobNoCancel) Run()                     { j.f.Complete(1, nil) }
func (j jobNoCancel) Fail(err error)           { j.f.Complete(0, err) }

func TestCancelJobWithoutCancelMethod(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	started, release := make(chan struct{}), make(chan struct{})
	mustSubmit(t, p, blocker(started, release))
	<-started
	j := jobNoCancel{NewFuture[int]()}
	if err := p.Execute(j); err != nil {
		t.Fatal(err)
	}
	p.Close()
	close(release)
	shutdown(t, p)
	if _, err := j.f.Result(bg); !errors.Is(err, ErrCancelled) {
		t.Fatalf("foreign job at Close: %v", err)
	}
}

// TestShutdownDuringSubmission races Shutdown against concurrent
// submitters: every submission is either refused with ErrShutdown or
// accepted and then run (or, with Close, cancelled). Nothing
// accepted is dropped.
func TestShutdownDuringSubmission(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool
		queue  int
	}{
		{"wait", false, 0},
		{"close", true, 0},
		{"boundedQueue", false, 4},
		{"boundedQueueCancel", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []PoolOption{WithMaxWorkers(2)}
			if tc.queue > 0 {
				opts = append(opts, WithQueueSize(tc.queue))
			}
			p := NewThreadPool(opts...)
			const submitters = 8
			var ran, accepted atomic.Int64
			enough := make(chan struct{})
			var once sync.Once
			var mu sync.Mutex
			var all []*Future[int64]
			var wg sync.WaitGroup
			for s := 0; s < submitters; s++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine []*Future[int64]
					defer func() {
						mu.Lock()
						all = append(all, mine...)
						mu.Unlock()
					}()
					for i := int64(0); ; i++ {
						f, err := Submit(bg, p, func(context.Context) (int64, error) {
							ran.Add(1)
							return i, nil
						})
						if err != nil {
							if !errors.Is(err, ErrShutdown) {
								t.Errorf("Submit during shutdown: %v, want ErrShutdown", err)
							}
							return
						}
						mine = append(mine, f)
						if accepted.Add(1) == 200 {
							once.Do(func() { close(enough) })
						}
					}
				}()
			}
			<-enough
			if tc.cancel {
				p.Close()
			}
			if err := p.Shutdown(bg); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			var finished, cancelled int64
			for _, f := range all {
				switch f.State() {
				case Finished:
					finished++
					if f.Err() != nil {
						t.Fatalf("accepted task failed: %v", f.Err())
					}
				case Cancelled:
					if !tc.cancel {
						t.Fatal("a task was cancelled without Close")
					}
					cancelled++
				default:
					t.Fatalf("accepted task left %v after Shutdown", f.State())
				}
			}
			if int64(len(all)) != accepted.Load() || finished != ran.Load() || finished+cancelled != accepted.Load() {
				t.Fatalf("accepted %d (futures %d), ran %d, finished %d, cancelled %d", accepted.Load(), len(all), ran.Load(), finished, cancelled)
			}
		})
	}
}

func TestInitializerFailureBreaksPool(t *testing.T) {
	errInit := errors.New("cannot open database")
	var calls atomic.Int32
	p := NewThreadPool(WithName("db"), WithMaxWorkers(2), WithInitializer(func(ctx context.Context) error {
		calls.Add(1)
		return errInit
	}))
	defer shutdown(t, p)
	f, err := Submit(bg, p, func(context.Context) (int, error) { return 1, nil })
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(bg)
	var be *BrokenError
	if !errors.Is(err, ErrBroken) || !errors.Is(err, errInit) || !errors.As(err, &be) || be.Executor != "db" {
		t.Fatalf("task on a pool whose initializer failed: %v", err)
	}
	if !strings.Contains(err.Error(), `"db"`) || !strings.Contains(err.Error(), "cannot open database") {
		t.Fatalf("broken error does not say which pool and why: %v", err)
	}
	if _, err := Submit(bg, p, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, ErrBroken) {
		t.Fatalf("Submit to a broken pool: %v, want ErrBroken", err)
	}
	if !p.Stats().Broken {
		t.Fatal("Stats().Broken is false")
	}
}

func TestInitializerPanicBreaksPool(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1), WithInitializer(func(ctx context.Context) error { panic("init panic") }))
	defer shutdown(t, p)
	f := mustSubmit(t, p, func(context.Context) (int, error) { return 1, nil })
	_, err := f.Result(bg)
	var pe *PanicError
	if !errors.Is(err, ErrBroken) || !errors.As(err, &pe) || pe.Value != "init panic" {
		t.Fatalf("initializer panic: %v", err)
	}
}

// TestInitializerFailureFailsPendingWork: one worker initialises and runs
// a task; the second worker's initializer fails while jobs wait in the
// queue. The queued jobs fail with ErrBroken, the running one finishes.
func TestInitializerFailureFailsPendingWork(t *testing.T) {
	errInit := errors.New("second worker cannot start")
	initGate := make(chan struct{})
	var n atomic.Int32
	p := NewThreadPool(WithMaxWorkers(2), WithInitializer(func(ctx context.Context) error {
		if n.Add(1) == 1 {
			return nil
		}
		<-initGate
		return errInit
	}))
	defer shutdown(t, p)
	started, release := make(chan struct{}, 2), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	b := mustSubmit(t, p, blocker(started, release))
	<-started // one of a, b runs on the worker whose initializer succeeded
	c := mustSubmit(t, p, func(context.Context) (int, error) { return 3, nil })
	d := mustSubmit(t, p, func(context.Context) (int, error) { return 4, nil })
	close(initGate)
	for _, f := range []*Future[int]{c, d} {
		if _, err := f.Result(bg); !errors.Is(err, ErrBroken) || !errors.Is(err, errInit) {
			t.Fatalf("queued task when the pool broke: %v", err)
		}
	}
	close(release)
	ok := 0
	for _, f := range []*Future[int]{a, b} {
		_, err := f.Result(bg)
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrBroken):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of the two first tasks succeeded, want 1 (the one on the initialised worker)", ok)
	}
	if _, err := Submit(bg, p, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, ErrBroken) {
		t.Fatalf("Submit to a broken pool: %v", err)
	}
}

func TestInitializerRunsOncePerWorker(t *testing.T) {
	var calls atomic.Int32
	p := NewThreadPool(WithMaxWorkers(2), WithInitializer(func(ctx context.Context) error {
		calls.Add(1)
		return nil
	}))
	var fs []*Future[int]
	for i := 0; i < 50; i++ {
		fs = append(fs, mustSubmit(t, p, func(context.Context) (int, error) { return i, nil }))
	}
	for i, f := range fs {
		if v, err := f.Result(bg); v != i || err != nil {
			t.Fatalf("task %d: %v %v", i, v, err)
		}
	}
	shutdown(t, p)
	if c := calls.Load(); c < 1 || c > 2 {
		t.Fatalf("initializer ran %d times for a pool of 2", c)
	}
}

func TestBoundedQueueBackPressure(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1), WithQueueSize(2))
	started, release := make(chan struct{}, 8), make(chan struct{})
	a := mustSubmit(t, p, blocker(started, release))
	<-started
	b := mustSubmit(t, p, blocker(started, release))
	c := mustSubmit(t, p, blocker(started, release))
	if st := p.Stats(); st.Queued != 2 {
		t.Fatalf("queued %d, want 2", st.Queued)
	}
	j, _ := NewJob(bg, func(context.Context) (int, error) { return 0, nil })
	if err := p.TryExecute(j); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("TryExecute on a full queue: %v, want ErrQueueFull", err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := Submit(ctx, p, func(context.Context) (int, error) { return 0, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with an ended ctx on a full queue: %v, want context.Canceled", err)
	}
	// A blocked submitter gets in once there is room.
	type res struct {
		f   *Future[int]
		err error
	}
	blocked := make(chan res)
	go func() {
		f, err := Submit(bg, p, func(context.Context) (int, error) { return 5, nil })
		blocked <- res{f, err}
	}()
	close(release)
	r := <-blocked
	if r.err != nil {
		t.Fatal(r.err)
	}
	if v, err := r.f.Result(bg); v != 5 || err != nil {
		t.Fatalf("blocked submission: %v %v", v, err)
	}
	for _, f := range []*Future[int]{a, b, c} {
		if _, err := f.Result(bg); err != nil {
			t.Fatal(err)
		}
	}
	shutdown(t, p)
}

func TestShutdownWakesBlockedSubmitters(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1), WithQueueSize(1))
	started, release := make(chan struct{}, 2), make(chan struct{})
	mustSubmit(t, p, blocker(started, release))
	<-started
	mustSubmit(t, p, blocker(started, release))
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, err := Submit(bg, p, func(context.Context) (int, error) { return 0, nil })
			errs <- err
		}()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := <-errs; !errors.Is(err, ErrShutdown) {
			t.Fatalf("blocked submitter at shutdown: %v, want ErrShutdown", err)
		}
	}
	close(release)
	shutdown(t, p)
}

// TestStress runs many tasks from many goroutines, for the race detector.
func TestStress(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(4), WithQueueSize(16))
	defer shutdown(t, p)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				f, err := Submit(bg, p, func(context.Context) (int, error) { return i * g, nil })
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					f.Cancel()
					continue
				}
				if v, err := f.Result(bg); err != nil || v != i*g {
					t.Errorf("got %v %v, want %d", v, err, i*g)
					return
				}
			}
		}()
	}
	wg.Wait()
}

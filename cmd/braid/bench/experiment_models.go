package bench

// How the articles' experiment runs its jobs: one runner per concurrency
// model (sequential, goroutine pool, loop, process pool, the loop handing
// work to the process pool), each recording every task's I/O and CPU
// spans for the timelines. experiment.go builds the workloads from them.

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// loopGet fetches url with the loop's HTTP client of ctx's loop.
func loopGet(ctx context.Context, url string) ([]byte, error) {
	c := loopClients.get(ctx)
	resp, err := c.Get(ctx, url)
	if err != nil {
		return nil, err
	}
	return readPage(resp, url)
}

// loopClients hands each running loop its one aiohttp.Client (a client
// belongs to one loop).
var loopClients = &clientSet{m: map[*aio.Loop]*aiohttp.Client{}}

type clientSet struct {
	mu sync.Mutex
	m  map[*aio.Loop]*aiohttp.Client
}

func (s *clientSet) get(ctx context.Context) *aiohttp.Client {
	l := aio.CurrentLoop(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[l]
	if c == nil {
		c = &aiohttp.Client{}
		s.m[l] = c
	}
	return c
}

func (s *clientSet) drop(ctx context.Context) {
	l := aio.CurrentLoop(ctx)
	s.mu.Lock()
	c := s.m[l]
	delete(s.m, l)
	s.mu.Unlock()
	if c != nil {
		c.CloseIdleConnections()
	}
}

// seqModel runs the jobs one after another in this goroutine.
func seqModel(n int, withClient bool, task taskFn) func(context.Context, *recorder) ([]uint64, error) {
	return func(ctx context.Context, rec *recorder) ([]uint64, error) {
		var c *http.Client
		if withClient {
			c = articleClient(1)
			defer c.CloseIdleConnections()
		}
		out := make([]uint64, n)
		for i := range out {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			v, err := task(ctx, c, i, rec)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
}

// threadsModel submits every job to a futures.ThreadPool of workers
// goroutines (Python's ThreadPoolExecutor).
func threadsModel(n, workers int, withClient bool, task taskFn) func(context.Context, *recorder) ([]uint64, error) {
	return func(ctx context.Context, rec *recorder) ([]uint64, error) {
		var c *http.Client
		if withClient {
			c = articleClient(workers)
			defer c.CloseIdleConnections()
		}
		pool := futures.NewThreadPool(futures.WithMaxWorkers(workers), futures.WithName("bench-exp"))
		defer closePool(pool)
		return submitAll(ctx, n, func(i int) (*futures.Future[uint64], error) {
			return futures.Submit(ctx, pool, func(ctx context.Context) (uint64, error) {
				return task(ctx, c, i, rec)
			})
		})
	}
}

// submitAll submits the n jobs submit starts, all of them first, then
// waits for their results in order (the pattern of a Python
// [ex.submit(...) for ...] followed by [f.result() for f in fs]).
func submitAll[T any](ctx context.Context, n int, submit func(i int) (*futures.Future[T], error)) ([]T, error) {
	fs := make([]*futures.Future[T], n)
	for i := range fs {
		f, err := submit(i)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	out := make([]T, n)
	for i, f := range fs {
		v, err := f.Result(ctx)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// loopModel runs one aio task per job on one loop, sem at a time when sem
// > 0. A task that computes holds the loop's one thread.
func loopModel(n, sem int, task taskFn) func(context.Context, *recorder) ([]uint64, error) {
	return func(ctx context.Context, rec *recorder) ([]uint64, error) {
		out := make([]uint64, n)
		err := aio.Run(ctx, func(ctx context.Context) error {
			defer loopClients.drop(ctx)
			var s *aio.Semaphore
			if sem > 0 {
				s = aio.NewSemaphore(sem)
			}
			ts := make([]*aio.Task[uint64], n)
			for i := range ts {
				ts[i] = aio.Spawn(ctx, func(ctx context.Context) (uint64, error) {
					if s != nil {
						if err := s.Acquire(ctx); err != nil {
							return 0, err
						}
						defer s.Release()
					}
					return task(ctx, nil, i, rec)
				})
			}
			vals, err := aio.Gather(ctx, ts...)
			copy(out, vals)
			return err
		})
		return out, err
	}
}

// newExpPool starts a process pool of size workers.
func newExpPool(workers int) (*mp.Pool, error) {
	return mp.NewPool(mp.WithMaxWorkers(workers), mp.WithName("bench-exp"))
}

// processModel submits every job to a new process pool (its start is part
// of the time, as `with ProcessPoolExecutor() as ex:` is in Python).
func processModel(n, workers int, submit func(ctx context.Context, pool *mp.Pool, i int, page []byte) (*futures.Future[span], error)) func(context.Context, *recorder) ([]uint64, error) {
	return func(ctx context.Context, rec *recorder) ([]uint64, error) {
		pool, err := newExpPool(workers)
		if err != nil {
			return nil, err
		}
		defer closePool(pool)
		spans, err := submitAll(ctx, n, func(i int) (*futures.Future[span], error) {
			return submit(ctx, pool, i, nil)
		})
		if err != nil {
			return nil, err
		}
		out := make([]uint64, n)
		for i, s := range spans {
			rec.remote(i, s)
			out[i] = s.V
		}
		rec.childPeakMB = childrenPeakMB(serverChildPID)
		return out, nil
	}
}

// hybridModel is the articles' asyncio + ProcessPoolExecutor: one aio task
// per job on one loop fetches (when fetch is set, sem at a time) and hands
// the computation to a process pool, awaiting its future without blocking
// the loop (aio.AwaitFuture, as asyncio's run_in_executor does).
func hybridModel(n, workers, sem int, fetch func(ctx context.Context, i int) ([]byte, error),
	submit func(ctx context.Context, pool *mp.Pool, i int, page []byte) (*futures.Future[span], error)) func(context.Context, *recorder) ([]uint64, error) {
	return func(ctx context.Context, rec *recorder) ([]uint64, error) {
		pool, err := newExpPool(workers)
		if err != nil {
			return nil, err
		}
		defer closePool(pool)
		out := make([]uint64, n)
		err = aio.Run(ctx, func(ctx context.Context) error {
			defer loopClients.drop(ctx)
			var s *aio.Semaphore
			if sem > 0 {
				s = aio.NewSemaphore(sem)
			}
			ts := make([]*aio.Task[uint64], n)
			for i := range ts {
				ts[i] = aio.Spawn(ctx, func(ctx context.Context) (uint64, error) {
					var page []byte
					if fetch != nil {
						if s != nil {
							if err := s.Acquire(ctx); err != nil {
								return 0, err
							}
						}
						t := time.Now()
						var err error
						page, err = fetch(ctx, i)
						rec.io(i, t)
						if s != nil {
							s.Release()
						}
						if err != nil {
							return 0, err
						}
					}
					f, err := submit(ctx, pool, i, page)
					if err != nil {
						return 0, err
					}
					sp, err := aio.AwaitFuture(ctx, f)
					if err != nil {
						return 0, err
					}
					rec.remote(i, sp)
					return sp.V, nil
				})
			}
			vals, err := aio.Gather(ctx, ts...)
			copy(out, vals)
			return err
		})
		rec.childPeakMB = childrenPeakMB(serverChildPID)
		return out, err
	}
}

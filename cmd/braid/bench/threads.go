package bench

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// The articles' I/O-bound workload through threads: N blocking
// HTTP GETs with net/http's client against a local server that answers
// after 20 ms, from the event loop through aio.ToThread with 20 and 200
// workers, beside plain Go goroutines with the same counts and, with
// --requests-peer, Python's requests in a ThreadPoolExecutor.

var threadsOpts struct {
	peer bool
}

// threadsFlagSet registers the threads workload's flag.
func threadsFlagSet(fs *flag.FlagSet) {
	fs.BoolVar(&threadsOpts.peer, "requests-peer", false, "threads: also measure Python's requests in a ThreadPoolExecutor in the same run, with --python-exe (default off)")
}

const articleLatency = 20 * time.Millisecond

func runThreads(ctx context.Context, cfg Config, report func(Row)) error {
	n := 5000
	if cfg.Quick {
		n = 200
	}
	srv, err := StartArticleServer(articleLatency)
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, workers := range []int{20, 200} {
		ideal := time.Duration(n/workers) * articleLatency
		d, err := FetchGoroutines(ctx, srv.URL, n, workers)
		if err != nil {
			return err
		}
		base := d
		report(Row{Workload: "threads", Model: fmt.Sprintf("go-net/http-%d", workers), Seconds: d.Seconds(),
			RPS: float64(n) / d.Seconds(), Note: fmt.Sprintf("%d GETs, %d goroutines; ideal %.2f s", n, workers, ideal.Seconds())})
		if d, err = FetchToThread(ctx, srv.URL, n, workers); err != nil {
			return err
		}
		r := d.Seconds() / base.Seconds()
		report(cfg.withGoal(Row{Workload: "threads", Model: fmt.Sprintf("braid-to-thread-%d", workers), Seconds: d.Seconds(),
			RPS: float64(n) / d.Seconds(), Note: fmt.Sprintf("%d tasks, aio.ToThread, ThreadPool(%d); %.2fx plain Go", n, workers, r)},
			"<= 1.15x plain Go", r <= 1.15))
		if workers == 20 {
			// The process pool on the same work: one GET at a time per
			// worker process. Processes are for CPU work and isolation;
			// this row shows what they cost on waiting (fewer GETs, or it
			// would take a minute).
			m := max(n/25, 10)
			d, err := FetchProcessPool(ctx, srv.URL, m)
			if err != nil {
				return err
			}
			report(Row{Workload: "threads", Model: fmt.Sprintf("braid-mp-pool-%d", poolWorkers), Seconds: d.Seconds(),
				RPS: float64(m) / d.Seconds(), Note: fmt.Sprintf("only %d GETs, Func.Map over %d worker processes; ideal %.2f s", m, poolWorkers, (time.Duration(m/poolWorkers) * articleLatency).Seconds())})
		}
		if threadsOpts.peer {
			secs, err := peerSeconds(ctx, cfg.PythonExe, "requests", "--workers", fmt.Sprint(workers), "--n", fmt.Sprint(n), "--base", srv.URL)
			if err != nil {
				return err
			}
			report(Row{Workload: "threads", Model: fmt.Sprintf("python-requests-%d", workers), Seconds: secs,
				RPS: float64(n) / secs, Note: fmt.Sprintf("%d GETs, ThreadPoolExecutor(%d), one Session per thread", n, workers)})
		}
	}
	return nil
}

// articleClient is a net/http client that keeps one idle connection per
// worker, so that neither side pays for reconnecting.
func articleClient(workers int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = workers
	tr.MaxIdleConnsPerHost = workers
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func fetchOne(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	return readArticle(resp, url)
}

// FetchGoroutines fetches n articles with the given number of goroutines
// taking URLs from a channel: plain Go, the baseline.
func FetchGoroutines(ctx context.Context, base string, n, workers int) (time.Duration, error) {
	c := articleClient(workers)
	defer c.CloseIdleConnections()
	urls := make(chan string)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range urls {
				if err := fetchOne(ctx, c, u); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		urls <- fmt.Sprintf("%s/article/%d", base, i)
	}
	close(urls)
	wg.Wait()
	took := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return took, err
	}
	return took, nil
}

// FetchToThread fetches n articles from n tasks of one event loop, each
// doing its blocking GET through aio.ToThread on a ThreadPool of the given
// size (the loop's default executor).
func FetchToThread(ctx context.Context, base string, n, workers int) (time.Duration, error) {
	c := articleClient(workers)
	defer c.CloseIdleConnections()
	pool := futures.NewThreadPool(futures.WithMaxWorkers(workers), futures.WithName("bench-threads"))
	defer pool.Shutdown(context.Background())
	var took time.Duration
	err := aio.Run(ctx, func(ctx context.Context) error {
		aio.CurrentLoop(ctx).SetDefaultExecutor(pool)
		start := time.Now()
		tasks := make([]*aio.Task[struct{}], n)
		for i := range tasks {
			url := fmt.Sprintf("%s/article/%d", base, i)
			tasks[i] = aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				return aio.ToThread(ctx, func(ctx context.Context) (struct{}, error) {
					return struct{}{}, fetchOne(ctx, c, url)
				})
			})
		}
		_, err := aio.Gather(ctx, tasks...)
		took = time.Since(start)
		return err
	})
	return took, err
}

// fetchInWorker is the GET of the threads workload as a registered
// function, so that a process pool can run it.
var fetchInWorker = mp.Register("bench.threads.fetch", func(ctx context.Context, url string) (int, error) {
	c := articleClient(1)
	defer c.CloseIdleConnections()
	return 0, fetchOne(ctx, c, url)
})

// FetchProcessPool fetches n articles on an mp.Pool of poolWorkers worker
// processes (pool start-up included).
func FetchProcessPool(ctx context.Context, base string, n int) (time.Duration, error) {
	start := time.Now()
	pool, err := mp.NewPool(mp.WithMaxWorkers(poolWorkers), mp.WithName("bench-threads"))
	if err != nil {
		return 0, err
	}
	defer pool.Shutdown(context.Background())
	urls := func(yield func(string) bool) {
		for i := 0; i < n; i++ {
			if !yield(fmt.Sprintf("%s/article/%d", base, i)) {
				return
			}
		}
	}
	for _, err := range fetchInWorker.Map(ctx, pool, urls) {
		if err != nil {
			return time.Since(start), err
		}
	}
	return time.Since(start), nil
}

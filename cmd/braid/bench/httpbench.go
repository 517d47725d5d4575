package bench

// The articles' I/O-bound workload on the event loop: N GETs from the
// local article server (20 ms latency), with braid's HTTP client on one
// loop, sequentially and with a semaphore of 50 and 200 (aiohttp's
// pattern), beside plain Go net/http with 200 goroutines in the same run,
// and Python aiohttp when --aiohttp-peer is given. The same fetches
// through the goroutine pool (aio.ToThread, 20 and 200 workers) are the
// threads workload (threads.go).

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

var httpOpts struct {
	n       int
	latency time.Duration
	aiohttp bool
}

// httpFlagSet registers the http workload's flags.
func httpFlagSet(fs *flag.FlagSet) {
	fs.IntVar(&httpOpts.n, "fetches", 5000, "http: number of GETs")
	fs.DurationVar(&httpOpts.latency, "latency", articleLatency, "http: the article server's latency")
	fs.BoolVar(&httpOpts.aiohttp, "aiohttp-peer", false, "http: also measure Python's aiohttp (on uvloop when installed) in the same run, with --python-exe (default off)")
}

func runHTTP(ctx context.Context, cfg Config, report func(Row)) error {
	n, latency := httpOpts.n, httpOpts.latency
	if cfg.Quick {
		n = 200
	}
	srv, err := StartArticleServer(latency)
	if err != nil {
		return err
	}
	defer srv.Close()
	// Plain Go first: the baseline of the goal.
	cfg.Progress("http: plain Go net/http, 200 goroutines")
	base, err := FetchGoroutines(ctx, srv.URL, n, 200)
	if err != nil {
		return err
	}
	report(Row{Workload: "http", Model: "go-net/http-200", Seconds: base.Seconds(), RPS: float64(n) / base.Seconds(),
		Note: fmt.Sprintf("%d GETs, %s server, 200 goroutines; ideal %.2f s", n, latency, (time.Duration(n/200) * latency).Seconds())})

	seqN := min(n, 200)
	cfg.Progress("http: braid loop, sequential (%d GETs, extrapolated)", seqN)
	d, err := FetchLoop(ctx, srv.URL, seqN, 1)
	if err != nil {
		return err
	}
	ext := d.Seconds() * float64(n) / float64(seqN)
	report(Row{Workload: "http", Model: "braid-loop-sequential", Seconds: ext, RPS: float64(seqN) / d.Seconds(),
		Note: fmt.Sprintf("%d GETs one after another, extrapolated to %d", seqN, n)})

	for _, conc := range []int{50, 200} {
		cfg.Progress("http: braid loop, semaphore %d", conc)
		d, err := FetchLoop(ctx, srv.URL, n, conc)
		if err != nil {
			return err
		}
		note := fmt.Sprintf("%d tasks, aio.Semaphore(%d), aiohttp.Client; ideal %.2f s", n, conc, (time.Duration(n/conc) * latency).Seconds())
		row := Row{Workload: "http", Model: fmt.Sprintf("braid-loop-sem%d", conc), Seconds: d.Seconds(), RPS: float64(n) / d.Seconds(), Note: note}
		if conc == 200 {
			r := d.Seconds() / base.Seconds()
			row.Note += fmt.Sprintf("; %.2fx plain Go", r)
			row = cfg.withGoal(row, "<= 1.1x plain Go", r <= 1.1)
		}
		report(row)
	}

	if httpOpts.aiohttp {
		for _, conc := range []int{50, 200} {
			cfg.Progress("http: Python aiohttp, semaphore %d", conc)
			kv, err := runPeer(ctx, cfg.PythonExe, "aiohttp", "--conc", fmt.Sprint(conc), "--n", fmt.Sprint(n), "--base", srv.URL)
			if err != nil {
				return err
			}
			secs, _ := strconv.ParseFloat(kv["secs"], 64)
			if secs <= 0 {
				return fmt.Errorf("peers.py aiohttp: no secs= in %v", kv)
			}
			report(Row{Workload: "http", Model: fmt.Sprintf("python-aiohttp-%s-%d", kv["loop"], conc), Seconds: secs, RPS: float64(n) / secs,
				Note: fmt.Sprintf("%d GETs, asyncio.Semaphore(%d), %s", n, conc, kv["loop"])})
		}
	}
	return nil
}

// FetchLoop fetches n articles from n tasks of one loop with braid's HTTP
// client, conc at a time (an aio.Semaphore), and returns the time from
// the first spawn to the last response read.
func FetchLoop(ctx context.Context, base string, n, conc int) (time.Duration, error) {
	var took time.Duration
	err := aio.Run(ctx, func(ctx context.Context) error {
		var client aiohttp.Client
		defer client.CloseIdleConnections()
		sem := aio.NewSemaphore(conc)
		start := time.Now()
		tasks := make([]*aio.Task[struct{}], n)
		for i := range tasks {
			url := fmt.Sprintf("%s/article/%d", base, i)
			tasks[i] = aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				if err := sem.Acquire(ctx); err != nil {
					return struct{}{}, err
				}
				defer sem.Release()
				return struct{}{}, fetchLoopOne(ctx, &client, url)
			})
		}
		_, err := aio.Gather(ctx, tasks...)
		took = time.Since(start)
		return err
	})
	return took, err
}

func fetchLoopOne(ctx context.Context, c *aiohttp.Client, url string) error {
	resp, err := c.Get(ctx, url)
	if err != nil {
		return err
	}
	return readArticle(resp, url)
}

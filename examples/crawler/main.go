// Command crawler fetches many pages at once from one event loop: the
// articles' "10,000 URLs" pattern, asyncio + aiohttp with
// asyncio.Semaphore(50) bounding the requests in flight.
//
// Python:
//
//	sem = asyncio.Semaphore(50)
//	async def fetch(session, url):
//	    async with sem:
//	        for attempt in range(retries + 1):
//	            try:
//	                async with asyncio.timeout(5):
//	                    async with session.get(url) as r:
//	                        return await r.read()
//	            except (aiohttp.ClientError, TimeoutError):
//	                await asyncio.sleep(backoff * 2**attempt)
//	pages = await asyncio.gather(*(fetch(s, u) for u in urls), return_exceptions=True)
//
// braid: aio.Run, aio.Spawn, aio.NewSemaphore, aiohttp.Client,
// aio.WithTimeout, aio.Sleep, aio.GatherAll. Each request has its own
// timeout and is retried with exponential back-off; a page that still fails
// is counted, not fatal.
//
// With no URL arguments the program starts its own HTTP server on
// 127.0.0.1 that answers every page after -latency (some pages fail once,
// some always, some never answer, to show the retries and timeouts), and
// then fetches -n pages from it twice: concurrently, and one at a time, the
// sequential version the articles compare against. With URL arguments it
// fetches those, concurrently only.
//
//	go run ./examples/crawler -n 1000 -latency 50ms
//	go run ./examples/crawler https://example.com/ https://go.dev/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	n           int
	concurrency int
	latency     time.Duration
	timeout     time.Duration
	retries     int
	backoff     time.Duration
	flakyEvery  int // the local server fails these pages once
	brokenEvery int // ... and these always
	hangEvery   int // ... and never answers these
	sequential  bool
}

// run is the program; main only adds the process's exit.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("crawler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.n, "n", 100, "pages to fetch from the local server")
	fs.IntVar(&c.concurrency, "concurrency", 50, "requests in flight at most (the semaphore)")
	fs.DurationVar(&c.latency, "latency", 20*time.Millisecond, "the local server's latency per page")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "timeout of one request")
	fs.IntVar(&c.retries, "retries", 3, "retries of a failed request")
	fs.DurationVar(&c.backoff, "backoff", 10*time.Millisecond, "first back-off; doubles on each retry")
	fs.IntVar(&c.flakyEvery, "flaky-every", 10, "the local server fails every k-th page once (0: none)")
	fs.IntVar(&c.brokenEvery, "broken-every", 0, "the local server always fails every k-th page (0: none)")
	fs.IntVar(&c.hangEvery, "hang-every", 0, "the local server never answers every k-th page (0: none)")
	fs.BoolVar(&c.sequential, "sequential", true, "also fetch the pages one at a time, for comparison")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crawler [flags] [URL...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.n < 0 || c.concurrency < 1 || c.retries < 0 || c.timeout <= 0 {
		fmt.Fprintln(stderr, "crawler: -n must be >= 0, -concurrency >= 1, -retries >= 0 and -timeout > 0")
		return 2
	}

	urls := fs.Args()
	local := len(urls) == 0
	if local {
		srv, err := startServer(c)
		if err != nil {
			fmt.Fprintln(stderr, "crawler:", err)
			return 1
		}
		defer srv.Close()
		for i := range c.n {
			urls = append(urls, fmt.Sprintf("http://%s/page/%d", srv.Addr, i))
		}
		fmt.Fprintf(stdout, "local server on %s, latency %v\n", srv.Addr, c.latency)
	}

	err := aio.Run(ctx, func(ctx context.Context) error {
		var client aiohttp.Client
		defer client.CloseIdleConnections()
		st := crawl(ctx, &client, urls, c, c.concurrency)
		fmt.Fprintf(stdout, "concurrent (%d in flight): %s\n", c.concurrency, st)
		if local && c.sequential {
			seq := crawl(ctx, &client, urls, c, 1)
			fmt.Fprintf(stdout, "sequential (1 in flight): %s\n", seq)
			fmt.Fprintf(stdout, "speedup: %.1fx\n", seq.elapsed.Seconds()/st.elapsed.Seconds())
		}
		return ctx.Err()
	})
	if err != nil {
		fmt.Fprintln(stderr, "crawler:", err)
		return 1
	}
	return 0
}

// stats is what one crawl did.
type stats struct {
	ok, failed, retries, timeouts int
	bytes                         int64
	elapsed                       time.Duration
	firstErr                      error
}

func (s stats) String() string {
	out := fmt.Sprintf("%d ok, %d failed, %d retries (%d after a timeout), %d bytes in %v",
		s.ok, s.failed, s.retries, s.timeouts, s.bytes, s.elapsed.Round(time.Millisecond))
	if s.firstErr != nil {
		out += fmt.Sprintf(" (first error: %v)", s.firstErr)
	}
	return out
}

// result is one page's outcome.
type result struct {
	bytes    int64
	retries  int
	timeouts int
}

// crawl fetches every URL, at most limit at a time, and counts the outcomes.
func crawl(ctx context.Context, client *aiohttp.Client, urls []string, c config, limit int) stats {
	start := time.Now()
	sem := aio.NewSemaphore(limit)
	tasks := make([]*aio.Task[result], len(urls))
	for i, u := range urls {
		tasks[i] = aio.Spawn(ctx, func(ctx context.Context) (result, error) {
			if err := sem.Acquire(ctx); err != nil {
				return result{}, err
			}
			defer sem.Release()
			return fetch(ctx, client, u, c)
		})
	}
	results, errs := aio.GatherAll(ctx, tasks...)
	var s stats
	for i, r := range results {
		s.retries += r.retries
		s.timeouts += r.timeouts
		if errs[i] != nil {
			s.failed++
			if s.firstErr == nil {
				s.firstErr = errs[i]
			}
			continue
		}
		s.ok++
		s.bytes += r.bytes
	}
	s.elapsed = time.Since(start)
	return s
}

// fetch gets one page, with a timeout per attempt and exponential back-off
// between attempts. Timeouts, network errors and 5xx responses are retried;
// 4xx responses are not.
func fetch(ctx context.Context, client *aiohttp.Client, url string, c config) (result, error) {
	var r result
	backoff := c.backoff
	for attempt := 0; ; attempt++ {
		n, err := get(ctx, client, url, c.timeout)
		if err == nil {
			r.bytes = n
			return r, nil
		}
		var status *statusError
		permanent := errors.As(err, &status) && status.code < 500 // a 404 stays a 404
		if ctx.Err() != nil || permanent || attempt == c.retries {
			return r, fmt.Errorf("%s: %w (after %d attempts)", url, err, attempt+1)
		}
		r.retries++
		if errors.Is(err, context.DeadlineExceeded) {
			r.timeouts++
		}
		if err := aio.Sleep(ctx, backoff); err != nil {
			return r, err
		}
		backoff *= 2
	}
}

// get is one attempt: the request and the whole body within timeout.
func get(ctx context.Context, client *aiohttp.Client, url string, timeout time.Duration) (int64, error) {
	ctx, scope := aio.WithTimeout(ctx, timeout)
	defer scope.Stop()
	resp, err := client.Get(ctx, url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, &statusError{resp.StatusCode, resp.Status}
	}
	return n, nil
}

// statusError is a response other than 200 OK.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "HTTP " + e.status }

// server is the local site: plain net/http in its own goroutines, so that
// its latency is real time and not the loop's.
type server struct {
	Addr string
	srv  *http.Server
	done chan struct{}
}

func startServer(c config) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	requests := map[int]int{} // requests of each flaky page so far
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if c.hangEvery > 0 && i%c.hangEvery == c.hangEvery-1 {
			<-r.Context().Done() // until the client gives up
			return
		}
		select {
		case <-time.After(c.latency): // the simulated network and server time
		case <-r.Context().Done():
			return
		}
		if c.brokenEvery > 0 && i%c.brokenEvery == c.brokenEvery-1 {
			http.Error(w, "broken page", http.StatusInternalServerError)
			return
		}
		if c.flakyEvery > 0 && i%c.flakyEvery == c.flakyEvery-1 {
			// Every odd request fails: the first attempt of each crawl.
			mu.Lock()
			requests[i]++
			odd := requests[i]%2 == 1
			mu.Unlock()
			if odd {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintf(w, "<html><body><h1>page %d</h1>%s</body></html>\n", i, strings.Repeat("lorem ipsum ", 40))
	})
	s := &server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for its goroutine.
func (s *server) Close() {
	s.srv.Close()
	<-s.done
}

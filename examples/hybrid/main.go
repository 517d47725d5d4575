// Command hybrid is the articles' hybrid pipeline: an event loop downloads
// pages concurrently and hands each page's CPU-heavy parse to a process
// pool from inside its task, so that the loop keeps downloading while the
// worker processes parse on the other cores.
//
// Python:
//
//	async def one(session, pool, url):
//	    async with session.get(url) as r:
//	        page = await r.text()
//	    return await loop.run_in_executor(pool, parse, page)
//
//	with ProcessPoolExecutor() as pool:
//	    async with aiohttp.ClientSession() as session:
//	        results = await asyncio.gather(*(one(session, pool, u) for u in urls))
//
// braid: mp.Register, mp.Main, mp.NewPool, Func.Await (the counterpart of
// loop.run_in_executor(pool, parse, page): only the calling task waits,
// the loop runs the others), aio.Run, aio.Spawn, aio.NewSemaphore,
// aiohttp.Client, aio.Gather.
//
// The program starts its own HTTP server on 127.0.0.1 that answers every
// page after -latency, and runs the same job three ways, printing the time
// of each against the first:
//
//   - sequential: fetch a page, parse it, then the next one;
//   - loop alone: every fetch in a task of one loop, each task parsing its
//     page itself, which blocks the loop (and every other task) while it
//     parses (asyncio without the executor);
//   - hybrid: the fetches on the loop, the parses in -workers processes.
//
// It also prints the loop's longest stall: how late a task sleeping 5 ms
// at a time woke up, which is how long the loop could not run its other
// tasks. The three runs must give the same results, which are checked.
//
//	go run ./examples/hybrid -pages 200 -words 50000 -latency 50ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
	"github.com/braid-go/braid/mp"
)

// Stats is what parsing a page gives: its title, its words and a checksum
// of them. Its fields are exported: it travels back from the worker
// processes.
type Stats struct {
	Title    string
	Words    int    // words in the text, outside the tags
	Distinct int    // distinct words, case folded
	Top      string // the most frequent word (the first in order on a tie)
	TopCount int
	Checksum uint64 // the salted CRC of every word, -rounds times
}

// Job is the argument of Parse: the page and how much work to do on it.
type Job struct {
	Page   string
	Rounds int
}

// Parse is registered at package level, so that the worker processes (this
// program started again) have it too.
var Parse = mp.Register("examples.hybrid.parse", func(ctx context.Context, j Job) (Stats, error) {
	return parse(j.Page, j.Rounds), nil
})

func main() {
	mp.Main() // in a worker process: serve the pool, never return
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	pages       int
	words       int
	rounds      int
	latency     time.Duration
	concurrency int
	workers     int
	modes       []string
}

var allModes = []string{"sequential", "loop", "hybrid"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("hybrid", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.pages, "pages", 40, "pages to download and parse")
	fs.IntVar(&c.words, "words", 20000, "words of text in each page")
	fs.IntVar(&c.rounds, "rounds", 10, "passes of the parse's checksum over the words: its CPU cost")
	fs.DurationVar(&c.latency, "latency", 20*time.Millisecond, "the local server's latency per page")
	fs.IntVar(&c.concurrency, "concurrency", 50, "downloads in flight at most (the semaphore)")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "worker processes of the process pool")
	modes := fs.String("modes", strings.Join(allModes, ","), "which of "+strings.Join(allModes, ",")+" to run, in order")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hybrid [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.pages < 1 || c.words < 1 || c.words > 1_000_000 || c.rounds < 0 || c.latency < 0 ||
		c.concurrency < 1 || c.workers < 1 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hybrid: -pages, -concurrency and -workers must be >= 1, -words 1..1000000, -rounds and -latency >= 0, and there are no arguments")
		return 2
	}
	for _, m := range strings.Split(*modes, ",") {
		if !slices.Contains(allModes, m) {
			fmt.Fprintf(stderr, "hybrid: -modes: unknown mode %q; use a comma-separated list of %s\n", m, strings.Join(allModes, ","))
			return 2
		}
		c.modes = append(c.modes, m)
	}

	srv, err := startServer(min(c.pages, bodies), c.words, c.latency)
	if err != nil {
		fmt.Fprintln(stderr, "hybrid:", err)
		return 1
	}
	defer srv.Close()
	urls := make([]string, c.pages)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://%s/page/%d", srv.Addr, i)
	}
	fmt.Fprintf(stdout, "local server on %s, latency %v; %d pages of %d words, %d checksum rounds; %d workers, %d CPUs\n",
		srv.Addr, c.latency, c.pages, c.words, c.rounds, c.workers, runtime.NumCPU())

	notes := map[string]string{
		"sequential": "fetch, parse, next page",
		"loop":       "fetches overlap; each parse blocks the loop",
		"hybrid":     fmt.Sprintf("fetches on the loop, parses in %d processes (pool start included)", c.workers),
	}
	var base time.Duration
	var want []Stats
	for _, mode := range c.modes {
		start := time.Now()
		got, stall, err := crawl(ctx, urls, c, mode)
		elapsed := time.Since(start)
		if err != nil {
			fmt.Fprintf(stderr, "hybrid: %s: %v\n", mode, err)
			return 1
		}
		if len(got) != c.pages {
			fmt.Fprintf(stderr, "hybrid: %s: %d results for %d pages\n", mode, len(got), c.pages)
			return 1
		}
		for i, s := range got {
			if s.Title != "page "+strconv.Itoa(i) || s.Words != c.words {
				fmt.Fprintf(stderr, "hybrid: %s: page %d parsed as %q with %d words, want %q with %d\n",
					mode, i, s.Title, s.Words, "page "+strconv.Itoa(i), c.words)
				return 1
			}
		}
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			fmt.Fprintf(stderr, "hybrid: %s gave other results than %s\n", mode, c.modes[0])
			return 1
		}
		if base == 0 {
			base = elapsed
		}
		fmt.Fprintf(stdout, "%-10s %9v  %5.1fx  longest loop stall %9v  %s\n", mode, elapsed.Round(time.Millisecond),
			base.Seconds()/elapsed.Seconds(), stall.Round(time.Millisecond), notes[mode])
	}
	fmt.Fprintln(stdout, summary(want))
	return 0
}

// summary is one line about all the pages.
func summary(all []Stats) string {
	var words int
	var sum uint64
	top := map[string]int{}
	for _, s := range all {
		words += s.Words
		sum += s.Checksum
		top[s.Top]++
	}
	best := ""
	for w, n := range top {
		if n > top[best] || n == top[best] && w < best {
			best = w
		}
	}
	return fmt.Sprintf("%d pages, %d words; most frequent word %q (top of %d pages); checksums added %016x",
		len(all), words, best, top[best], sum)
}

// crawl downloads and parses every page in one of the three ways, on one
// event loop, and returns the results in page order and the loop's longest
// stall.
func crawl(ctx context.Context, urls []string, c config, mode string) ([]Stats, time.Duration, error) {
	var pool *mp.Pool
	if mode == "hybrid" {
		// with ProcessPoolExecutor() as pool: asyncio.run(main(pool)).
		// The pool is shut down after the loop: waiting for its workers
		// to exit would block the loop.
		var err error
		if pool, err = mp.NewPool(mp.WithMaxWorkers(c.workers)); err != nil {
			return nil, 0, err
		}
		defer pool.Shutdown(ctx)
	}
	var out []Stats
	var stall time.Duration
	err := aio.Run(ctx, func(ctx context.Context) (err error) {
		var client aiohttp.Client
		defer client.CloseIdleConnections()

		// The heartbeat: a task that sleeps 5 ms at a time and notes how
		// late it wakes up.
		heartbeat := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			const tick = 5 * time.Millisecond
			for {
				t := time.Now()
				if err := aio.Sleep(ctx, tick); err != nil {
					return struct{}{}, err
				}
				stall = max(stall, time.Since(t)-tick)
			}
		})
		defer func() {
			heartbeat.Cancel()
			// Its cancellation is expected; anything else is an error.
			if _, herr := heartbeat.Await(ctx); herr != nil && !errors.Is(herr, context.Canceled) && err == nil {
				err = herr
			}
		}()

		switch mode {
		case "sequential":
			for _, u := range urls {
				page, err := fetch(ctx, &client, u)
				if err != nil {
					return err
				}
				out = append(out, parse(page, c.rounds))
			}
		case "loop":
			out, err = gatherPages(ctx, urls, c.concurrency, &client, func(ctx context.Context, page string) (Stats, error) {
				return parse(page, c.rounds), nil // on the loop's thread: no other task runs meanwhile
			})
		case "hybrid":
			out, err = gatherPages(ctx, urls, c.concurrency, &client, func(ctx context.Context, page string) (Stats, error) {
				// await loop.run_in_executor(pool, parse, page): this task
				// waits, the loop runs the others.
				return Parse.Await(ctx, pool, Job{Page: page, Rounds: c.rounds})
			})
		}
		return err
	})
	return out, stall, err
}

// gatherPages fetches every page in a task of its own, at most limit at a
// time, parses it with parseFn in the same task, and gathers the results.
func gatherPages(ctx context.Context, urls []string, limit int, client *aiohttp.Client,
	parseFn func(context.Context, string) (Stats, error)) ([]Stats, error) {
	sem := aio.NewSemaphore(limit)
	tasks := make([]*aio.Task[Stats], len(urls))
	for i, u := range urls {
		tasks[i] = aio.Spawn(ctx, func(ctx context.Context) (Stats, error) {
			if err := sem.Acquire(ctx); err != nil {
				return Stats{}, err
			}
			page, err := fetch(ctx, client, u)
			sem.Release() // the semaphore bounds the downloads, not the parses
			if err != nil {
				return Stats{}, err
			}
			return parseFn(ctx, page)
		})
	}
	return aio.Gather(ctx, tasks...)
}

// fetch downloads one page.
func fetch(ctx context.Context, client *aiohttp.Client, url string) (string, error) {
	resp, err := client.Get(ctx, url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("%s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %s", url, resp.Status)
	}
	return string(body), nil
}

// parse is the CPU-heavy step: it reads the title, splits the text outside
// the tags into words, counts them, and computes a salted CRC of every word
// rounds times (the stand-in, as in braid's benchmark, for the work of a
// real parser: its CPU cost per page).
func parse(page string, rounds int) Stats {
	var s Stats
	if i := strings.Index(page, "<h1>"); i >= 0 {
		if j := strings.Index(page[i:], "</h1>"); j >= 0 {
			s.Title = page[i+len("<h1>") : i+j]
		}
	}
	body := page
	if i := strings.Index(page, "</h1>"); i >= 0 {
		body = page[i+len("</h1>"):] // the title is not text
	}
	var words []string
	inTag := false
	start := -1
	for i := 0; i <= len(body); i++ {
		var ch byte = ' '
		if i < len(body) {
			ch = body[i]
		}
		letter := !inTag && ('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z')
		if letter && start < 0 {
			start = i
		}
		if !letter && start >= 0 {
			words = append(words, strings.ToLower(body[start:i]))
			start = -1
		}
		switch ch {
		case '<':
			inTag = true
		case '>':
			inTag = false
		}
	}
	counts := map[string]int{}
	for _, w := range words {
		counts[w]++
	}
	s.Words, s.Distinct = len(words), len(counts)
	for w, n := range counts {
		if n > s.TopCount || n == s.TopCount && w < s.Top {
			s.Top, s.TopCount = w, n
		}
	}
	var sum uint64
	buf := make([]byte, 0, 64)
	for r := range rounds {
		salt := strconv.Itoa(r)
		for _, w := range words {
			buf = append(append(buf[:0], salt...), w...)
			h := uint64(crc32.ChecksumIEEE(buf))
			sum ^= h * uint64(len(w))
			sum = sum<<1 | sum>>63
		}
	}
	s.Checksum = sum
	return s
}

// vocabulary is what the pages are written in.
var vocabulary = strings.Fields(`the of and to in a is that for it as was with be by on not he this are
or his from at which but have an they you were her she there been one all we their has would when if
so no will can more about said them some could him into than then only its time like other these two
may first new very any after also well our most over such where even made many through must before
down back years way should because each people work state life world still between under never last
while city great house part place system number course water school during without government page`)

// bodies is how many different page bodies the server has at most: page i
// has body i % bodies (body i when there are fewer pages), under its
// own title.
const bodies = 16

// pageBody is the text of body k: words paragraphs with links whose
// attributes are not text. The words follow a skewed distribution, as in
// real text, from a generator seeded with k.
func pageBody(k, words int) string {
	rng := rand.New(rand.NewPCG(uint64(k), 42))
	var b strings.Builder
	b.WriteString("<p>")
	for n := range words {
		// The minimum of two uniform draws favours the first words.
		w := vocabulary[min(rng.IntN(len(vocabulary)), rng.IntN(len(vocabulary)))]
		switch {
		case n%97 == 96:
			fmt.Fprintf(&b, `<a href="/page/%d" class="link">%s</a> `, rng.IntN(1000), w)
		case n%200 == 199:
			b.WriteString(w + ".</p>\n<p>")
		case rng.IntN(8) == 0:
			b.WriteString(strings.ToUpper(w[:1]) + w[1:] + ", ")
		default:
			b.WriteString(w + " ")
		}
	}
	b.WriteString("</p>\n")
	return b.String()
}

// pageHead and pageTail wrap a body into page i.
func pageHead(i int) string {
	return fmt.Sprintf("<!DOCTYPE html>\n<html><head><title>page %d</title></head><body><h1>page %d</h1>\n", i, i)
}

const pageTail = "</body></html>\n"

// server is the local site: plain net/http in its own goroutines, so that
// its latency is real time and its work is not the loop's.
type server struct {
	Addr string
	srv  *http.Server
	done chan struct{}
}

// startServer serves pages whose text is one of n bodies of words words
// each, after latency.
func startServer(n, words int, latency time.Duration) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// The bodies are written once, before any timing: the server shares
	// the machine with the program it serves.
	texts := make([]string, n)
	for k := range texts {
		texts[k] = pageBody(k, words)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(latency): // the simulated network and server time
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, pageHead(i)+texts[i%n]+pageTail)
	})
	s := &server{Addr: ln.Addr().String(), srv: &http.Server{Handler: mux}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "hybrid: server:", err)
		}
	}()
	return s, nil
}

// Close stops the server and waits for its goroutine.
func (s *server) Close() {
	s.srv.Close()
	<-s.done
}

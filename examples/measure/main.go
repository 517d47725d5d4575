// Command measure is the articles' measure_task decorator, the "measure
// first" step before choosing a model: it runs a CPU-bound function, two
// I/O-bound ones and a mixed one, each measured while it runs, and prints
// the verdict (CPU-bound, I/O-bound or mixed), the figures behind it and
// the model that fits.
//
// Python:
//
//	def measure_task(func):
//	    @functools.wraps(func)
//	    def wrapper(*args, **kwargs):
//	        wall0, cpu0 = time.perf_counter(), time.process_time()
//	        result = func(*args, **kwargs)
//	        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
//	        print(f"{func.__name__}: wall {wall:.3f}s, cpu {cpu:.3f}s, ratio {cpu / wall:.2f}",
//	              "CPU-bound" if cpu / wall > 0.8 else "I/O-bound")
//	        return result
//	    return wrapper
//
//	@measure_task
//	def crunch(): ...
//
// braid: profile.Func(ctx, fn) measures the call with the kernel's
// accounting (user and system CPU, run-queue wait, context switches, bytes
// read and written) and samples what the process waits on, then classifies
// it (Report.Verdict: Class, CPUShare, WaitedOn, Model). Unlike the ratio of
// CPU to wall time, the CPU share leaves out the time spent waiting for a
// core, so a CPU-bound function on a busy machine is still CPU-bound.
// measureTask below is the decorator: Go has no @ syntax, so it wraps a
// func and returns one.
//
// The figures are of the whole process during the call, the sampler's own
// work included: with sockets open, telling what each waits on costs the
// sampler some system time per sample (-interval sets how often), which
// the CPU/wall ratio counts and the verdict, for a function blocked on
// I/O, does not.
//
//	go run ./examples/measure -fib 40 -sleep 1s -v
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/braid-go/braid/profile"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	fib      int
	sleep    time.Duration
	requests int
	latency  time.Duration
	mixedFib int
	interval time.Duration
	verbose  bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("measure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.fib, "fib", 39, "the CPU-bound function computes fib(n)")
	fs.DurationVar(&c.sleep, "sleep", 300*time.Millisecond, "the sleeping function sleeps this long")
	fs.IntVar(&c.requests, "requests", 20, "requests the socket function and the mixed one make to the local server")
	fs.DurationVar(&c.latency, "latency", 15*time.Millisecond, "the local server's latency per request")
	fs.IntVar(&c.mixedFib, "mixed-fib", 31, "the mixed function computes fib(n) after each request")
	fs.DurationVar(&c.interval, "interval", profile.DefaultInterval, "how often the process is sampled")
	fs.BoolVar(&c.verbose, "v", false, "print each whole report (every figure, the reasons, the questions)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: measure [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.fib < 0 || c.fib > 50 || c.mixedFib < 0 || c.mixedFib > 50 || c.sleep < 0 || c.requests < 1 ||
		c.latency < 0 || c.interval < time.Millisecond || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "measure: -fib and -mixed-fib must be 0..50, -sleep and -latency >= 0, -requests >= 1, -interval >= 1ms, and there are no arguments")
		return 2
	}

	// The functions to measure, decorated.
	opts := []profile.Option{profile.WithInterval(c.interval)}
	var result int
	crunch := measureTask(fmt.Sprintf("fib(%d)", c.fib), stdout, c.verbose, func(context.Context) error {
		result = fib(c.fib)
		return nil
	}, opts...)
	sleep := measureTask(fmt.Sprintf("sleep(%v)", c.sleep), stdout, c.verbose, func(ctx context.Context) error {
		select { // time.Sleep, but cut short by ctx
		case <-time.After(c.sleep):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, opts...)
	// The server the other two talk to starts after the first two are
	// measured: the measurement is of the whole process, and with the
	// server's idle listener in it the sleeping function's waits are
	// classified as waits on local sockets (the Go runtime's epoll watches
	// the listener) instead of a timer.
	var srv *server // started below
	fetch := measureTask(fmt.Sprintf("fetch x %d", c.requests), stdout, c.verbose, func(ctx context.Context) error {
		return ask(ctx, srv.Addr, c.requests, 0)
	}, opts...)
	mixed := measureTask(fmt.Sprintf("fetch + fib(%d) x %d", c.mixedFib, c.requests), stdout, c.verbose, func(ctx context.Context) error {
		return ask(ctx, srv.Addr, c.requests, c.mixedFib)
	}, opts...)

	for _, fn := range []func(context.Context) error{crunch, sleep} {
		if err := fn(ctx); err != nil {
			fmt.Fprintln(stderr, "measure:", err)
			return 1
		}
	}
	var err error
	srv, err = startServer(c.latency)
	if err != nil {
		fmt.Fprintln(stderr, "measure:", err)
		return 1
	}
	defer srv.Close()
	for _, fn := range []func(context.Context) error{fetch, mixed} {
		if err := fn(ctx); err != nil {
			fmt.Fprintln(stderr, "measure:", err)
			return 1
		}
	}
	if want := fibLoop(c.fib); result != want {
		fmt.Fprintf(stderr, "measure: fib(%d) = %d, want %d\n", c.fib, result, want)
		return 1
	}
	return 0
}

// measureTask is the decorator: it returns fn wrapped so that each call is
// measured with profile.Func and its verdict and figures printed to w
// (the whole report with verbose). The wrapped function returns fn's error,
// or the measurement's when it could not be made.
func measureTask(name string, w io.Writer, verbose bool, fn func(context.Context) error, opts ...profile.Option) func(context.Context) error {
	return func(ctx context.Context) error {
		rep, err := profile.Func(ctx, fn, opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		v := rep.Verdict
		fmt.Fprintf(w, "%s: verdict %s\n", name, v.Class)
		fmt.Fprintf(w, "  wall %.3f s, CPU %.3f s (user %.3f, system %.3f), CPU/wall %.2f (the Python decorator's ratio)\n",
			rep.WallSeconds, rep.CPUSeconds(), rep.UserSeconds, rep.SystemSeconds, rep.CPUSeconds()/max(rep.WallSeconds, 1e-9))
		fmt.Fprintf(w, "  computed %.0f%% of the time it could run (run-queue wait %.3f s); %d voluntary, %d involuntary context switches; %d samples\n",
			100*v.CPUShare, rep.RunQueueSeconds, rep.VoluntaryCtxSwitches, rep.InvoluntaryCtxSwitches, rep.Samples)
		if v.WaitedOn != "" {
			on := v.WaitedOn
			if v.WaitedOnDetail != "" {
				on += ": " + v.WaitedOnDetail
			}
			fmt.Fprintf(w, "  waited on %s\n", on)
		}
		fmt.Fprintf(w, "  model: %s\n", v.Model)
		if verbose {
			for _, line := range strings.Split(strings.TrimRight(rep.String(), "\n"), "\n") {
				fmt.Fprintf(w, "  | %s\n", line)
			}
		}
		return nil
	}
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

// fibLoop is the fast version, to check the results.
func fibLoop(n int) int {
	a, b := 0, 1
	for range n {
		a, b = b, a+b
	}
	return a
}

// ask makes n requests to the local server over one connection, one at a
// time, and computes fib(work) after each answer (none when work is 0).
func ask(ctx context.Context, addr string, n, work int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReader(conn)
	for i := range n {
		if _, err := fmt.Fprintf(conn, "%d\n", i); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		if want := fmt.Sprintf("answer %d\n", i); line != want {
			return fmt.Errorf("request %d: the server answered %q, want %q", i, line, want)
		}
		if work > 0 && fib(work) != fibLoop(work) {
			return errors.New("fib is wrong")
		}
	}
	return nil
}

// server answers each line it reads with "answer " and the line, after
// its latency: the other end of the I/O-bound functions, on 127.0.0.1.
type server struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]bool
}

func startServer(latency time.Duration) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &server{Addr: ln.Addr().String(), ln: ln, conn: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			s.mu.Lock()
			s.conn[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.conn, c)
					s.mu.Unlock()
					c.Close()
				}()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					time.Sleep(latency) // the simulated network and server time
					if _, err := io.WriteString(c, "answer "+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return s, nil
}

// Close stops the server, closes its connections and waits for its
// goroutines.
func (s *server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conn {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

package bench

// The articles' experiment, the default of `braid bench`: three workloads
// (CPU-bound, I/O-bound, mixed), each run under every concurrency model
// that applies to it, in rounds that alternate the models' order, so that
// each figure is the median of the rounds with its spread and a slow spell
// of a shared machine falls on every model alike.
//
//	cpu-bound  the articles' fib and prime count, in tasks
//	io-bound   HTTP GETs from a local server that answers after a latency
//	mixed      a GET, then a CPU-heavy parse of the page, per task
//
// The models: sequential; the loop alone (one aio task per job); the loop
// with an aio.Semaphore; the goroutine pool (futures.ThreadPool) at two
// sizes; the process pool (mp.Pool); the loop handing work to the process
// pool (the articles' hybrid, asyncio + run_in_executor). The same
// workloads written the articles' way in Python run beside them with
// --python (python.go).

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// ExpParams sizes the experiment's three workloads. The Python side runs
// the same shapes; its CPU tasks are smaller (PyFib, PyPrimes,
// PyParseRounds) because CPython computes ~50x slower, which its table
// says.
type ExpParams struct {
	CPUTasks    int           // tasks of the cpu-bound workload, alternately fib and primes
	Fib         int           // fib(Fib) per fib task
	Primes      int           // primes below Primes per prime task
	Fetches     int           // GETs of the io-bound workload
	Pages       int           // pages of the mixed workload
	Latency     time.Duration // the local server's answer delay
	ParseRounds int           // passes of the mixed workload's parse over each page
	Sem         int           // the semaphore of the loop+sem model
	SmallPool   int           // the goroutine pool's small size (and the process pool's)
	BigPool     int           // the goroutine pool's large size (the articles' 20 threads)

	PyFib, PyPrimes, PyParseRounds int
}

// DefaultParams is the default run's size: under 60 s on a loaded 2-core
// machine with 5 rounds. quick is a smoke test's size (tests of the
// command), not a measurement.
func DefaultParams(quick bool) ExpParams {
	n := runtime.GOMAXPROCS(0)
	p := ExpParams{
		CPUTasks: 16, Fib: 32, Primes: 300_000,
		Fetches: 100, Pages: 80, Latency: 8 * time.Millisecond, ParseRounds: 300,
		Sem: 20, SmallPool: n, BigPool: 20,
		PyFib: 26, PyPrimes: 60_000, PyParseRounds: 15,
	}
	if quick {
		p.CPUTasks, p.Fib, p.Primes = 4, 20, 5_000
		p.Fetches, p.Pages, p.Latency, p.ParseRounds = 12, 12, 2*time.Millisecond, 2
		p.Sem, p.BigPool = 4, 4
		p.PyFib, p.PyPrimes, p.PyParseRounds = 15, 2_000, 1
	}
	return p
}

// Segment kinds of a task's timeline.
const (
	SegQueued = "queued" // waiting for a worker, the semaphore or the loop
	SegIO     = "io"     // waiting for the network
	SegRun    = "run"    // computing
)

// Segment is one stretch of a task's life, in seconds from the start of
// its model's run.
type Segment struct {
	Kind     string  `json:"kind"`
	From, To float64 `json:"-"`
}

// TaskTimeline is what one task did during a model's run.
type TaskTimeline struct {
	Task     int       `json:"task"`
	Segments []Segment `json:"segments"`
}

// Sample is one run of one model.
type Sample struct {
	Wall     time.Duration
	CPU      time.Duration // user+system of this process and of children reaped during the run
	PeakMB   float64       // this process's peak RSS during the run, plus its worker processes' peaks
	Timeline []TaskTimeline
}

// recorder collects the timestamps of a model's tasks. Each task writes
// only its own slot; the slots are read after the run.
type recorder struct {
	t0          time.Time
	marks       [][4]time.Time // I/O from, to; compute from, to
	childPeakMB float64        // the worker processes' peak RSS, summed
}

func newRecorder(n int) *recorder {
	return &recorder{t0: time.Now(), marks: make([][4]time.Time, n)}
}

// io records that task i waited for the network from from to now.
func (r *recorder) io(i int, from time.Time) { r.marks[i][0], r.marks[i][1] = from, time.Now() }

// run records that task i computed from from to now.
func (r *recorder) run(i int, from time.Time) { r.marks[i][2], r.marks[i][3] = from, time.Now() }

// remote records the stretches that a worker process timed (wall clock
// nanoseconds, comparable across processes on one machine).
func (r *recorder) remote(i int, s span) {
	at := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	if s.IOFrom != 0 {
		r.marks[i][0], r.marks[i][1] = at(s.IOFrom), at(s.IOTo)
	}
	if s.RunFrom != 0 {
		r.marks[i][2], r.marks[i][3] = at(s.RunFrom), at(s.RunTo)
	}
}

// timeline turns the marks of up to max tasks, evenly spread, into
// segments: queued until the task first did something, then its I/O
// wait, then queued again until it computed (a hybrid's page waiting for
// a worker process), then its computation.
func (r *recorder) timeline(max int) []TaskTimeline {
	n := len(r.marks)
	if n == 0 {
		return nil
	}
	step := 1
	if n > max {
		step = (n + max - 1) / max
	}
	sec := func(t time.Time) float64 { return t.Sub(r.t0).Seconds() }
	var out []TaskTimeline
	for i := 0; i < n; i += step {
		m := r.marks[i]
		var segs []Segment
		add := func(kind string, from, to time.Time) {
			if from.IsZero() || to.IsZero() || !to.After(from) {
				return
			}
			segs = append(segs, Segment{kind, sec(from), sec(to)})
		}
		first := m[0]
		if first.IsZero() {
			first = m[2]
		}
		add(SegQueued, r.t0, first)
		add(SegIO, m[0], m[1])
		if !m[1].IsZero() {
			add(SegQueued, m[1], m[2])
		}
		add(SegRun, m[2], m[3])
		out = append(out, TaskTimeline{Task: i, Segments: segs})
	}
	return out
}

// span is what a worker process returns: a result and when it waited and
// computed.
type span struct {
	V              uint64
	IOFrom, IOTo   int64 // wall clock, Unix nanoseconds; 0 when none
	RunFrom, RunTo int64
}

// parseJob is a page to parse in a worker process.
type parseJob struct {
	Page   []byte
	Rounds int
}

// fetchParseJob is a page to fetch and parse in a worker process.
type fetchParseJob struct {
	URL    string
	Rounds int
}

func nowNs() int64 { return time.Now().UnixNano() }

var (
	expCPU = mp.Register("bench.exp.cpu", func(ctx context.Context, t CPUTask) (span, error) {
		s := span{RunFrom: nowNs()}
		v, err := RunCPUTask(t)
		s.V, s.RunTo = uint64(v), nowNs()
		return s, err
	})
	expFetch = mp.Register("bench.exp.fetch", func(ctx context.Context, url string) (span, error) {
		s := span{IOFrom: nowNs()}
		_, err := fetchPage(ctx, workerClient, url)
		s.IOTo = nowNs()
		return s, err
	})
	expFetchParse = mp.Register("bench.exp.fetchparse", func(ctx context.Context, j fetchParseJob) (span, error) {
		s := span{IOFrom: nowNs()}
		page, err := fetchPage(ctx, workerClient, j.URL)
		s.IOTo = nowNs()
		if err != nil {
			return s, err
		}
		s.RunFrom = nowNs()
		s.V = ParsePage(page, j.Rounds)
		s.RunTo = nowNs()
		return s, nil
	})
	expParse = mp.Register("bench.exp.parse", func(ctx context.Context, j parseJob) (span, error) {
		s := span{RunFrom: nowNs()}
		s.V = ParsePage(j.Page, j.Rounds)
		s.RunTo = nowNs()
		return s, nil
	})
)

// workerClient is a worker process's HTTP client (one connection kept).
var workerClient = articleClient(1)

// fetchPage GETs url and returns the body.
func fetchPage(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	return readPage(resp, url)
}

func readPage(resp *http.Response, url string) ([]byte, error) {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 8192)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return []byte(b.String()), nil
}

// ParsePage is the mixed workload's CPU-heavy parse: rounds passes that
// split the page into words (letters only, lower-cased) and fold each
// word's FNV-1a hash, salted by the round, into a checksum. Every model
// must return the same checksum for a page.
func ParsePage(page []byte, rounds int) uint64 {
	var sum uint64
	word := make([]byte, 0, 64)
	for r := 0; r < rounds; r++ {
		salt := []byte(strconv.Itoa(r))
		flush := func() {
			if len(word) == 0 {
				return
			}
			h := fnv.New64a()
			h.Write(salt)
			h.Write(word)
			sum ^= h.Sum64() * uint64(len(word))
			sum = sum<<1 | sum>>63
			word = word[:0]
		}
		for _, c := range page {
			switch {
			case c >= 'a' && c <= 'z':
				word = append(word, c)
			case c >= 'A' && c <= 'Z':
				word = append(word, c+'a'-'A')
			default:
				flush()
			}
		}
		flush()
	}
	return sum
}

// expModel is one model of one workload.
type expModel struct {
	name string // modelName(kind, size)
	// kind groups the models for the verdict: "sequential", "loop",
	// "loop+sem", "threads", "processes", "hybrid".
	kind string
	size int
	run  func(ctx context.Context, rec *recorder) ([]uint64, error)
}

// newModel is the model of that kind and size (0 for the kinds that have
// none), named from them.
func newModel(kind string, size int, run func(ctx context.Context, rec *recorder) ([]uint64, error)) expModel {
	return expModel{name: modelName(kind, size), kind: kind, size: size, run: run}
}

// expWorkload is one workload of the experiment.
type expWorkload struct {
	name, title string
	base        string // the article server's URL
	n           int
	models      []expModel
	want        func(i int) uint64 // the right result of task i (checked)
}

// Experiment workload names, in the order they run.
const (
	ExpCPU   = "cpu-bound"
	ExpIO    = "io-bound"
	ExpMixed = "mixed"
)

// ExperimentWorkloads are the default run's workloads.
var ExperimentWorkloads = []string{ExpCPU, ExpIO, ExpMixed}

func modelName(kind string, size int) string {
	switch kind {
	case "loop+sem":
		return fmt.Sprintf("loop+sem(%d)", size)
	case "threads", "processes":
		return fmt.Sprintf("%s(%d)", kind, size)
	case "hybrid":
		return fmt.Sprintf("loop+processes(%d)", size)
	}
	return kind
}

// taskFn is one job of a model that runs jobs in this process: task i
// with its recorder (the I/O workloads get an HTTP client; nil on the
// loop, which has its own).
type taskFn func(ctx context.Context, c *http.Client, i int, rec *recorder) (uint64, error)

// newWorkload builds the models of one workload against the server at
// base.
func newWorkload(name string, p ExpParams, base string) expWorkload {
	pageURL := func(i int) string { return fmt.Sprintf("%s/article/%d", base, i) }
	small, big := p.SmallPool, p.BigPool
	var w expWorkload
	w.name, w.base = name, base
	switch name {
	case ExpCPU:
		tasks := make([]CPUTask, p.CPUTasks)
		want := make([]uint64, len(tasks))
		for i := range tasks {
			tasks[i] = CPUTask{"fib", p.Fib}
			if i%2 == 1 {
				tasks[i] = CPUTask{"primes", p.Primes}
			}
			v, _ := RunCPUTask(tasks[i])
			want[i] = uint64(v)
		}
		compute := func(ctx context.Context, _ *http.Client, i int, rec *recorder) (uint64, error) {
			t := time.Now()
			v, err := RunCPUTask(tasks[i])
			rec.run(i, t)
			return uint64(v), err
		}
		submit := func(ctx context.Context, pool *mp.Pool, i int, _ []byte) (*futures.Future[span], error) {
			return expCPU.Submit(ctx, pool, tasks[i])
		}
		w.title = fmt.Sprintf("%d tasks: fib(%d) and primes below %s, alternately", len(tasks), p.Fib, thousands(p.Primes))
		w.n, w.want = len(tasks), func(i int) uint64 { return want[i] }
		w.models = []expModel{
			newModel("sequential", 0, seqModel(w.n, false, compute)),
			newModel("loop", 0, loopModel(w.n, 0, compute)),
			newModel("threads", small, threadsModel(w.n, small, false, compute)),
			newModel("threads", big, threadsModel(w.n, big, false, compute)),
			newModel("processes", small, processModel(w.n, small, submit)),
			newModel("hybrid", small, hybridModel(w.n, small, 0, nil, submit)),
		}
	case ExpIO:
		fetch := func(ctx context.Context, c *http.Client, i int, rec *recorder) (uint64, error) {
			t := time.Now()
			var err error
			if c != nil {
				_, err = fetchPage(ctx, c, pageURL(i))
			} else {
				_, err = loopGet(ctx, pageURL(i))
			}
			rec.io(i, t)
			return 0, err
		}
		w.title = fmt.Sprintf("%d GETs from a local server that answers after %s", p.Fetches, p.Latency)
		w.n, w.want = p.Fetches, func(int) uint64 { return 0 }
		w.models = []expModel{
			newModel("sequential", 0, seqModel(w.n, true, fetch)),
			newModel("loop", 0, loopModel(w.n, 0, fetch)),
			newModel("loop+sem", p.Sem, loopModel(w.n, p.Sem, fetch)),
			newModel("threads", small, threadsModel(w.n, small, true, fetch)),
			newModel("threads", big, threadsModel(w.n, big, true, fetch)),
			newModel("processes", small, processModel(w.n, small,
				func(ctx context.Context, pool *mp.Pool, i int, _ []byte) (*futures.Future[span], error) {
					return expFetch.Submit(ctx, pool, pageURL(i))
				})),
		}
	case ExpMixed:
		want := make([]uint64, p.Pages)
		for i := range want {
			want[i] = ParsePage(articlePage(i), p.ParseRounds)
		}
		fetchParse := func(ctx context.Context, c *http.Client, i int, rec *recorder) (uint64, error) {
			t := time.Now()
			var page []byte
			var err error
			if c != nil {
				page, err = fetchPage(ctx, c, pageURL(i))
			} else {
				page, err = loopGet(ctx, pageURL(i))
			}
			rec.io(i, t)
			if err != nil {
				return 0, err
			}
			t = time.Now()
			v := ParsePage(page, p.ParseRounds)
			rec.run(i, t)
			return v, nil
		}
		w.title = fmt.Sprintf("%d pages: a GET (%s server), then %d parsing passes over the page", p.Pages, p.Latency, p.ParseRounds)
		w.n, w.want = p.Pages, func(i int) uint64 { return want[i] }
		w.models = []expModel{
			newModel("sequential", 0, seqModel(w.n, true, fetchParse)),
			newModel("loop", 0, loopModel(w.n, 0, fetchParse)),
			newModel("loop+sem", p.Sem, loopModel(w.n, p.Sem, fetchParse)),
			newModel("threads", small, threadsModel(w.n, small, true, fetchParse)),
			newModel("threads", big, threadsModel(w.n, big, true, fetchParse)),
			newModel("processes", small, processModel(w.n, small,
				func(ctx context.Context, pool *mp.Pool, i int, _ []byte) (*futures.Future[span], error) {
					return expFetchParse.Submit(ctx, pool, fetchParseJob{pageURL(i), p.ParseRounds})
				})),
			newModel("hybrid", small, hybridModel(w.n, small, p.Sem,
				func(ctx context.Context, i int) ([]byte, error) { return loopGet(ctx, pageURL(i)) },
				func(ctx context.Context, pool *mp.Pool, i int, page []byte) (*futures.Future[span], error) {
					return expParse.Submit(ctx, pool, parseJob{page, p.ParseRounds})
				})),
		}
	default:
		panic("bench: unknown experiment workload " + name)
	}
	return w
}

// runModel runs m once and measures it, checking every result.
func runModel(ctx context.Context, w expWorkload, m expModel) (Sample, error) {
	runtime.GC()
	ResetPeakRSS()
	cpu0 := cpuTimes()
	rec := newRecorder(w.n)
	got, err := m.run(ctx, rec)
	wall := time.Since(rec.t0)
	if err != nil {
		return Sample{}, err
	}
	cpu := cpuTimes() - cpu0
	if len(got) != w.n {
		return Sample{}, fmt.Errorf("%s / %s: %d results for %d tasks", w.name, m.name, len(got), w.n)
	}
	for i, v := range got {
		if v != w.want(i) {
			return Sample{}, fmt.Errorf("%s / %s: task %d returned %d, want %d", w.name, m.name, i, v, w.want(i))
		}
	}
	return Sample{Wall: wall, CPU: cpu, PeakMB: float64(ProcStatusKiB("VmHWM"))/1024 + rec.childPeakMB, Timeline: rec.timeline(12)}, nil
}

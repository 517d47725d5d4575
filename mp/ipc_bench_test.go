package mp_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/mp"
)

// Benchmarks of the IPC objects, beside Python's multiprocessing
// (../shared/peers/e_ipc.py, see docs/PERFORMANCE.md). Each starts its
// processes first and times from a start signal, so process start-up is
// not in the figures.

type benchQueueArg struct {
	Q       *mp.Queue[[]byte]
	Qi      *mp.Queue[int]
	Go      *mp.Event
	N, Size int
	Got     *mp.Value[int64]
	NewEach bool // Get (a new []byte per item), not GetInto one buffer
}

type benchPipeArg struct {
	C       *mp.Conn[[]byte]
	Ci      *mp.Conn[int]
	N, Size int
	NewEach bool // Recv (a new []byte per item), not RecvInto one buffer
}

type benchCountArg struct {
	V      *mp.Value[int64]
	Go     *mp.Event
	N      int
	UseAdd bool
	Update bool
}

func inc(x int64) int64 { return x + 1 }

type benchSumArg struct {
	A        *mp.Array[float64]
	Lo, Hi   int
	Unrolled bool // sum4 instead of one chain of additions
	Cmd      *mp.Queue[int]
	Out      *mp.Queue[sumOut]
}

type sumOut struct {
	Sum         float64
	PrivateGrew int64 // bytes, reported once the commands end
}

var (
	BenchProduce = mp.Register("bench.ipc.produce", func(ctx context.Context, a benchQueueArg) (struct{}, error) {
		if err := a.Go.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		item := make([]byte, a.Size)
		for i := 0; i < a.N; i++ {
			var err error
			if a.Qi != nil {
				err = a.Qi.Put(ctx, 12345)
			} else {
				err = a.Q.Put(ctx, item)
			}
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	BenchConsume = mp.Register("bench.ipc.consume", func(ctx context.Context, a benchQueueArg) (struct{}, error) {
		n := int64(0)
		defer func() { a.Got.Add(n) }()
		buf := make([]byte, 0, a.Size)
		for {
			var err error
			switch {
			case a.Qi != nil:
				_, err = a.Qi.Get(ctx)
			case a.NewEach:
				_, err = a.Q.Get(ctx)
			default:
				err = a.Q.GetInto(ctx, &buf)
			}
			if errors.Is(err, mp.ErrQueueShutDown) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			n++
		}
	})
	BenchPipeReader = mp.Register("bench.ipc.pipe", func(ctx context.Context, a benchPipeArg) (struct{}, error) {
		if a.Ci != nil {
			if err := a.Ci.Send(ctx, -1); err != nil { // ready
				return struct{}{}, err
			}
			for i := 0; i < a.N; i++ {
				if _, err := a.Ci.Recv(ctx); err != nil {
					return struct{}{}, err
				}
			}
			return struct{}{}, a.Ci.Send(ctx, a.N)
		}
		if err := a.C.Send(ctx, nil); err != nil {
			return struct{}{}, err
		}
		buf := make([]byte, 0, 1024)
		for i := 0; i < a.N; i++ {
			var err error
			if a.NewEach {
				_, err = a.C.Recv(ctx)
			} else {
				err = a.C.RecvInto(ctx, &buf)
			}
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, a.C.Send(ctx, []byte(strconv.Itoa(a.N)))
	})
	BenchCount = mp.Register("bench.ipc.count", func(ctx context.Context, a benchCountArg) (struct{}, error) {
		if err := a.Go.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		l := a.V.Lock()
		for i := 0; i < a.N; i++ {
			if a.UseAdd {
				a.V.Add(1)
				continue
			}
			if a.Update {
				if err := a.V.Update(ctx, inc); err != nil {
					return struct{}{}, err
				}
				continue
			}
			if err := l.Lock(ctx); err != nil {
				return struct{}{}, err
			}
			a.V.Store(a.V.Load() + 1)
			l.Unlock()
		}
		return struct{}{}, nil
	})
	BenchSum = mp.Register("bench.ipc.sum", func(ctx context.Context, a benchSumArg) (struct{}, error) {
		before := privateBytes()
		for {
			passes, err := a.Cmd.Get(ctx)
			if err != nil {
				if errors.Is(err, mp.ErrQueueShutDown) {
					return struct{}{}, a.Out.Put(ctx, sumOut{PrivateGrew: privateBytes() - before})
				}
				return struct{}{}, err
			}
			xs := a.A.Slice()[a.Lo:a.Hi]
			var s float64
			for range passes {
				s = 0
				if a.Unrolled {
					s = sum4(xs)
				} else {
					for _, x := range xs { // one chain of additions, as e_ipc.py's loop
						s += x
					}
				}
			}
			if err := a.Out.Put(ctx, sumOut{Sum: s}); err != nil {
				return struct{}{}, err
			}
		}
	})
)

// sum4 adds xs up with four independent accumulators, so that the loop
// is bound by memory, not by the latency of one chain of additions (as
// a numeric library's sum would be).
func sum4(xs []float64) float64 {
	var s0, s1, s2, s3 float64
	for len(xs) >= 4 {
		s0 += xs[0]
		s1 += xs[1]
		s2 += xs[2]
		s3 += xs[3]
		xs = xs[4:]
	}
	for _, x := range xs {
		s0 += x
	}
	return (s0 + s1) + (s2 + s3)
}

// privateBytes returns this process's private resident memory (smaps).
func privateBytes() int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Private_Clean:") || strings.HasPrefix(line, "Private_Dirty:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}

func benchStart[A, R any](b *testing.B, f mp.Func[A, R], arg A) *mp.Process {
	b.Helper()
	p, err := mp.NewProcess(f, arg)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(); err != nil {
		b.Fatal(err)
	}
	return p
}

func benchJoin(b *testing.B, ps ...*mp.Process) {
	b.Helper()
	for _, p := range ps {
		if err := p.Join(context.Background()); err != nil {
			b.Fatal(err)
		}
		if code, _ := p.ExitCode(); code != 0 {
			b.Fatalf("%s exited with %d", p, code)
		}
	}
}

func BenchmarkQueue(b *testing.B) {
	// 1KiB-1x1 takes each item into one buffer (GetInto); 1KiB-1x1-get
	// into a new []byte each (Get), as Python's get returns a new bytes.
	for _, c := range []struct {
		name               string
		size, prods, conss int
		newEach            bool
	}{{"int-1x1", 8, 1, 1, false}, {"1KiB-1x1", 1024, 1, 1, false}, {"int-3x3", 8, 3, 3, false}, {"1KiB-1x1-get", 1024, 1, 1, true}} {
		b.Run(c.name, func(b *testing.B) {
			var q *mp.Queue[[]byte]
			var qi *mp.Queue[int]
			var err error
			if c.size <= 8 {
				qi, err = mp.NewQueue[int](0)
			} else {
				q, err = mp.NewQueue[[]byte](0)
			}
			if err != nil {
				b.Fatal(err)
			}
			goEv, _ := mp.NewEvent()
			got, _ := mp.NewValue[int64](0)
			defer goEv.Close()
			defer got.Close()
			var prods, conss []*mp.Process
			for i := 0; i < c.conss; i++ {
				conss = append(conss, benchStart(b, BenchConsume, benchQueueArg{Q: q, Qi: qi, Got: got, Size: c.size, NewEach: c.newEach}))
			}
			per := b.N / c.prods
			for i := 0; i < c.prods; i++ {
				n := per
				if i == 0 {
					n += b.N - per*c.prods
				}
				prods = append(prods, benchStart(b, BenchProduce, benchQueueArg{Q: q, Qi: qi, Go: goEv, N: n, Size: c.size}))
			}
			b.ResetTimer()
			t0 := time.Now()
			goEv.Set()
			benchJoin(b, prods...)
			if qi != nil {
				qi.Shutdown()
			} else {
				q.Shutdown()
			}
			benchJoin(b, conss...)
			dt := time.Since(t0)
			b.StopTimer()
			if n := got.Load(); n != int64(b.N) {
				b.Fatalf("%d items received, %d sent", n, b.N)
			}
			b.ReportMetric(float64(b.N)/dt.Seconds(), "items/s")
		})
	}
}

func BenchmarkPipe(b *testing.B) {
	// 1KiB receives into one buffer (RecvInto), 1KiB-recv into a new
	// []byte each (Recv).
	for _, c := range []struct {
		name    string
		size    int
		newEach bool
	}{{"int", 8, false}, {"1KiB", 1024, false}, {"1KiB-recv", 1024, true}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			var dt time.Duration
			if c.size <= 8 {
				mine, theirs, err := mp.NewPipe[int](true)
				if err != nil {
					b.Fatal(err)
				}
				p := benchStart(b, BenchPipeReader, benchPipeArg{Ci: theirs, N: b.N})
				theirs.Close()
				if _, err := mine.Recv(ctx); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if err := mine.Send(ctx, 12345); err != nil {
						b.Fatal(err)
					}
				}
				if n, err := mine.Recv(ctx); err != nil || n != b.N {
					b.Fatalf("reader got %d, %v", n, err)
				}
				dt = time.Since(t0)
				b.StopTimer()
				benchJoin(b, p)
				mine.Close()
			} else {
				mine, theirs, err := mp.NewPipe[[]byte](true)
				if err != nil {
					b.Fatal(err)
				}
				p := benchStart(b, BenchPipeReader, benchPipeArg{C: theirs, N: b.N, NewEach: c.newEach})
				theirs.Close()
				if _, err := mine.Recv(ctx); err != nil {
					b.Fatal(err)
				}
				item := make([]byte, c.size)
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if err := mine.Send(ctx, item); err != nil {
						b.Fatal(err)
					}
				}
				if n, err := mine.Recv(ctx); err != nil || string(n) != strconv.Itoa(b.N) {
					b.Fatalf("reader got %q, %v", n, err)
				}
				dt = time.Since(t0)
				b.StopTimer()
				benchJoin(b, p)
				mine.Close()
			}
			b.ReportMetric(float64(b.N)/dt.Seconds(), "items/s")
		})
	}
}

func BenchmarkSharedCounter(b *testing.B) {
	for _, name := range []string{"lock", "update", "add"} {
		useAdd, update := name == "add", name == "update"
		b.Run(name, func(b *testing.B) {
			const procs = 4
			v, err := mp.NewValue[int64](0)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			goEv, _ := mp.NewEvent()
			defer goEv.Close()
			per := (b.N + procs - 1) / procs
			var ps []*mp.Process
			for i := 0; i < procs; i++ {
				ps = append(ps, benchStart(b, BenchCount, benchCountArg{V: v, Go: goEv, N: per, UseAdd: useAdd, Update: update}))
			}
			b.ResetTimer()
			t0 := time.Now()
			goEv.Set()
			benchJoin(b, ps...)
			dt := time.Since(t0)
			b.StopTimer()
			if got := v.Load(); got != int64(per*procs) {
				b.Fatalf("counter %d, want %d", got, per*procs)
			}
			b.ReportMetric(float64(per*procs)/dt.Seconds(), "incs/s")
		})
	}
}

// sumPasses is how many times each round sums the array: a round then
// lasts about 100 ms (as e_ipc.py's one sum in Python), longer than the
// scheduler's time slice, so that on a shared machine the two processes
// get their share of the cores rather than the luck of one slice.
const sumPasses = 16

// BenchmarkSharedArray sums a 10-million-element shared Array[float64]
// in one child process, then in two children each summing half, each
// round sumPasses times; it reports the speedup, each child's private
// memory growth as a percentage of the array (the array is mapped, not
// copied), and the same speedup with a sum of four accumulators (bound
// by the memory bandwidth that the two processes share), with the
// two-process rounds' median times (ms-2proc, ms-2proc-4acc).
func BenchmarkSharedArray(b *testing.B) {
	const n = 10_000_000
	ctx := context.Background()
	a, err := mp.NewArray[float64](n)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	xs := a.Slice()
	for i := range xs { // every page written, as data would be
		xs[i] = 0
		if i%1000 == 0 {
			xs[i] = 1
		}
	}
	// The one-process and two-process rounds alternate, and the medians
	// of their times are compared: the machine's other load changes
	// between rounds, not between the two sides.
	type team struct {
		cmds []*mp.Queue[int]
		out  *mp.Queue[sumOut]
		ps   []*mp.Process
		took []time.Duration
	}
	startTeam := func(parts int, unrolled bool) *team {
		tm := &team{}
		tm.out, _ = mp.NewQueue[sumOut](0)
		for i := 0; i < parts; i++ {
			cmd, _ := mp.NewQueue[int](0)
			tm.cmds = append(tm.cmds, cmd)
			tm.ps = append(tm.ps, benchStart(b, BenchSum, benchSumArg{A: a, Lo: i * n / parts, Hi: (i + 1) * n / parts, Unrolled: unrolled, Cmd: cmd, Out: tm.out}))
		}
		return tm
	}
	round := func(tm *team) {
		t0 := time.Now()
		for _, c := range tm.cmds {
			c.Put(ctx, sumPasses)
		}
		s := 0.0
		for range tm.cmds {
			r, err := tm.out.Get(ctx)
			if err != nil {
				b.Fatal(err)
			}
			s += r.Sum
		}
		tm.took = append(tm.took, time.Since(t0))
		if s != n/1000 {
			b.Fatalf("sum %v, want %d", s, n/1000)
		}
	}
	stopTeam := func(tm *team) (median time.Duration, worstRSS float64) {
		for _, c := range tm.cmds {
			c.Shutdown()
		}
		for range tm.cmds {
			r, err := tm.out.Get(ctx)
			if err != nil {
				b.Fatal(err)
			}
			worstRSS = max(worstRSS, 100*float64(r.PrivateGrew)/float64(8*n))
		}
		benchJoin(b, tm.ps...)
		for _, c := range tm.cmds {
			c.Close()
		}
		tm.out.Close()
		took := tm.took[1:] // the first round maps the pages
		slices.Sort(took)
		return took[len(took)/2], worstRSS
	}
	b.ResetTimer()
	// The loop of e_ipc.py (one chain of additions: bound by the
	// additions' latency) and a sum with four accumulators (bound by
	// memory bandwidth, which the two processes share).
	solo, pair := startTeam(1, false), startTeam(2, false)
	solo4, pair4 := startTeam(1, true), startTeam(2, true)
	for i := 0; i <= b.N; i++ {
		round(solo)
		round(pair)
		round(solo4)
		round(pair4)
	}
	one, _ := stopTeam(solo)
	two, rss := stopTeam(pair)
	one4, _ := stopTeam(solo4)
	two4, rss4 := stopTeam(pair4)
	b.StopTimer()
	b.Logf("N=%d median round: one process %v, two %v; with four accumulators: one %v, two %v", b.N, one, two, one4, two4)
	b.ReportMetric(float64(one)/float64(two), "speedup")
	b.ReportMetric(max(rss, rss4), "child-rss-%")
	b.ReportMetric(float64(one4)/float64(two4), "speedup-4acc")
	b.ReportMetric(float64(two)/1e6, "ms-2proc")
	b.ReportMetric(float64(two4)/1e6, "ms-2proc-4acc")
	b.ReportMetric(0, "ns/op")
}

package mp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// In a worker, mp.Main serves tasks and never returns.
	mp.Main()
	if _, set := os.LookupEnv("GORACE"); !set {
		// Workers are this race-enabled binary: without this each one
		// sleeps a second when it exits.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	switch os.Getenv("MP_TEST_ROLE") {
	case "orphan-parent":
		orphanParent() // never returns
	case "deleted-exe":
		os.Exit(deletedExeMain())
	}
	goleak.VerifyTestMain(m)
}

// Functions of the tests, registered in every process of the test binary.
var (
	Square = mp.Register("test.square", func(ctx context.Context, x int) (int, error) {
		return x * x, nil
	})
	Inc = mp.Register("test.inc", func(ctx context.Context, x int) (int, error) {
		return x + 1, nil
	})
	Echo = mp.Register("test.echo", func(ctx context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	PID = mp.Register("test.pid", func(ctx context.Context, _ struct{}) (int, error) {
		return os.Getpid(), nil
	})
	Fail = mp.Register("test.fail", func(ctx context.Context, msg string) (int, error) {
		return 0, errors.New(msg)
	})
	Panic = mp.Register("test.panic", func(ctx context.Context, msg string) (int, error) {
		panicHere(msg)
		return 0, nil
	})
	// Exit writes a line to stderr and ends the worker with a code.
	Exit = mp.Register("test.exit", func(ctx context.Context, code int) (int, error) {
		fmt.Fprintf(os.Stderr, "test.exit: leaving with code %d\n", code)
		os.Exit(code)
		return 0, nil
	})
	// Block reports its pid through a FIFO, then waits until it is killed.
	Block = mp.Register("test.block", func(ctx context.Context, fifo string) (int, error) {
		announce(fifo)
		for {
			time.Sleep(time.Hour)
		}
	})
	// Spin reports its pid through a FIFO, then burns CPU forever,
	// ignoring its context.
	Spin = mp.Register("test.spin", func(ctx context.Context, fifo string) (int, error) {
		announce(fifo)
		x := 0
		for {
			x++
		}
	})
	// Gate reports its pid through Ready, then waits until the test opens
	// Release.
	Gate = mp.Register("test.gate", func(ctx context.Context, g gate) (int, error) {
		announce(g.Ready)
		f, err := os.Open(g.Release)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, f)
		f.Close()
		return os.Getpid(), nil
	})
	// Hog allocates and keeps n MiB (touched, so resident).
	Hog = mp.Register("test.hog", func(ctx context.Context, mib int) (int, error) {
		b := make([]byte, mib<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hogged = append(hogged, b)
		return os.Getpid(), nil
	})
	// Flaky kills its worker the first time it runs (it leaves a marker
	// file), and succeeds the next.
	Flaky = mp.Register("test.flaky", flaky, mp.Idempotent(2))
	// FlakyOnce is Flaky without retries.
	FlakyOnce = mp.Register("test.flaky-once", flaky)
	// Bytes returns n bytes.
	Bytes = mp.Register("test.bytes", func(ctx context.Context, n int) ([]byte, error) {
		return make([]byte, n), nil
	})
	// Garbage breaks the protocol: it writes a frame header announcing
	// 2 GiB on the result pipe.
	Garbage = mp.Register("test.garbage", func(ctx context.Context, _ int) (int, error) {
		os.NewFile(4, "results").Write([]byte{0xff, 0xff, 0xff, 0x7f, 11})
		time.Sleep(time.Hour)
		return 0, nil
	})
	// Setup is an initializer: it sets a value that Setting returns.
	Setup = mp.Register("test.setup", func(ctx context.Context, v string) (struct{}, error) {
		if v == "fail" {
			return struct{}{}, errors.New("setup refused")
		}
		setting = v
		return struct{}{}, nil
	})
	Setting = mp.Register("test.setting", func(ctx context.Context, _ int) (string, error) {
		return setting, nil
	})
	// Deadline returns the deadline the function saw, in Unix ns (0 if
	// none).
	Deadline = mp.Register("test.deadline", func(ctx context.Context, _ int) (int64, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return 0, nil
		}
		return d.UnixNano(), nil
	})
	// Sum adds a point's coordinates: a struct argument.
	Sum = mp.Register("test.sum", func(ctx context.Context, p point) (float64, error) {
		return p.X + p.Y, nil
	})
	// Any takes an interface argument, checked at submit time.
	Any = mp.Register("test.any", func(ctx context.Context, v any) (string, error) {
		return fmt.Sprint(v), nil
	})
)

var (
	hogged  [][]byte
	setting string
)

type gate struct {
	Ready, Release string
}

type point struct {
	X, Y float64
}

//go:noinline
func panicHere(msg string) {
	panic("boom: " + msg)
}

func flaky(ctx context.Context, marker string) (string, error) {
	if _, err := os.Stat(marker); err != nil {
		os.WriteFile(marker, nil, 0o600)
		os.Exit(7)
	}
	return "ok", nil
}

// announce writes this process's pid into a FIFO that the test reads.
func announce(fifo string) {
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	f.Close()
}

// newFIFO makes a FIFO in a temporary directory.
func newFIFO(t *testing.T, name string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// readPIDs waits (with a generous bound, not as synchronisation) for n
// pids written into fifo by announce. The FIFO stays open for reading and
// writing meanwhile, so that no announcement finds it without a reader.
func readPIDs(t *testing.T, fifo string, n int) []int {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var pids []int
	sc := bufio.NewScanner(f)
	for len(pids) < n && sc.Scan() {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if len(pids) < n {
		t.Fatalf("%d of %d pids from %s: %v", len(pids), n, fifo, sc.Err())
	}
	return pids
}

// release opens a gate's Release FIFO, letting the Gate call return.
func release(t *testing.T, fifo string) {
	t.Helper()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// newPool starts a pool of 2 workers (unless opts say otherwise) and, at
// cleanup, shuts it down and checks that no child process and no goroutine
// is left.
func newPool(t *testing.T, opts ...mp.Option) *mp.Pool {
	t.Helper()
	before := children(t)
	p, err := mp.NewPool(append([]mp.Option{mp.WithMaxWorkers(2)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p.Close()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
			p.Terminate()
		}
		if after := children(t); after != before {
			t.Errorf("child processes: %d before the pool, %d after its shutdown", before, after)
		}
		goleak.VerifyNone(t)
	})
	return p
}

// submitSquares submits n squares; check verifies every result.
func submitSquares(t *testing.T, p *mp.Pool, n int) (check func()) {
	t.Helper()
	ctx := context.Background()
	type call struct {
		x int
		f interface {
			Result(context.Context) (int, error)
		}
	}
	calls := make([]call, n)
	for i := range calls {
		f, err := Square.Submit(ctx, p, i)
		if err != nil {
			t.Fatal(err)
		}
		calls[i] = call{i, f}
	}
	return func() {
		t.Helper()
		for _, c := range calls {
			v, err := c.f.Result(ctx)
			if err != nil || v != c.x*c.x {
				t.Fatalf("square(%d) = %d, %v", c.x, v, err)
			}
		}
	}
}

package mp_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// Tests of the holes found by using the pool as users would: values that
// must arrive whole, errors that cannot cross as they are, and faults that
// must stay contained.

var (
	// Sealed doubles a value whose only field is unexported: it crosses
	// through its own MarshalBinary and UnmarshalBinary.
	Sealed = mp.Register("test.sealed", func(ctx context.Context, s sealed) (sealed, error) {
		return sealed{v: 2 * s.v}, nil
	})
	// BadError returns an error value that cannot cross as it is.
	BadError = mp.Register("test.baderror", func(ctx context.Context, kind string) (int, error) {
		switch kind {
		case "typed-nil":
			var e *nilPanicError
			return 0, e
		case "error-panics":
			return 0, panickyError{}
		case "chan-field":
			return 0, &chanError{C: make(chan int)}
		}
		return 0, fmt.Errorf("unknown kind %q", kind)
	})
	// Bytewise returns its string argument with an invalid UTF-8 byte
	// appended, or fails with that string as the error message.
	Bytewise = mp.Register("test.bytewise", func(ctx context.Context, s string) (string, error) {
		if strings.HasPrefix(s, "fail:") {
			return "", errors.New(s + "\xfe")
		}
		return s + "\xfe", nil
	})
	// Parent starts `sleep 1000`, reports the sleeper's pid through the
	// FIFO, then waits until its worker is killed.
	Parent = mp.Register("test.parent", func(ctx context.Context, fifo string) (int, error) {
		cmd := exec.Command("sleep", "1000")
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(f, "%d\n%d\n", os.Getpid(), cmd.Process.Pid)
		f.Close()
		for {
			time.Sleep(time.Hour)
		}
	})
	// Recurse overflows its stack (its limit lowered so that it does so
	// quickly): the runtime's crash report is tens of KiB.
	Recurse = mp.Register("test.recurse", func(ctx context.Context, n int) (int, error) {
		debug.SetMaxStack(8 << 20)
		return recurse(n, n, n, n, n, n, n, n), nil
	})
	// Goexit calls runtime.Goexit, as t.FailNow and some libraries do.
	Goexit = mp.Register("test.goexit", func(ctx context.Context, _ int) (int, error) {
		runtime.Goexit()
		return 0, nil
	})
	// Grow allocates and touches memory 1 MiB at a time, keeping it, up to
	// the given number of MiB: only a memory limit stops it before.
	Grow = mp.Register("test.grow", func(ctx context.Context, mib int) (int, error) {
		var keep [][]byte
		for i := 0; i < mib; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		return len(keep), nil
	})
)

// recurse never returns: it overflows the stack on purpose.
//
//go:noinline
func recurse(a, b, c, d, e, f, g, h int) int {
	var pad [64]int
	pad[a%64] = b
	//lint:ignore SA5007 the recursion without end is the test
	return recurse(a+1, b, c, d, e, f, g, h) + pad[h%64]
}

// sealed keeps its value in an unexported field.
type sealed struct{ v int64 }

func (s sealed) MarshalBinary() ([]byte, error) {
	return binary.AppendVarint(nil, s.v), nil
}

func (s *sealed) UnmarshalBinary(b []byte) error {
	v, n := binary.Varint(b)
	if n <= 0 {
		return errors.New("sealed: bad encoding")
	}
	s.v = v
	return nil
}

type nilPanicError struct{ msg string }

func (e *nilPanicError) Error() string { return e.msg } // panics on a nil e

type panickyError struct{}

func (panickyError) Error() string { panic("Error() exploded") }

type chanError struct{ C chan int }

func (e *chanError) Error() string { return "an error holding a channel" }

func TestUnexportedFieldsThroughBinaryMarshaler(t *testing.T) {
	p := newPool(t)
	v, err := Sealed.Call(context.Background(), p, sealed{v: 21})
	if err != nil || v.v != 42 {
		t.Fatalf("%+v, %v", v, err)
	}
}

func TestErrorsThatCannotCross(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1), mp.WithStderr(io.Discard))
	ctx := context.Background()
	pid, err := PID.Call(ctx, p, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string][]string{
		"typed-nil":    {"nil *mp_test.nilPanicError", "Error method panicked"},
		"error-panics": {"mp_test.panickyError", "Error method panicked", "Error() exploded"},
		"chan-field":   {"an error holding a channel"},
	} {
		_, err := BadError.Call(ctx, p, kind)
		var re *mp.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %#v", kind, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", kind, err, w)
			}
		}
	}
	if again, err := PID.Call(ctx, p, struct{}{}); err != nil || again != pid {
		t.Fatalf("the worker did not survive: pid %d, was %d (%v)", again, pid, err)
	}
}

func TestInvalidUTF8ArrivesByteForByte(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	arg := "ok \xff\xc3( end"
	v, err := Bytewise.Call(ctx, p, arg)
	if err != nil || v != arg+"\xfe" {
		t.Fatalf("result %q, %v", v, err)
	}
	_, err = Bytewise.Call(ctx, p, "fail:"+arg)
	var re *mp.RemoteError
	if !errors.As(err, &re) || re.Message != "fail:"+arg+"\xfe" {
		t.Fatalf("error %q (%#v)", err, err)
	}
	// A Map chunk's results and errors take another path.
	for v, err := range Bytewise.Map(ctx, p, func(yield func(string) bool) {
		for i := 0; i < 20 && yield(arg); i++ {
		}
	}) {
		if err != nil || v != arg+"\xfe" {
			t.Fatalf("Map: %q, %v", v, err)
		}
	}
}

func TestTaskChildrenDieWithTheTask(t *testing.T) {
	for _, how := range []string{"cancel", "deadline", "worker killed"} {
		t.Run(how, func(t *testing.T) {
			p := newPool(t, mp.WithStderr(io.Discard))
			fifo := newFIFO(t, "ready")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if how == "deadline" {
				ctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			f, err := Parent.Submit(ctx, p, fifo)
			if err != nil {
				t.Fatal(err)
			}
			pids := readPIDs(t, fifo, 2)
			worker, child := pids[0], pids[1]
			switch how {
			case "cancel":
				cancel()
			case "worker killed":
				syscall.Kill(worker, syscall.SIGKILL)
			}
			_, err = f.Result(context.Background())
			var ke *mp.KilledError
			var we *mp.WorkerError
			if !errors.As(err, &ke) && !errors.As(err, &we) {
				t.Fatalf("%#v", err)
			}
			waitGone(t, child)
		})
	}
}

func TestCancelledContextCostsNoWorker(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	pid, err := PID.Call(ctx, p, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i < 50; i++ {
		f, err := Square.Submit(cctx, p, i)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Result(ctx)
		var ke *mp.KilledError
		if !errors.Is(err, context.Canceled) || errors.As(err, &ke) {
			t.Fatalf("a task that never ran: %v", err)
		}
	}
	if again, err := PID.Call(ctx, p, struct{}{}); err != nil || again != pid {
		t.Fatalf("the worker was replaced: pid %d, was %d (%v)", again, pid, err)
	}
	if s := p.Stats(); s.Killed != 0 || s.Started != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStackOverflowKeepsTheFatalError(t *testing.T) {
	p := newPool(t, mp.WithStderr(io.Discard))
	_, err := Recurse.Call(context.Background(), p, 1)
	var we *mp.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(we.Stderr, "fatal error: stack overflow") && !strings.Contains(we.Stderr, "goroutine stack exceeds") {
		t.Fatalf("the crash report lost its head:\n%s", we.Stderr)
	}
	if !strings.Contains(we.Stderr, "mp_test.recurse(") {
		t.Fatalf("the crash report lost the failing goroutine's stack:\n%s", we.Stderr)
	}
}

func TestGoexitEndsTheTask(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	pid, err := PID.Call(ctx, p, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		f, err := Goexit.Submit(ctx, p, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A bound against a hang, not a synchronisation.
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		_, err = f.Result(wctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "runtime.Goexit") {
			t.Fatalf("%v", err)
		}
		if again, err := PID.Call(ctx, p, struct{}{}); err != nil || again != pid {
			t.Fatalf("the worker does not serve after Goexit: pid %d, was %d (%v)", again, pid, err)
		}
	}
}

func TestStatsWorkersNeverOverMax(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(2), mp.WithMaxTasksPerWorker(5), mp.WithStderr(io.Discard))
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var most int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := p.Stats().Workers; n > most {
				most = n
			}
			runtime.Gosched()
		}
	}()
	for round := 0; round < 5; round++ {
		check := submitSquares(t, p, 40)
		exit, _ := Exit.Submit(ctx, p, 3)
		check()
		if _, err := exit.Result(ctx); !errors.Is(err, mp.ErrWorkerDied) {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	s := p.Stats()
	if most > 2 {
		t.Fatalf("Stats().Workers reached %d with MaxWorkers 2 (%+v)", most, s)
	}
	if s.Started < 10 || s.Crashed != 5 {
		t.Fatalf("workers were not replaced as planned: %+v", s)
	}
}

func TestMemoryLimitStopsRunawayTask(t *testing.T) {
	const limit = 96 << 20
	p := newPool(t, mp.WithMemoryLimit(limit), mp.WithLogger(discardLogger()))
	ctx := context.Background()
	check := submitSquares(t, p, 100)
	n, err := Grow.Call(ctx, p, 1024)
	var me *mp.MemoryError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "exceeded memory limit 96 MiB") || me.Limit != limit {
		t.Fatalf("a task that grows to 1 GiB under a 96 MiB limit: %d MiB, %v", n, err)
	}
	check()
	submitSquares(t, p, 100)()
	if s := p.Stats(); s.Crashed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemoryLimitBelowAWorkersSize(t *testing.T) {
	// Every worker passes a 1 MiB limit as it starts: the pool must say so,
	// not start workers forever.
	p := newPool(t, mp.WithMemoryLimit(1<<20), mp.WithLogger(discardLogger()))
	_, err := Square.Call(context.Background(), p, 3)
	var be *futures.BrokenError
	var me *mp.MemoryError
	switch {
	case errors.As(err, &be):
		if !strings.Contains(err.Error(), "memory limit of 1 MiB") {
			t.Fatalf("%v", err)
		}
	case errors.As(err, &me):
	default:
		t.Fatalf("%#v", err)
	}
	if s := p.Stats(); s.Started > 3 {
		t.Fatalf("%d workers started: %+v", s.Started, s)
	}
}

func TestGoexitInInitializerBreaksThePool(t *testing.T) {
	p := newPool(t, mp.WithInitializer(Goexit, 0), mp.WithStderr(io.Discard))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // against a hang
	defer cancel()
	_, err := Square.Call(ctx, p, 3)
	var be *futures.BrokenError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "runtime.Goexit") {
		t.Fatalf("%v", err)
	}
}

package mp_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// Hang ignores its context and never returns: only killing its worker
// ends it.
var Hang = mp.Register("test.runtimeout.hang", func(ctx context.Context, _ int) (int, error) {
	for {
		time.Sleep(time.Hour)
	}
})

// Polite waits for its context to end and returns its error.
var Polite = mp.Register("test.runtimeout.polite", func(ctx context.Context, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
})

// isRunTimeout checks that err is a run timeout's error: it matches
// ErrRunTimeout and context.DeadlineExceeded, and says so.
func isRunTimeout(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, mp.ErrRunTimeout) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "run timeout") {
		t.Fatalf("want a run timeout's error, got %v", err)
	}
}

func TestRunTimeoutKillsWorker(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	_, err := Hang.WithRunTimeout(50*time.Millisecond).Call(ctx, p, 0)
	isRunTimeout(t, err)
	var killed *mp.KilledError
	if !errors.As(err, &killed) || killed.Function != Hang.Name() || !strings.Contains(err.Error(), "50ms") {
		t.Fatalf("want a *mp.KilledError naming %s and the timeout, got %v", Hang.Name(), err)
	}
	if s := p.Stats(); s.Killed != 1 {
		t.Fatalf("stats %+v: want one worker killed", s)
	}
	// A replacement worker serves the next call; the handle without the
	// run timeout is unchanged.
	if v, err := Square.Call(ctx, p, 9); err != nil || v != 81 {
		t.Fatal(v, err)
	}
	if Hang.RunTimeout() != 0 || Hang.WithRunTimeout(time.Second).RunTimeout() != time.Second {
		t.Fatal("WithRunTimeout changed the handle it was called on")
	}
}

// The time a call waits for a worker does not count: with one worker held
// by a gated call, a call queued behind it with a run timeout of d
// succeeds once released, although it waited longer than d (as a second
// pool's call with the same run timeout, handed to its worker after the
// first was queued, proves by timing out meanwhile).
func TestRunTimeoutExcludesQueueWait(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	ref, err := mp.NewPool(mp.WithMaxWorkers(1)) // shut down before p's cleanup counts children
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ref.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	const d = 2 * time.Second
	g := gate{Ready: newFIFO(t, "ready"), Release: newFIFO(t, "release")}
	running, err := Gate.Submit(ctx, p, g)
	if err != nil {
		t.Fatal(err)
	}
	readPIDs(t, g.Ready, 1)
	queued, err := Square.WithRunTimeout(d).Submit(ctx, p, 7)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Hang.WithRunTimeout(d).Call(ctx, ref, 0)
	isRunTimeout(t, err) // d has passed since queued was submitted
	if queued.State().Done() {
		v, err := queued.Result(ctx)
		t.Fatalf("the queued call ended before it ran: %v, %v", v, err)
	}
	release(t, g.Release)
	if _, err := running.Result(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := queued.Result(ctx); err != nil || v != 49 {
		t.Fatalf("queued call: %v, %v", v, err)
	}
	if s := p.Stats(); s.Killed != 0 {
		t.Fatalf("stats %+v: no worker should have been killed", s)
	}
}

// A function that returns its context's error when the run timeout ends
// it fails with an error saying so, whether it returned first or was
// killed first.
func TestRunTimeoutCooperative(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	_, err := Polite.WithRunTimeout(20*time.Millisecond).Call(context.Background(), p, 0)
	isRunTimeout(t, err)
}

func TestRunTimeoutSubmitAll(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	hang, sq := Hang.WithRunTimeout(50*time.Millisecond), Square.WithRunTimeout(time.Minute)
	var fs []*futures.Future[int]
	for i := range 6 {
		fn := sq
		if i%3 == 1 {
			fn = hang
		}
		f, err := fn.Submit(ctx, p, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for i, f := range fs {
		v, err := f.Result(ctx)
		if i%3 == 1 {
			isRunTimeout(t, err)
		} else if err != nil || v != i*i {
			t.Fatalf("call %d: %v, %v", i, v, err)
		}
	}
}

// A Map chunk is one run: its run timeout bounds the chunk, and every
// item of a chunk stopped by it fails with the run timeout's error.
func TestRunTimeoutMap(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	var got []error
	for _, err := range Hang.WithRunTimeout(50*time.Millisecond).Map(ctx, p, slices.Values([]int{1, 2, 3}), futures.WithChunkSize(2), futures.WithErrorPolicy(futures.CollectErrors)) {
		got = append(got, err)
	}
	if len(got) != 3 {
		t.Fatalf("%d results for 3 items", len(got))
	}
	for _, err := range got {
		isRunTimeout(t, err)
	}
}

// In a goroutine pool the function cannot be killed: its context ends
// at the run timeout and the call fails then.
func TestRunTimeoutThreadPool(t *testing.T) {
	tp := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer tp.Shutdown(context.Background())
	ctx := context.Background()
	_, err := Polite.WithRunTimeout(10*time.Millisecond).Call(ctx, tp, 0)
	isRunTimeout(t, err)
	for _, err := range Polite.WithRunTimeout(10*time.Millisecond).Map(ctx, tp, slices.Values([]int{1, 2})) {
		isRunTimeout(t, err)
	}
	if v, err := Square.WithRunTimeout(time.Minute).Call(ctx, tp, 5); err != nil || v != 25 {
		t.Fatal(v, err)
	}
}

func TestWithRunTimeoutNegativePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), ">= 0") {
			t.Fatalf("want a panic saying the duration must be >= 0, got %v", r)
		}
	}()
	Square.WithRunTimeout(-time.Second)
}

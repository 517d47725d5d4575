package futures

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync/atomic"
	"testing"
)

// counting yields 0..n-1 and counts how many items were read.
func counting(n int, read *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			read.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

func square(_ context.Context, x int) (int, error) { return x * x, nil }

func TestMapOrdered(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(3))
	defer shutdown(t, p)
	for _, chunk := range []int{1, 3, 64, 2000} {
		for _, buffer := range []int{1, 2, 16} {
			t.Run(fmt.Sprintf("chunk=%d/buffer=%d", chunk, buffer), func(t *testing.T) {
				var read atomic.Int64
				i := 0
				for v, err := range Map(bg, p, square, counting(1000, &read), WithChunkSize(chunk), WithBufferSize(buffer)) {
					if err != nil || v != i*i {
						t.Fatalf("item %d: %v, %v", i, v, err)
					}
					i++
				}
				if i != 1000 || read.Load() != 1000 {
					t.Fatalf("yielded %d, read %d, want 1000", i, read.Load())
				}
			})
		}
	}
}

func TestMapEmptyAndReiterate(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	for range Map(bg, p, square, slices.Values([]int(nil))) {
		t.Fatal("Map over nothing yielded")
	}
	seq := Map(bg, p, square, slices.Values([]int{1, 2, 3}), WithChunkSize(2))
	for round := 0; round < 2; round++ {
		var got []int
		for v, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, v)
		}
		if fmt.Sprint(got) != "[1 4 9]" {
			t.Fatalf("round %d: %v", round, got)
		}
	}
}

// TestMapLazy: a 10-million-item input is read only as far as the window
// of chunks in flight, not up front.
func TestMapLazy(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	const chunk, buffer, take = 4, 3, 10
	var read, ran atomic.Int64
	got := 0
	for v, err := range Map(bg, p, func(_ context.Context, x int) (int, error) {
		ran.Add(1)
		return x, nil
	}, counting(10_000_000, &read), WithChunkSize(chunk), WithBufferSize(buffer)) {
		if err != nil || v != got {
			t.Fatalf("item %d: %v %v", got, v, err)
		}
		got++
		if got == take {
			break
		}
	}
	// Chunks yielded (ceil(10/4) = 3) + chunks in flight + the one being
	// filled.
	bound := int64((3 + buffer + 1) * chunk)
	if r := read.Load(); r > bound {
		t.Fatalf("read %d items of the input to yield %d results; bound %d", r, take, bound)
	}
	shutdown(t, p) // every chunk submitted has run or been cancelled
	if ran.Load() > read.Load() {
		t.Fatalf("ran %d > read %d", ran.Load(), read.Load())
	}
	// Default window: twice MaxWorkers chunks of one item.
	read.Store(0)
	q := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, q)
	for range Map(bg, q, square, counting(10_000_000, &read)) {
		break
	}
	if r := read.Load(); r > 2*2+2 {
		t.Fatalf("default window read %d items for one result", r)
	}
}

func TestMapStopOnError(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	boom := errors.New("boom at 50")
	var read atomic.Int64
	fn := func(_ context.Context, x int) (int, error) {
		if x == 50 {
			return -1, boom
		}
		return x, nil
	}
	for _, chunk := range []int{1, 7} {
		read.Store(0)
		n := 0
		var last error
		for v, err := range Map(bg, p, fn, counting(1_000_000, &read), WithChunkSize(chunk)) {
			if err != nil {
				last = err
				if n != 50 {
					t.Fatalf("chunk %d: error at item %d, want 50", chunk, n)
				}
				n++
				continue
			}
			if last != nil {
				t.Fatalf("chunk %d: a result after the error", chunk)
			}
			if v != n {
				t.Fatalf("chunk %d: item %d = %d", chunk, n, v)
			}
			n++
		}
		if !errors.Is(last, boom) || n != 51 {
			t.Fatalf("chunk %d: yielded %d, last error %v", chunk, n, last)
		}
		if read.Load() > 1000 {
			t.Fatalf("chunk %d: read %d items: the input was not stopped", chunk, read.Load())
		}
	}
}

func TestMapCollectErrors(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	fn := func(_ context.Context, x int) (int, error) {
		switch {
		case x%10 == 3:
			return 0, fmt.Errorf("item %d", x)
		case x == 47:
			panic("item 47")
		}
		return x, nil
	}
	for _, chunk := range []int{1, 5} {
		var read atomic.Int64
		i := 0
		for v, err := range Map(bg, p, fn, counting(100, &read), WithChunkSize(chunk), WithErrorPolicy(CollectErrors)) {
			var pe *PanicError
			switch {
			case i%10 == 3:
				if err == nil || err.Error() != fmt.Sprintf("item %d", i) {
					t.Fatalf("chunk %d item %d: error %v", chunk, i, err)
				}
			case i == 47:
				if !errors.As(err, &pe) || pe.Value != "item 47" {
					t.Fatalf("chunk %d item 47: %v, want its panic", chunk, err)
				}
			default:
				if err != nil || v != i {
					t.Fatalf("chunk %d item %d: %v %v", chunk, i, v, err)
				}
			}
			i++
		}
		if i != 100 {
			t.Fatalf("chunk %d: %d pairs, want 100", chunk, i)
		}
	}
	if CollectErrors.String() != "CollectErrors" || StopOnError.String() != "StopOnError" {
		t.Fatal("ErrorPolicy names")
	}
}

// TestMapBreakCancelsRunningWork: when the caller stops the loop, a running
// fn sees its context cancelled (and the pool can shut down).
func TestMapBreakCancelsRunningWork(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	started := make(chan struct{})
	var sawCancel atomic.Bool
	fn := func(ctx context.Context, x int) (int, error) {
		if x == 1 {
			close(started)
			<-ctx.Done()
			sawCancel.Store(true)
			return 0, ctx.Err()
		}
		return x, nil
	}
	var read atomic.Int64
	for v, err := range Map(bg, p, fn, counting(1_000_000, &read), WithBufferSize(4)) {
		if v != 0 || err != nil {
			t.Fatalf("first result %v %v", v, err)
		}
		<-started
		break
	}
	shutdown(t, p) // would hang if item 1 kept running
	if !sawCancel.Load() {
		t.Fatal("the running item did not see its context cancelled")
	}
}

func TestMapContextEnds(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(2))
	defer shutdown(t, p)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var read atomic.Int64
	n := 0
	var last error
	for _, err := range Map(ctx, p, square, counting(1_000_000, &read)) {
		if err != nil {
			last = err
			continue
		}
		if last != nil {
			t.Fatal("a result after the context error")
		}
		n++
		if n == 5 {
			cancel()
		}
	}
	if n != 5 || !errors.Is(last, context.Canceled) {
		t.Fatalf("results %d, last error %v", n, last)
	}
}

func TestMapRefused(t *testing.T) {
	p := NewThreadPool(WithMaxWorkers(1))
	shutdown(t, p)
	var errs []error
	for _, err := range Map(bg, p, square, slices.Values([]int{1, 2, 3})) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrShutdown) {
		t.Fatalf("Map on a shut-down pool: %v", errs)
	}
	errs = nil
	for _, err := range Map(bg, nil, square, slices.Values([]int{1})) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || errs[0] == nil {
		t.Fatalf("Map on a nil executor: %v", errs)
	}
}

// TestMapChunkFailedByExecutor: chunks failed by a broken pool end the map
// with StopOnError, and are reported per item with CollectErrors.
func TestMapChunkFailedByExecutor(t *testing.T) {
	errInit := errors.New("no init")
	for _, policy := range []ErrorPolicy{StopOnError, CollectErrors} {
		p := NewThreadPool(WithMaxWorkers(1), WithInitializer(func(context.Context) error { return errInit }))
		var errs []error
		for _, err := range Map(bg, p, square, slices.Values([]int{1, 2, 3, 4}), WithChunkSize(2), WithBufferSize(1), WithErrorPolicy(policy)) {
			errs = append(errs, err)
		}
		shutdown(t, p)
		if len(errs) == 0 {
			t.Fatalf("%v: nothing yielded", policy)
		}
		for _, err := range errs {
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("%v: %v, want ErrBroken", policy, err)
			}
		}
		if policy == StopOnError && len(errs) != 1 {
			t.Fatalf("StopOnError yielded %d errors", len(errs))
		}
	}
}

package mp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

func TestSubmitResults(t *testing.T) {
	p := newPool(t)
	check := submitSquares(t, p, 500)
	check()
	s := p.Stats()
	if s.Completed != 500 || s.Crashed != 0 || s.Started < 1 || s.Started > 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCall(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	if v, err := Square.Call(ctx, p, 12); err != nil || v != 144 {
		t.Fatal(v, err)
	}
	if _, err := Fail.Call(ctx, p, "nope"); err == nil || err.Error() != "nope" {
		t.Fatal(err)
	}
	var zero mp.Func[int, int]
	if _, err := zero.Call(ctx, p, 1); !errors.Is(err, mp.ErrUnregistered) {
		t.Fatal(err)
	}
}

func TestSubmitStructAndString(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	f, err := Sum.Submit(ctx, p, point{1.5, 2.25})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != 3.75 {
		t.Fatal(v, err)
	}
	g, err := Any.Submit(ctx, p, []any{"a", uint8(1)})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := g.Result(ctx); err != nil || v != "[a 1]" {
		t.Fatal(v, err)
	}
}

func TestBigArgRoundTrip(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	payload := make([]byte, 10<<20)
	rand.Read(payload)
	for i := 0; i < 3; i++ {
		f, err := Echo.Submit(ctx, p, payload)
		if err != nil {
			t.Fatal(err)
		}
		back, err := f.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, payload) {
			t.Fatal("10 MB payload came back different")
		}
	}
	// nil and empty stay apart, as in-process.
	for _, in := range [][]byte{nil, {}} {
		f, _ := Echo.Submit(ctx, p, in)
		back, err := f.Result(ctx)
		if err != nil || (back == nil) != (in == nil) || len(back) != 0 {
			t.Fatalf("echo(%#v) = %#v, %v", in, back, err)
		}
	}
}

// Keep keeps every argument it gets and reports how many of the kept ones
// changed since: reused decoding storage must never reach them.
var Keep = mp.Register("test.keep", func(ctx context.Context, xs []int) (int, error) {
	kept = append(kept, xs)
	bad := 0
	for i, k := range kept { // call i sent [i i i i]
		for _, x := range k {
			if x != i {
				bad++
				break
			}
		}
	}
	return bad, nil
})

var kept [][]int

func TestWorkerKeepsArgumentsIntact(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		f, _ := Keep.Submit(ctx, p, []int{i, i, i, i})
		if bad, err := f.Result(ctx); err != nil || bad != 0 {
			t.Fatalf("call %d: %d kept arguments changed (%v)", i, bad, err)
		}
	}
}

func TestSubmitCopiesArgument(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	b := []byte("original")
	f, err := Echo.Submit(ctx, p, b)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, "CHANGED!") // the call has its own copy
	if back, err := f.Result(ctx); err != nil || string(back) != "original" {
		t.Fatalf("%q, %v", back, err)
	}
}

func TestReturnedErrorAndPanic(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	check := submitSquares(t, p, 200)
	f, _ := Fail.Submit(ctx, p, "no luck")
	g, _ := Panic.Submit(ctx, p, "here")
	check()

	_, err := f.Result(ctx)
	var re *mp.RemoteError
	if !errors.As(err, &re) || err.Error() != "no luck" || re.Panicked() || re.Function != "test.fail" || re.PID == 0 {
		t.Fatalf("returned error: %#v", err)
	}

	_, err = g.Result(ctx)
	if !errors.As(err, &re) || !re.Panicked() {
		t.Fatalf("panic: %#v", err)
	}
	var pe *futures.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom: here" {
		t.Fatalf("panic as *futures.PanicError: %#v", err)
	}
	if !strings.Contains(re.Stack, "panicHere") || !strings.Contains(err.Error(), "panicHere") {
		t.Fatalf("the worker's stack is missing:\n%v", err)
	}
	if s := p.Stats(); s.Crashed != 0 {
		t.Fatalf("a panic must not kill the worker: %+v", s)
	}
}

var CtxErr = mp.Register("test.ctxerr", func(ctx context.Context, _ int) (int, error) {
	return 0, fmt.Errorf("gave up: %w", context.DeadlineExceeded)
})

func TestContextErrorsKeepTheirIdentity(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	f, _ := CtxErr.Submit(ctx, p, 0)
	_, err := f.Result(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "gave up: context deadline exceeded" {
		t.Fatalf("%v", err)
	}
}

func TestSubmitTimeErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := newPool(t)
	ctx := context.Background()

	// An argument that cannot be encoded: an error at once, saying why.
	_, err := Any.Submit(ctx, p, func() {})
	if !errors.Is(err, mp.ErrEncode) || !strings.Contains(err.Error(), "func") {
		t.Fatalf("func argument: %v", err)
	}
	_, err = Any.Submit(ctx, p, make(chan int))
	if !errors.Is(err, mp.ErrEncode) {
		t.Fatalf("chan argument: %v", err)
	}

	// The zero Func is not registered.
	var zero mp.Func[int, int]
	if _, err := zero.Submit(ctx, p, 1); !errors.Is(err, mp.ErrUnregistered) {
		t.Fatalf("zero Func: %v", err)
	}

	// Closures cannot cross a process boundary.
	if _, err := futures.Submit(ctx, p, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, mp.ErrNotRemote) {
		t.Fatalf("closure: %v", err)
	}

	// A RemoteJob naming an unknown function.
	if err := p.Execute(&foreign{name: "nope", payload: []byte{0}}); !errors.Is(err, mp.ErrUnregistered) {
		t.Fatalf("unknown function: %v", err)
	}

	// After shutdown.
	p.Shutdown(ctx)
	if _, err := Square.Submit(ctx, p, 1); !errors.Is(err, futures.ErrShutdown) {
		t.Fatalf("after shutdown: %v", err)
	}
}

func TestRegisterRefusesBadTypes(t *testing.T) {
	defer goleak.VerifyNone(t)
	for name, reg := range map[string]func(){
		"chan arg": func() { mp.Register("bad.chan", func(context.Context, chan int) (int, error) { return 0, nil }) },
		"func field": func() {
			mp.Register("bad.func", func(context.Context, struct{ F func() }) (int, error) { return 0, nil })
		},
		"duplicate":  func() { mp.Register("test.square", func(context.Context, int) (int, error) { return 0, nil }) },
		"empty name": func() { mp.Register("", func(context.Context, int) (int, error) { return 0, nil }) },
		"after Main": func() { mp.Register("fine.name", func(context.Context, int) (int, error) { return 0, nil }) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			reg()
		}()
	}
}

func TestForeignRemoteJob(t *testing.T) {
	p := newPool(t)
	j := &foreign{name: "test.square", payload: []byte{0x07}, done: make(chan struct{})} // CBOR 7
	if err := p.Execute(j); err != nil {
		t.Fatal(err)
	}
	<-j.done
	if j.err != nil || !bytes.Equal(j.result, []byte{0x18, 0x31}) { // CBOR 49
		t.Fatalf("%x %v", j.result, j.err)
	}
}

// foreign is a RemoteJob that mp did not make.
type foreign struct {
	name    string
	payload []byte
	result  []byte
	err     error
	done    chan struct{}
}

func (f *foreign) Context() context.Context { return context.Background() }
func (f *foreign) Start() bool              { return true }
func (f *foreign) Run()                     {}
func (f *foreign) Fail(err error)           { f.CompleteRemote(nil, err) }
func (f *foreign) Function() string         { return f.name }
func (f *foreign) Payload() []byte          { return f.payload }
func (f *foreign) CompleteRemote(result []byte, err error) {
	f.result, f.err = result, err
	close(f.done)
}

func TestMapOrderAndChunks(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	for _, chunk := range []int{1, 3, 100, 1000} {
		i := 0
		for v, err := range Square.Map(ctx, p, count(2500), futures.WithChunkSize(chunk)) {
			if err != nil || v != i*i {
				t.Fatalf("chunk %d: item %d = %d, %v", chunk, i, v, err)
			}
			i++
		}
		if i != 2500 {
			t.Fatalf("chunk %d: %d results", chunk, i)
		}
	}
}

func TestMapErrors(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	in := slices.Values([]string{"a", "b", "c"})

	// StopOnError: the first error ends the Map.
	n := 0
	for _, err := range Fail.Map(ctx, p, in, futures.WithChunkSize(2)) {
		n++
		if err == nil || err.Error() != "a" {
			t.Fatalf("first error: %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("StopOnError yielded %d items", n)
	}

	// CollectErrors: one pair per item.
	var msgs []string
	for _, err := range Fail.Map(ctx, p, in, futures.WithChunkSize(2), futures.WithErrorPolicy(futures.CollectErrors)) {
		msgs = append(msgs, err.Error())
	}
	if strings.Join(msgs, "") != "abc" {
		t.Fatalf("CollectErrors: %q", msgs)
	}

	// An unencodable item ends the Map after the results before it.
	var got []string
	for v, err := range Any.Map(ctx, p, slices.Values([]any{1, 2, func() {}}), futures.WithChunkSize(2)) {
		if err != nil {
			got = append(got, "err")
			if !errors.Is(err, mp.ErrEncode) {
				t.Fatal(err)
			}
			continue
		}
		got = append(got, v)
	}
	if strings.Join(got, ",") != "1,2,err" {
		t.Fatalf("got %q", got)
	}
}

func TestMapStopsEarly(t *testing.T) {
	p := newPool(t)
	ctx := context.Background()
	read := 0
	in := func(yield func(int) bool) {
		for i := 0; ; i++ {
			read++
			if !yield(i) {
				return
			}
		}
	}
	for v, err := range Square.Map(ctx, p, in, futures.WithBufferSize(4)) {
		if err != nil {
			t.Fatal(err)
		}
		if v == 100*100 {
			break
		}
	}
	if read > 110 {
		t.Fatalf("Map read %d items ahead of a buffer of 4", read)
	}
	// The pool is fine afterwards.
	submitSquares(t, p, 10)()
}

func TestThreadPoolRunsInProcess(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	tp := futures.NewThreadPool(futures.WithMaxWorkers(2))
	defer tp.Shutdown(ctx)
	f, err := PID.Submit(ctx, tp, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.Result(ctx); err != nil || v != os.Getpid() {
		t.Fatalf("pid %d, %v: not in-process", v, err)
	}
	// An argument no process pool could take is fine in-process.
	g, _ := Any.Submit(ctx, tp, make(chan int))
	if _, err := g.Result(ctx); err != nil {
		t.Fatal(err)
	}
	i := 0
	for v, err := range Square.Map(ctx, tp, count(100), futures.WithChunkSize(7)) {
		if err != nil || v != i*i {
			t.Fatal(v, err)
		}
		i++
	}
	// A panic is a *futures.PanicError there too.
	h, _ := Panic.Submit(ctx, tp, "x")
	_, err = h.Result(ctx)
	var pe *futures.PanicError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
}

func TestDeadlineReachesTheWorker(t *testing.T) {
	p := newPool(t)
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	f, _ := Deadline.Submit(ctx, p, 0)
	if v, err := f.Result(ctx); err != nil || v != deadline.UnixNano() {
		t.Fatalf("worker saw deadline %d, want %d (%v)", v, deadline.UnixNano(), err)
	}
}

func TestInitializer(t *testing.T) {
	p := newPool(t, mp.WithInitializer(Setup, "ready"))
	ctx := context.Background()
	for v, err := range Setting.Map(ctx, p, count(20)) {
		if err != nil || v != "ready" {
			t.Fatalf("%q, %v", v, err)
		}
	}
}

func TestInitializerFailureBreaksThePool(t *testing.T) {
	p := newPool(t, mp.WithInitializer(Setup, "fail"))
	ctx := context.Background()
	f, err := Square.Submit(ctx, p, 3)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Result(ctx)
	var be *futures.BrokenError
	if !errors.Is(err, futures.ErrBroken) || !errors.As(err, &be) || !strings.Contains(err.Error(), "setup refused") {
		t.Fatalf("%v", err)
	}
	if _, err := Square.Submit(ctx, p, 3); !errors.Is(err, futures.ErrBroken) {
		t.Fatalf("submit to a broken pool: %v", err)
	}
}

func TestMaxTasksPerWorker(t *testing.T) {
	p := newPool(t, mp.WithMaxTasksPerWorker(5))
	ctx := context.Background()
	pids := map[int]int{}
	for v, err := range PID.Map(ctx, p, slices.Values(make([]struct{}, 60))) {
		if err != nil {
			t.Fatal(err)
		}
		pids[v]++
	}
	for pid, n := range pids {
		if n > 5 {
			t.Fatalf("worker %d ran %d tasks, the limit is 5", pid, n)
		}
	}
	if len(pids) < 12 {
		t.Fatalf("%d workers ran 60 tasks at 5 each", len(pids))
	}
}

func TestIdleTimeout(t *testing.T) {
	p := newPool(t, mp.WithIdleTimeout(20*time.Millisecond))
	ctx := context.Background()
	submitSquares(t, p, 50)()
	// Wait, with a generous bound, for the idle workers to go.
	for start := time.Now(); len(p.PIDs()) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("idle workers still alive: %v", p.PIDs())
		}
	}
	// New work starts new workers.
	f, _ := Square.Submit(ctx, p, 9)
	if v, err := f.Result(ctx); err != nil || v != 81 {
		t.Fatal(v, err)
	}
	if s := p.Stats(); s.Crashed != 0 || s.Recycled == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFrameLimit(t *testing.T) {
	p := newPool(t, mp.WithMaxFrameBytes(1<<20))
	ctx := context.Background()
	// An argument over the limit: refused at submit time.
	if _, err := Echo.Submit(ctx, p, make([]byte, 2<<20)); !errors.Is(err, mp.ErrEncode) {
		t.Fatalf("big argument: %v", err)
	}
	// A result over the limit: that task fails, the worker lives.
	f, _ := Bytes.Submit(ctx, p, 2<<20)
	if _, err := f.Result(ctx); !errors.Is(err, mp.ErrEncode) {
		t.Fatalf("big result: %v", err)
	}
	submitSquares(t, p, 20)()
	if s := p.Stats(); s.Crashed != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestShutdownWaitsForWork(t *testing.T) {
	defer goleak.VerifyNone(t)
	before := children(t)
	p, err := mp.NewPool(mp.WithMaxWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := submitSquares(t, p, 300)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	check() // every accepted task ran
	if after := children(t); after != before {
		t.Fatalf("children %d before, %d after Shutdown", before, after)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
	if err := p.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCloseCancelsQueued(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	g := gate{Ready: newFIFO(t, "ready"), Release: newFIFO(t, "release")}
	running, _ := Gate.Submit(ctx, p, g)
	readPIDs(t, g.Ready, 1)
	queued, _ := Square.Submit(ctx, p, 2)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := queued.Result(ctx); !errors.Is(err, futures.ErrCancelled) || queued.State() != futures.Cancelled {
		t.Fatalf("queued task: %v, %v", err, queued.State())
	}
	release(t, g.Release)
	if _, err := running.Result(ctx); err != nil {
		t.Fatalf("running task: %v", err)
	}
}

func TestFutureCancelWhileQueued(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	ctx := context.Background()
	g := gate{Ready: newFIFO(t, "ready"), Release: newFIFO(t, "release")}
	running, _ := Gate.Submit(ctx, p, g)
	readPIDs(t, g.Ready, 1)
	queued, _ := Square.Submit(ctx, p, 2)
	if !queued.Cancel() {
		t.Fatal("Cancel of a queued task failed")
	}
	if running.Cancel() {
		t.Fatal("Cancel of a running task succeeded")
	}
	release(t, g.Release)
	if _, err := running.Result(ctx); err != nil {
		t.Fatal(err)
	}
	submitSquares(t, p, 10)()
}

func TestTerminate(t *testing.T) {
	defer goleak.VerifyNone(t)
	before := children(t)
	p, err := mp.NewPool(mp.WithMaxWorkers(2), mp.WithStderr(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fifo := newFIFO(t, "ready")
	f1, _ := Block.Submit(ctx, p, fifo)
	f2, _ := Block.Submit(ctx, p, fifo)
	readPIDs(t, fifo, 2)
	queued, _ := Square.Submit(ctx, p, 1)
	p.Terminate()
	for _, f := range []*futures.Future[int]{f1, f2} {
		if _, err := f.Result(ctx); !errors.Is(err, futures.ErrShutdown) {
			t.Fatalf("running task after Terminate: %v", err)
		}
	}
	if _, err := queued.Result(ctx); !errors.Is(err, futures.ErrCancelled) {
		t.Fatalf("queued task after Terminate: %v", err)
	}
	if after := children(t); after != before {
		t.Fatalf("children %d before, %d after Terminate", before, after)
	}
}

func TestNewPoolNeedsMain(t *testing.T) {
	defer goleak.VerifyNone(t)
	// This binary called mp.Main, so NewPool works; the error for a
	// program that did not is ErrNoMain (see the example of Main).
	if !strings.Contains(mp.ErrNoMain.Error(), "mp.Main()") {
		t.Fatal(mp.ErrNoMain)
	}
}

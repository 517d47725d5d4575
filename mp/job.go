package mp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
)

// Where a job is, for the pool (guarded by Pool.mu).
const (
	stateNew      = iota
	stateQueued   // in Pool.queue
	stateInflight // sent to a worker, no result yet
	stateDone     // completed, failed or dropped
)

// entry is the pool's bookkeeping of one job, embedded in mp's own jobs.
type entry struct {
	name     string // registered function
	batch    bool   // a Map chunk
	payload  []byte // encoded argument
	retries  int    // runs left after a worker death (Idempotent)
	attempts int
	started  bool          // Start was called
	foreign  bool          // not mp's own job: its payload may change
	items    int           // calls in the job (a Map chunk has several)
	avg      *atomic.Int64 // the function's average run time of one call, ns
	expNs    int64         // expected run time when sent
	state    uint8
	id       uint64
	w        *worker
	stop     func() bool // stops the context.AfterFunc watching the job's context

	runTimeout time.Duration // Func.WithRunTimeout; 0: none
	runArmed   uint64        // the id of the run the run timer watches
	runTimer   *time.Timer   // kills the worker when the run timeout expires
}

// poolJob is a job the pool can run: mp's own jobs, and other RemoteJobs
// wrapped in foreignJob.
type poolJob interface {
	futures.RemoteJob
	ent() *entry
	// deliver completes the job with a result payload (owned: the job may
	// keep it) or with a worker's error.
	deliver(payload []byte, owned bool, werr *wireError, pid int)
}

var errZeroFunc = fmt.Errorf("%w: this is the zero mp.Func; get one from mp.Register, called at package level", ErrUnregistered)

var errNilExecutor = errors.New("mp: nil Executor")

// inProcess reports whether ex runs jobs in this process, so arguments need
// no encoding.
func inProcess(ex futures.Executor) bool {
	_, ok := ex.(*futures.ThreadPool)
	return ok
}

// callJob is the job of one Submit: the future, the call and the pool's
// bookkeeping in one allocation.
type callJob[A, R any] struct {
	futures.Future[R]
	e   entry
	f   *fnInfo[A, R]
	ctx context.Context
	arg A
	res R // decoded here: a local would escape to the heap through the decoder
	enc bytes.Buffer
	buf [inlinePayload]byte // a small encoded argument lives here
}

// inlinePayload is the size of encoded arguments kept inside the job,
// without an allocation of their own.
const inlinePayload = 32

// encodeInto encodes *v into enc, using buf while it fits, and returns the
// bytes. v is a pointer so that the value is not boxed on the heap.
func encodeInto[T any](raw bool, v *T, enc *bytes.Buffer, buf []byte) ([]byte, error) {
	if raw {
		return encodeValue(raw, *v)
	}
	*enc = *bytes.NewBuffer(buf[:0])
	if err := encMode.MarshalToBuffer(v, enc); err != nil {
		return nil, err
	}
	return enc.Bytes(), nil
}

// Submit schedules a call of the function with arg on ex and returns its
// future (Python's executor.submit(fn, arg)). On an mp.Pool the call runs
// in a worker process; on a futures.ThreadPool it runs in this process, and
// the argument is not encoded.
//
// ctx is the call's context: the function receives one with the same
// deadline in the worker, and when ctx ends before the call starts, the call
// fails with ctx's error without running; when it ends while the call runs
// in a pool worker, that worker is killed (a goroutine could not be), the
// call fails with a *KilledError matching ctx's error, and a new worker
// takes its place.
//
// An argument that cannot be encoded (a func or channel inside an
// interface, a value over the pool's frame limit), the zero Func, a shut
// down or broken executor: these are errors returned here, at once.
func (f Func[A, R]) Submit(ctx context.Context, ex futures.Executor, arg A) (*futures.Future[R], error) {
	if f.f == nil {
		return nil, errZeroFunc
	}
	if ex == nil {
		return nil, errNilExecutor
	}
	if ctx == nil {
		ctx = context.Background()
	}
	j := &callJob[A, R]{f: f.f, ctx: ctx, arg: arg}
	j.e.name, j.e.items, j.e.avg = f.f.name, 1, &f.f.avgNs
	j.e.retries, j.e.runTimeout = f.f.retries, f.runTimeout
	if !inProcess(ex) {
		p, err := encodeInto(f.f.rawA, &j.arg, &j.enc, j.buf[:])
		if err != nil {
			return nil, fmt.Errorf("%w the argument of %s (%T): %v; pass plain data: numbers, strings, slices, maps, structs with exported fields", ErrEncode, f.f.name, arg, err)
		}
		j.e.payload = p
	}
	if err := ex.Execute(j); err != nil {
		return nil, err
	}
	return &j.Future, nil
}

// Call submits a call of the function with arg to ex and waits for its
// result (Python's pool.apply(fn, (arg,))). ctx is the call's context, as
// for Submit: when it ends while the call runs in a pool worker, the worker
// is killed and Call returns the *KilledError; on an in-process executor
// Call returns ctx's error at once and the function runs on.
//
// Call blocks, so in a task or a callback of a running aio event loop it
// submits nothing and returns a *futures.BlockingError matching
// futures.ErrBlockingOnLoop: use Await there, which suspends only the task.
func (f Func[A, R]) Call(ctx context.Context, ex futures.Executor, arg A) (R, error) {
	if err := refuseOnLoop("mp: Func.Call", insteadCall); err != nil {
		var zero R
		return zero, err
	}
	fut, err := f.Submit(ctx, ex, arg)
	if err != nil {
		var zero R
		return zero, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return wait(ctx, ex, fut)
}

func (j *callJob[A, R]) ent() *entry { return &j.e }

// Context returns the submitter's context.
func (j *callJob[A, R]) Context() context.Context { return j.ctx }

// Start marks the future running; false if it was cancelled.
func (j *callJob[A, R]) Start() bool { return j.SetRunning() }

// Run calls the function in this process (a ThreadPool runs it so).
func (j *callJob[A, R]) Run() {
	if j.ctx.Done() != nil {
		if j.ctx.Err() != nil {
			var zero R
			j.Complete(zero, context.Cause(j.ctx))
			return
		}
	}
	ctx, check, stop := withRunTimeout(j.ctx, j.f.name, j.e.runTimeout, j.Fail)
	r, err := j.f.call(ctx, j.arg)
	err = check(err)
	stop()
	j.Complete(r, err)
}

// withRunTimeout bounds a run in this process by its run timeout d (none
// if d is 0): the function's context ends d from now with a cause matching
// ErrRunTimeout, and fail is called with that cause (in another goroutine)
// when it expires, since the function cannot be killed (the error names
// the function fn). check turns the function's context error after the
// run timeout into that error; stop ends the watch.
func withRunTimeout(ctx context.Context, fn string, d time.Duration, fail func(error)) (rctx context.Context, check func(error) error, stop func()) {
	if d <= 0 {
		return ctx, func(err error) error { return err }, func() {}
	}
	rctx, cancel := context.WithTimeoutCause(ctx, d, &runTimeoutError{d})
	unwatch := context.AfterFunc(rctx, func() {
		if cause := context.Cause(rctx); errors.Is(cause, ErrRunTimeout) {
			fail(fmt.Errorf("mp: %s: %w (the function runs on in this process: it cannot be killed)", fn, cause))
		}
	})
	check = func(err error) error {
		if cause := context.Cause(rctx); err != nil && errors.Is(err, context.DeadlineExceeded) && errors.Is(cause, ErrRunTimeout) {
			return fmt.Errorf("mp: %s: %w", fn, cause)
		}
		return err
	}
	return rctx, check, func() { unwatch(); cancel() }
}

// Fail completes the future with err.
func (j *callJob[A, R]) Fail(err error) {
	var zero R
	j.Complete(zero, err)
}

// Function returns the registered name.
func (j *callJob[A, R]) Function() string { return j.f.name }

// Payload returns the encoded argument.
func (j *callJob[A, R]) Payload() []byte { return j.e.payload }

// CompleteRemote decodes result and completes the future.
func (j *callJob[A, R]) CompleteRemote(result []byte, err error) {
	if err != nil {
		j.Fail(err)
		return
	}
	j.deliver(result, false, nil, 0)
}

func (j *callJob[A, R]) deliver(payload []byte, owned bool, werr *wireError, pid int) {
	var zero R
	if werr != nil {
		j.Complete(zero, werr.toError(j.f.name, pid))
		return
	}
	if err := decodeValue(j.f.rawR, payload, owned, &j.res); err != nil {
		j.Complete(zero, fmt.Errorf("%w: %s: cannot decode the result from worker pid %d: %v", ErrProtocol, j.f.name, pid, err))
		return
	}
	j.Complete(j.res, nil)
}

// foreignJob adapts a RemoteJob that mp did not make (its Function names a
// registered function) to the pool.
type foreignJob struct {
	futures.RemoteJob
	e entry
}

func (j *foreignJob) ent() *entry { return &j.e }

// Cancel cancels the wrapped job if it can be (futures.CancelJob).
func (j *foreignJob) Cancel() bool {
	futures.CancelJob(j.RemoteJob)
	return true
}

func (j *foreignJob) deliver(payload []byte, owned bool, werr *wireError, pid int) {
	if werr != nil {
		j.CompleteRemote(nil, werr.toError(j.e.name, pid))
		return
	}
	if !owned {
		payload = append([]byte(nil), payload...)
	}
	j.CompleteRemote(payload, nil)
}

package futures

import (
	"context"
	"iter"
	"runtime"
	"strconv"

	"github.com/braid-go/braid/internal/window"
)

// ErrorPolicy tells Map what to do when fn fails for an item.
type ErrorPolicy int

const (
	// StopOnError (the default, as Python's map) yields the results in
	// order up to the first item whose fn failed, yields that error, and
	// stops: later items are neither read nor run, pending chunks are
	// cancelled and running ones see their context cancelled.
	StopOnError ErrorPolicy = iota
	// CollectErrors yields one (result, error) pair for every item, in
	// order, and goes on after errors.
	CollectErrors
)

// String names the policy.
func (p ErrorPolicy) String() string {
	switch p {
	case StopOnError:
		return "StopOnError"
	case CollectErrors:
		return "CollectErrors"
	}
	return "ErrorPolicy(" + strconv.Itoa(int(p)) + ")"
}

// MapOption configures Map (and every executor's own Map, such as
// mp.Func.Map).
type MapOption func(*MapSettings)

// MapSettings is what a list of MapOptions comes to; executors that
// implement their own Map read it with ResolveMapOptions.
type MapSettings struct {
	// ChunkSize is the number of items per job (default 1).
	ChunkSize int
	// BufferSize is the number of chunks in flight; 0 means the
	// executor's default.
	BufferSize int
	// Policy is what to do when fn fails (default StopOnError).
	Policy ErrorPolicy
}

// ResolveMapOptions applies opts to the defaults.
func ResolveMapOptions(opts ...MapOption) MapSettings {
	cfg := MapSettings{ChunkSize: 1, Policy: StopOnError}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// WithChunkSize makes Map send items to the executor in chunks of n (default
// 1): one job runs fn over n items in turn. Larger chunks amortise the cost
// of a job over many small items. It panics if n < 1.
func WithChunkSize(n int) MapOption {
	if n < 1 {
		panic("futures: WithChunkSize needs n >= 1, got " + strconv.Itoa(n))
	}
	return func(c *MapSettings) { c.ChunkSize = n }
}

// WithBufferSize sets how many chunks Map keeps submitted and not yet
// yielded (Python 3.14's buffersize). The input is read only as far as
// that window (plus the chunk being filled): a 10-million-item input is not
// read up front. The default is twice the executor's MaxWorkers() if it
// has that method, else twice GOMAXPROCS. It panics if n < 1.
func WithBufferSize(n int) MapOption {
	if n < 1 {
		panic("futures: WithBufferSize needs n >= 1, got " + strconv.Itoa(n))
	}
	return func(c *MapSettings) { c.BufferSize = n }
}

// WithErrorPolicy sets what Map does when fn fails (default StopOnError).
func WithErrorPolicy(p ErrorPolicy) MapOption {
	return func(c *MapSettings) { c.Policy = p }
}

// chunk is the Job of Map: fn over a few items, results kept in the job.
type chunk[A, R any] struct {
	Future[struct{}]
	ctx  context.Context
	fn   func(context.Context, A) (R, error)
	in   []A
	out  []R
	errs []error // nil unless an item failed
	n    int     // items run (fewer than len(in) after a StopOnError failure)
	stop bool    // stop at the first failed item
	one  [1]A    // storage for chunks of one item: one allocation per job
	oneR [1]R
}

func (c *chunk[A, R]) Context() context.Context { return c.ctx }

func (c *chunk[A, R]) Start() bool { return c.SetRunning() }

func (c *chunk[A, R]) Fail(err error) { c.Complete(struct{}{}, err) }

func (c *chunk[A, R]) Run() {
	if err := c.ctx.Err(); err != nil {
		c.Complete(struct{}{}, context.Cause(c.ctx))
		return
	}
	if len(c.in) == 1 {
		c.out = c.oneR[:]
	} else {
		c.out = make([]R, len(c.in))
	}
	done := c.ctx.Done()
	for i, a := range c.in {
		if i > 0 {
			select {
			case <-done: // Map stopped: the rest would be thrown away
				c.Complete(struct{}{}, context.Cause(c.ctx))
				return
			default:
			}
		}
		r, err := callItem(c.ctx, c.fn, a)
		c.out[i] = r
		c.n = i + 1
		if err != nil {
			if c.errs == nil {
				c.errs = make([]error, len(c.in))
			}
			c.errs[i] = err
			if c.stop {
				break
			}
		}
	}
	c.Complete(struct{}{}, nil)
}

func callItem[A, R any](ctx context.Context, fn func(context.Context, A) (R, error), a A) (r R, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = newPanicError(p)
		}
	}()
	return fn(ctx, a)
}

// Map runs fn over the items of in on ex and yields the results in input
// order (Python's executor.map), as pairs (result, error).
//
// The input is read lazily: Map keeps at most WithBufferSize chunks of
// WithChunkSize items submitted and not yet yielded, and reads more only as
// the caller consumes results, so an endless or huge input is fine. The
// items of one chunk run in turn in one job; chunks run in parallel.
//
// Errors: with StopOnError (default), the first failed item (in input
// order) is yielded with its error and Map stops; with CollectErrors every
// item is yielded with its own error. A panic in fn is that item's
// *PanicError. An error that ends the whole Map is yielded once, last, with
// a zero result: ctx ended (Python's map timeout), the executor refused a
// chunk (ErrShutdown, ErrBroken, ctx ended while its queue was full), or a
// chunk was failed or cancelled by the executor (with StopOnError; with
// CollectErrors that error is yielded for each item of the chunk and Map
// goes on).
//
// fn receives a context derived from ctx that is cancelled when Map stops
// (the caller stopped the loop, or an error ended it); chunks still queued
// are then cancelled. Each range over the returned sequence runs the map
// anew, reading in again.
//
// Ranging over Map blocks while results are computed, so in a task or a
// callback of a running aio event loop it submits nothing and yields only
// a *BlockingError matching ErrBlockingOnLoop.
func Map[A, R any](ctx context.Context, ex Executor, fn func(context.Context, A) (R, error), in iter.Seq[A], opts ...MapOption) iter.Seq2[R, error] {
	cfg := ResolveMapOptions(opts...)
	if cfg.BufferSize == 0 {
		n := runtime.GOMAXPROCS(0)
		if s, ok := ex.(interface{ MaxWorkers() int }); ok && s.MaxWorkers() > 0 {
			n = s.MaxWorkers()
		}
		cfg.BufferSize = 2 * n
	}
	return func(yield func(R, error) bool) {
		var zero R
		if ex == nil {
			yield(zero, errNilExecutor)
			return
		}
		if err := refuseOnLoop("futures: Map", insteadMap); err != nil {
			yield(zero, err)
			return
		}
		if ctx == nil {
			ctx = context.Background()
		}
		m := mapRun[A, R]{cfg: cfg, ex: ex, fn: fn, yield: yield}
		m.ctx, m.cancel = context.WithCancel(ctx)
		defer m.close()
		m.window = window.Ordered[*chunk[A, R]]{
			BufferSize: cfg.BufferSize,
			Submit:     m.submit,
			Drain:      m.drain,
			Refused:    m.refused,
		}
		var cur *chunk[A, R]
		for a := range in {
			if cur == nil {
				cur = m.newChunk()
			}
			cur.in = append(cur.in, a)
			if len(cur.in) == cfg.ChunkSize {
				if !m.window.Add(cur) {
					return
				}
				cur = nil
			}
		}
		if cur != nil && !m.window.Add(cur) {
			return
		}
		m.window.Finish()
	}
}

// mapRun is the state of one iteration of a Map.
type mapRun[A, R any] struct {
	cfg    MapSettings
	ex     Executor
	fn     func(context.Context, A) (R, error)
	yield  func(R, error) bool
	ctx    context.Context // cancelled when the map stops
	cancel context.CancelFunc
	window window.Ordered[*chunk[A, R]]
}

func (m *mapRun[A, R]) newChunk() *chunk[A, R] {
	c := &chunk[A, R]{ctx: m.ctx, fn: m.fn, stop: m.cfg.Policy == StopOnError}
	if m.cfg.ChunkSize == 1 {
		c.in = c.one[:0]
	} else {
		c.in = make([]A, 0, m.cfg.ChunkSize)
	}
	return c
}

func (m *mapRun[A, R]) submit(c *chunk[A, R]) error { return m.ex.Execute(c) }

// refused yields the error of a chunk the executor refused.
func (m *mapRun[A, R]) refused(err error) {
	var zero R
	m.yield(zero, err)
}

// drain waits for c, the oldest chunk, and yields its results. It returns
// false when the map must stop.
func (m *mapRun[A, R]) drain(c *chunk[A, R]) bool {
	var zero R
	_, err := c.Result(m.ctx)
	if err == nil && m.ctx.Err() != nil {
		// ctx ended: stop even if this chunk happens to be done.
		err = context.Cause(m.ctx)
	}
	if err != nil {
		if m.cfg.Policy == StopOnError || m.ctx.Err() != nil {
			m.yield(zero, err)
			c.Cancel() // as close cancels the chunks after it
			return false
		}
		for range c.in {
			if !m.yield(zero, err) {
				return false
			}
		}
		return true
	}
	for i := 0; i < c.n; i++ {
		var err error
		if c.errs != nil {
			err = c.errs[i]
		}
		if !m.yield(c.out[i], err) || (err != nil && m.cfg.Policy == StopOnError) {
			return false
		}
	}
	return true
}

// close cancels the chunks still pending and the context of running ones.
func (m *mapRun[A, R]) close() {
	for {
		c, ok := m.window.Pop()
		if !ok {
			break
		}
		c.Cancel()
	}
	m.cancel()
}

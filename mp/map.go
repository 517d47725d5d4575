package mp

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync/atomic"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/internal/window"
)

// mapRun is shared by the chunks of one Map.
type mapRun struct {
	ctx       context.Context
	notify    chan struct{} // a chunk completed
	abandoned atomic.Bool   // the Map ended: chunks not started are skipped
}

// chunkJob is the job of one Map chunk.
type chunkJob[A, R any] struct {
	e    entry
	f    *fnInfo[A, R]
	m    *mapRun
	in   []A
	out  []R
	errs []error // per item, nil if none failed
	err  error   // the whole chunk failed

	// Storage inside the job for chunks of one item and small payloads,
	// and the decoded results (a local would escape through the decoder).
	one    [1]A
	oneOut [1]R
	res    batchOut[R]
	enc    bytes.Buffer
	buf    [inlinePayload]byte

	started    atomic.Bool
	completing atomic.Bool
	done       atomic.Bool
}

// Map calls the function on every item of in, on ex, and yields the results
// in the order of in (Python's executor.map(fn, items, chunksize=n)).
// Items go to the executor in chunks (WithChunkSize), with a bounded number
// of chunks in flight (WithBufferSize), so in is read lazily.
//
// With futures.StopOnError (the default) Map yields the results up to the
// first item that failed, then that error, and stops; with
// futures.CollectErrors it yields a (result, error) pair for every item. A
// chunk that failed as a whole (its worker died, its context ended) fails
// each of its items. An argument that cannot be encoded or an executor that
// refuses the work ends the Map with that error, after the results before
// it.
//
// When the loop over Map stops early, chunks not yet started are skipped;
// chunks already running finish in their workers (as in Python: running
// work is not cancelled). When ctx ends, Map yields ctx's error and stops;
// the pool fails the chunks still queued and kills the workers running
// chunks, as for Submit.
//
// Ranging over Map blocks while results are computed, so in a task or a
// callback of a running aio event loop it submits nothing and yields only
// a *futures.BlockingError matching futures.ErrBlockingOnLoop.
func (f Func[A, R]) Map(ctx context.Context, ex futures.Executor, in iter.Seq[A], opts ...futures.MapOption) iter.Seq2[R, error] {
	cfg := futures.ResolveMapOptions(opts...)
	if cfg.BufferSize == 0 {
		n := runtime.GOMAXPROCS(0)
		if s, ok := ex.(interface{ MaxWorkers() int }); ok && s.MaxWorkers() > 0 {
			n = s.MaxWorkers()
		}
		cfg.BufferSize = max(2*n, (4096+cfg.ChunkSize-1)/cfg.ChunkSize)
	}
	return func(yield func(R, error) bool) {
		var zero R
		switch {
		case f.f == nil:
			yield(zero, errZeroFunc)
			return
		case ex == nil:
			yield(zero, errNilExecutor)
			return
		}
		if err := refuseOnLoop("mp: Func.Map", insteadMap); err != nil {
			yield(zero, err)
			return
		}
		if ctx == nil {
			ctx = context.Background()
		}
		m := &mapRun{ctx: ctx, notify: make(chan struct{}, 1)}
		defer m.abandoned.Store(true)
		remote := !inProcess(ex)

		newChunk := func() *chunkJob[A, R] {
			c := &chunkJob[A, R]{f: f.f, m: m}
			if cfg.ChunkSize == 1 {
				c.in = c.one[:0]
			} else {
				c.in = make([]A, 0, cfg.ChunkSize)
			}
			c.e.name, c.e.batch, c.e.retries, c.e.avg = f.f.name, true, f.f.retries, &f.f.avgNs
			c.e.runTimeout = f.runTimeout
			return c
		}
		w := window.Ordered[*chunkJob[A, R]]{
			BufferSize: cfg.BufferSize,
			Submit: func(c *chunkJob[A, R]) error {
				if remote {
					p, err := encodeInto(false, &c.in, &c.enc, c.buf[:])
					if err != nil {
						return fmt.Errorf("%w the arguments of %s ([]%T): %v; pass plain data: numbers, strings, slices, maps, structs with exported fields", ErrEncode, f.f.name, zero, err)
					}
					c.e.payload = p
				}
				return ex.Execute(c)
			},
			// Drain waits for the oldest chunk and yields its results.
			Drain: func(c *chunkJob[A, R]) bool {
				for !c.done.Load() {
					select {
					case <-m.notify:
					case <-ctx.Done():
						yield(zero, context.Cause(ctx))
						return false
					}
				}
				if c.err != nil {
					if cfg.Policy == futures.StopOnError {
						yield(zero, c.err)
						return false
					}
					for range c.in {
						if !yield(zero, c.err) {
							return false
						}
					}
					return true
				}
				for i := range c.out {
					var err error
					if c.errs != nil {
						err = c.errs[i]
					}
					if !yield(c.out[i], err) || (err != nil && cfg.Policy == futures.StopOnError) {
						return false
					}
				}
				return true
			},
			Refused: func(err error) { yield(zero, err) },
		}
		var cur *chunkJob[A, R]
		for a := range in {
			if cur == nil {
				cur = newChunk()
			}
			cur.in = append(cur.in, a)
			cur.e.items++
			if len(cur.in) == cfg.ChunkSize {
				if !w.Add(cur) {
					return
				}
				cur = nil
			}
		}
		if cur != nil && !w.Add(cur) {
			return
		}
		w.Finish()
	}
}

func (c *chunkJob[A, R]) ent() *entry { return &c.e }

// Context returns the Map's context.
func (c *chunkJob[A, R]) Context() context.Context { return c.m.ctx }

// Start reports whether the chunk should run: false once the Map ended.
func (c *chunkJob[A, R]) Start() bool {
	return !c.m.abandoned.Load() && c.started.CompareAndSwap(false, true)
}

// Run calls the function over the chunk's items in this process.
func (c *chunkJob[A, R]) Run() {
	out := make([]R, len(c.in))
	var errs []error
	ctx, check, stop := withRunTimeout(c.m.ctx, c.f.name, c.e.runTimeout, c.Fail)
	defer stop()
	for i, a := range c.in {
		if err := ctx.Err(); err != nil {
			c.complete(nil, nil, context.Cause(ctx))
			return
		}
		r, err := c.f.call(ctx, a)
		if err = check(err); err != nil {
			if errs == nil {
				errs = make([]error, len(c.in))
			}
			errs[i] = err
		}
		out[i] = r
	}
	c.complete(out, errs, nil)
}

// Fail fails every item of the chunk with err.
func (c *chunkJob[A, R]) Fail(err error) { c.complete(nil, nil, err) }

// Function returns the registered name with the chunk marker.
func (c *chunkJob[A, R]) Function() string { return c.f.name + batchSuffix }

// Payload returns the encoded arguments (a CBOR array).
func (c *chunkJob[A, R]) Payload() []byte { return c.e.payload }

// CompleteRemote decodes the chunk's results.
func (c *chunkJob[A, R]) CompleteRemote(result []byte, err error) {
	if err != nil {
		c.Fail(err)
		return
	}
	c.deliver(result, false, nil, 0)
}

func (c *chunkJob[A, R]) deliver(payload []byte, _ bool, werr *wireError, pid int) {
	if werr != nil {
		c.complete(nil, nil, werr.toError(c.f.name, pid))
		return
	}
	res := &c.res
	if len(c.in) == 1 {
		res.Vals = c.oneOut[:0]
	}
	if err := decMode.Unmarshal(payload, res); err != nil {
		c.complete(nil, nil, fmt.Errorf("%w: %s: cannot decode the results from worker pid %d: %v", ErrProtocol, c.f.name, pid, err))
		return
	}
	if len(res.Vals) != len(c.in) {
		c.complete(nil, nil, fmt.Errorf("%w: %s: %d results for %d items from worker pid %d", ErrProtocol, c.f.name, len(res.Vals), len(c.in), pid))
		return
	}
	var errs []error
	for i, we := range res.Errs {
		if int(i) >= len(c.in) || we == nil {
			continue
		}
		if errs == nil {
			errs = make([]error, len(c.in))
		}
		errs[i] = we.toError(c.f.name, pid)
	}
	c.complete(res.Vals, errs, nil)
}

// complete publishes the outcome once and wakes the Map.
func (c *chunkJob[A, R]) complete(out []R, errs []error, err error) {
	if !c.completing.CompareAndSwap(false, true) {
		return
	}
	c.out, c.errs, c.err = out, errs, err
	c.done.Store(true)
	select {
	case c.m.notify <- struct{}{}:
	default:
	}
}

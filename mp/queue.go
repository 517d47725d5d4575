package mp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
)

// Errors of Queue and Pipe.
var (
	// ErrQueueShutDown is returned by Get on a queue that was shut down,
	// once it is drained, and by Put on it (Python 3.13's queue.ShutDown).
	ErrQueueShutDown = errors.New("mp: the queue was shut down (Queue.Shutdown) and, for a Get, is drained")
	// ErrEmpty is returned by GetNowait on an empty queue (Python's
	// queue.Empty).
	ErrEmpty = errors.New("mp: the queue is empty")
	// ErrFull is returned by PutNowait on a full queue (Python's
	// queue.Full).
	ErrFull = errors.New("mp: the queue is full")
)

// DefaultQueueBytes is the size of a Queue's shared buffer unless
// QueueBytes says otherwise. Memory is taken only as the buffer fills.
const DefaultQueueBytes = 1 << 20

// QueueOption configures NewQueue and NewPipe.
type QueueOption func(*queueConfig)

type queueConfig struct{ bytes int }

// QueueBytes sets the size of the queue's shared buffer, which holds the
// encoded items waiting (4 bytes of length each, and their encoding): an
// item whose encoding exceeds it cannot be put (default
// DefaultQueueBytes, at most 1 GiB).
func QueueBytes(n int) QueueOption { return func(c *queueConfig) { c.bytes = n } }

// Layout of a queue's segment.
const (
	qMutex    = 0  // uint32 mutex
	qNotEmpty = 4  // uint32 sequence, futex of waiting getters
	qNotFull  = 8  // uint32 sequence, futex of waiting putters
	qClosed   = 12 // uint32
	qWaitGet  = 16 // uint32 getters asleep
	qWaitPut  = 20 // uint32 putters asleep
	qMaxSize  = 24 // uint32 items, 0: unbounded
	qUnfin    = 28 // uint32 unfinished tasks (JoinableQueue)
	qJoinSeq  = 32 // uint32 sequence, futex of Join
	qHead     = 40 // uint64 bytes taken, ever
	qTail     = 48 // uint64 bytes put, ever
	qCount    = 56 // uint64 items
	qRingSize = 64 // uint64
	qRing     = 128
)

// Queue is Python's multiprocessing.Queue: a FIFO of values of type T
// shared by processes, for many producers and consumers. Create it with
// NewQueue and hand it to other processes as an argument of a registered
// function, run by a Process or a Pool: every copy is the same queue.
//
// Items are encoded with mp's codec (as the arguments of registered
// functions) into a ring buffer in shared memory; Put and Get copy them in
// and out under a cross-process lock, with no pipe, no feeder thread and
// no system call unless a side has to sleep. An item is in the queue once
// Put returns: a producer that dies later loses nothing, and one that dies
// in the middle of a Put leaves the queue as it was before it. An item
// leaves only when a Get takes it whole: a consumer that dies loses no
// item it did not take.
//
// In a task of an aio event loop, Put and Get suspend only the task.
type Queue[T any] struct {
	handle
	raw  bool
	bufs sync.Pool
}

// NewQueue creates a queue holding at most maxsize items (0: no limit but
// its buffer's size, as Python's Queue(maxsize=0)); Put blocks while it is
// full.
func NewQueue[T any](maxsize int, opts ...QueueOption) (*Queue[T], error) {
	if maxsize < 0 || maxsize > math.MaxUint32 {
		return nil, fmt.Errorf("mp: NewQueue(%d): maxsize must be between 0 (no limit) and %d", maxsize, uint32(math.MaxUint32))
	}
	if err := checkType(reflect.TypeFor[T]()); err != nil {
		return nil, fmt.Errorf("mp: NewQueue: the item %v", err)
	}
	cfg := queueConfig{bytes: DefaultQueueBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bytes < 64 || cfg.bytes > 1<<30 {
		return nil, fmt.Errorf("mp: QueueBytes(%d): the buffer must be between 64 bytes and 1 GiB", cfg.bytes)
	}
	s, err := newSegment(kindQueue, qRing+cfg.bytes)
	if err != nil {
		return nil, err
	}
	*s.u32(qMaxSize) = uint32(maxsize)
	*s.u64(qRingSize) = uint64(cfg.bytes)
	return &Queue[T]{handle: handle{seg: s}, raw: isRaw[T]()}, nil
}

func (q *Queue[T]) ring() []byte {
	d := q.seg.data()
	return d[qRing : qRing+int(atomic.LoadUint64(q.seg.u64(qRingSize)))]
}

// lock takes the queue's mutex. A holder that died is harmless: the
// indexes are published by single stores after the copy, so the queue is
// as the dead process last published it; only the item count may lag
// the tail, and is recounted.
func (q *Queue[T]) lock(ctx context.Context) error {
	w := q.seg.u32(qMutex)
	if mutexTry(w) {
		return nil
	}
	err := mutexLock(ctx, w)
	if _, died := err.(*HolderDiedError); died {
		q.recount()
		return nil
	}
	return err
}

func (q *Queue[T]) unlock() { _ = mutexUnlock(q.seg.u32(qMutex)) }

// recount sets the item count from the records between head and tail.
func (q *Queue[T]) recount() {
	ring := q.ring()
	head, tail := *q.seg.u64(qHead), *q.seg.u64(qTail)
	n := uint64(0)
	for pos := head; pos < tail; n++ {
		var hdr [4]byte
		q.readAt(ring, pos, hdr[:])
		pos += 4 + uint64(binary.LittleEndian.Uint32(hdr[:]))
	}
	atomic.StoreUint64(q.seg.u64(qCount), n)
}

func (q *Queue[T]) writeAt(ring []byte, pos uint64, b []byte) {
	i := int(pos % uint64(len(ring)))
	n := copy(ring[i:], b)
	copy(ring, b[n:])
}

func (q *Queue[T]) readAt(ring []byte, pos uint64, b []byte) {
	i := int(pos % uint64(len(ring)))
	n := copy(b, ring[i:])
	copy(b[n:], ring)
}

// spinWaits is how many times a Put or Get looks again before sleeping.
const spinWaits = 200

// wait sleeps on the sequence word at seqOff with the lock held on entry
// and on return (unless an error is returned, then not held).
func (q *Queue[T]) wait(ctx context.Context, put bool, need uint64) error {
	seqOff, waitersOff := qNotEmpty, qWaitGet
	if put {
		seqOff, waitersOff = qNotFull, qWaitPut
	}
	ready := func() bool {
		if put {
			return q.fits(need)
		}
		return q.ready()
	}
	seqW := q.seg.u32(seqOff)
	// Spin a little without the lock first: the other side is often
	// just about to act, and a futex sleep and wake costs microseconds.
	q.unlock()
	for i := 0; i < spinWaits && !ready(); i++ {
		if ctx.Err() != nil {
			break
		}
		if i >= spinWaits-spinYields*4 {
			osYield() // the other side may be waiting for this core
		}
	}
	if err := q.lock(ctx); err != nil {
		return err
	}
	if ready() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		q.unlock()
		return err
	}
	atomic.AddUint32(q.seg.u32(waitersOff), 1)
	seq := atomic.LoadUint32(seqW)
	q.unlock()
	stop := wakeOnDone(ctx, seqW)
	futexWait(seqW, seq, livenessEvery)
	stop()
	err := q.lock(context.Background())
	atomic.AddUint32(q.seg.u32(waitersOff), ^uint32(0))
	if err != nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !ready() {
		// Pass on a wake this waiter may have consumed.
		q.signal(seqOff, waitersOff)
		q.unlock()
		return cerr
	}
	return nil
}

// signal wakes one sleeper on the sequence word at seqOff, if any.
func (q *Queue[T]) signal(seqOff, waitersOff int) {
	if atomic.LoadUint32(q.seg.u32(waitersOff)) != 0 {
		atomic.AddUint32(q.seg.u32(seqOff), 1)
		futexWake(q.seg.u32(seqOff), 1)
	}
}

func (q *Queue[T]) encode(v *T) (*bytes.Buffer, error) {
	buf, _ := q.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	buf.Write([]byte{0, 0, 0, 0})
	tail, err := appendValue(buf, q.raw, v)
	if err != nil {
		q.bufs.Put(buf)
		return nil, fmt.Errorf("mp: cannot encode a queue item of type %s: %w", reflect.TypeFor[T](), err)
	}
	buf.Write(tail)
	binary.LittleEndian.PutUint32(buf.Bytes(), uint32(buf.Len()-4))
	return buf, nil
}

// Put adds v at the end of the queue, waiting while it is full until ctx
// ends (then ctx's error, and the queue is unchanged). It returns
// ErrQueueShutDown after Shutdown.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	return q.put(ctx, v, true)
}

// PutNowait adds v at once, or returns ErrFull.
func (q *Queue[T]) PutNowait(v T) error {
	return q.put(context.Background(), v, false)
}

func (q *Queue[T]) put(ctx context.Context, v T, block bool) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	buf, err := q.encode(&v)
	if err != nil {
		return err
	}
	defer q.bufs.Put(buf)
	rec := buf.Bytes()
	ring := q.ring()
	if len(rec) > len(ring) || len(rec)-4 > DefaultMaxFrameBytes {
		return fmt.Errorf("mp: a queue item of %d encoded bytes does not fit the queue's %d-byte buffer: make the queue with a larger mp.QueueBytes", len(rec)-4, len(ring))
	}
	need := uint64(len(rec))
	// The fast path: room now.
	if err := q.lock(ctx); err != nil {
		return err
	}
	if q.fits(need) {
		return q.commitPut(ring, rec)
	}
	q.unlock()
	if !block {
		return ErrFull
	}
	_, err = awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		if err := q.lock(ctx); err != nil {
			return struct{}{}, err
		}
		for !q.fits(need) {
			if err := q.wait(ctx, true, need); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, q.commitPut(ring, rec)
	})
	return err
}

// fits reports whether an item of need bytes can be put now, or the
// queue was shut down.
func (q *Queue[T]) fits(need uint64) bool {
	if atomic.LoadUint32(q.seg.u32(qClosed)) != 0 {
		return true
	}
	if maxsize := uint64(atomic.LoadUint32(q.seg.u32(qMaxSize))); maxsize != 0 && atomic.LoadUint64(q.seg.u64(qCount)) >= maxsize {
		return false
	}
	used := atomic.LoadUint64(q.seg.u64(qTail)) - atomic.LoadUint64(q.seg.u64(qHead))
	return atomic.LoadUint64(q.seg.u64(qRingSize))-used >= need
}

// ready reports whether a Get can return now: an item, or the queue was
// shut down.
func (q *Queue[T]) ready() bool {
	return atomic.LoadUint64(q.seg.u64(qCount)) != 0 || atomic.LoadUint32(q.seg.u32(qClosed)) != 0
}

// commitPut copies rec in and publishes it; the lock is held on entry and
// released.
func (q *Queue[T]) commitPut(ring, rec []byte) error {
	if atomic.LoadUint32(q.seg.u32(qClosed)) != 0 {
		q.unlock()
		return ErrQueueShutDown
	}
	tail := atomic.LoadUint64(q.seg.u64(qTail))
	q.writeAt(ring, tail, rec)
	atomic.AddUint32(q.seg.u32(qUnfin), 1)
	atomic.StoreUint64(q.seg.u64(qTail), tail+uint64(len(rec))) // the publication
	atomic.AddUint64(q.seg.u64(qCount), 1)
	q.signal(qNotEmpty, qWaitGet)
	q.unlock()
	return nil
}

// Get removes and returns the first item, waiting while the queue is empty
// until ctx ends (then ctx's error; no item is taken). On a queue that was shut
// down it returns the items left, then ErrQueueShutDown.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	return q.get(ctx, true)
}

// GetNowait returns the first item at once, or ErrEmpty (ErrQueueShutDown
// for a closed, drained queue).
func (q *Queue[T]) GetNowait() (T, error) {
	return q.get(context.Background(), false)
}

func (q *Queue[T]) get(ctx context.Context, block bool) (T, error) {
	var zero T
	if err := q.enter(); err != nil {
		return zero, err
	}
	defer q.leave()
	if err := q.lock(ctx); err != nil {
		return zero, err
	}
	var data *bytes.Buffer
	var err error
	if q.ready() {
		data, err = q.take()
	} else {
		q.unlock()
		if !block {
			return zero, ErrEmpty
		}
		data, err = awaitable(ctx, func(ctx context.Context) (*bytes.Buffer, error) {
			if err := q.lock(ctx); err != nil {
				return nil, err
			}
			for !q.ready() {
				if err := q.wait(ctx, false, 0); err != nil {
					return nil, err
				}
			}
			return q.take()
		})
	}
	if err != nil {
		return zero, err
	}
	defer q.bufs.Put(data)
	var v T
	if err := decodeValue(q.raw, data.Bytes(), false, &v); err != nil {
		return zero, fmt.Errorf("mp: cannot decode a queue item as %s: %w", reflect.TypeFor[T](), err)
	}
	return v, nil
}

// take copies the first item out and removes it; the lock is held on
// entry and released.
func (q *Queue[T]) take() (*bytes.Buffer, error) {
	defer q.unlock()
	if atomic.LoadUint64(q.seg.u64(qCount)) == 0 {
		return nil, ErrQueueShutDown
	}
	ring := q.ring()
	head := atomic.LoadUint64(q.seg.u64(qHead))
	var hdr [4]byte
	q.readAt(ring, head, hdr[:])
	n := uint64(binary.LittleEndian.Uint32(hdr[:]))
	if 4+n > uint64(len(ring)) || head+4+n > atomic.LoadUint64(q.seg.u64(qTail)) {
		return nil, fmt.Errorf("mp: the queue's shared buffer is corrupt (a record of %d bytes at %d): was its memory written by something else?", n, head)
	}
	buf, _ := q.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	buf.Grow(int(n))
	data := buf.AvailableBuffer()[:n]
	q.readAt(ring, head+4, data)
	buf.Write(data)
	atomic.StoreUint64(q.seg.u64(qHead), head+4+n) // the removal
	count := atomic.AddUint64(q.seg.u64(qCount), ^uint64(0))
	// Sleeping putters wake once half the room is free, not at each item:
	// a wake costs a system call on both sides.
	maxsize := uint64(atomic.LoadUint32(q.seg.u32(qMaxSize)))
	free := uint64(len(ring)) - (atomic.LoadUint64(q.seg.u64(qTail)) - head - 4 - n)
	if (maxsize == 0 || count <= maxsize/2) && free >= uint64(len(ring))/2 {
		q.signal(qNotFull, qWaitPut)
	}
	return buf, nil
}

// Len returns the number of items in the queue now (Python's qsize).
func (q *Queue[T]) Len() int {
	if q.enter() != nil {
		return 0
	}
	defer q.leave()
	return int(atomic.LoadUint64(q.seg.u64(qCount)))
}

// Shutdown shuts the queue down for every process (Python 3.13's
// Queue.shutdown()): Puts fail with ErrQueueShutDown, Gets return the
// items left and then ErrQueueShutDown, and every waiter wakes.
func (q *Queue[T]) Shutdown() error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	_ = q.lock(context.Background())
	atomic.StoreUint32(q.seg.u32(qClosed), 1)
	atomic.AddUint32(q.seg.u32(qNotEmpty), 1)
	atomic.AddUint32(q.seg.u32(qNotFull), 1)
	q.unlock()
	futexWake(q.seg.u32(qNotEmpty), math.MaxInt32)
	futexWake(q.seg.u32(qNotFull), math.MaxInt32)
	return nil
}

// Close releases this process's mapping of the queue, once the calls
// running in it return, and leaves the queue to the other processes
// (Python's close(): this process is done with it). Calls on the handle
// fail with ErrHandleClosed after.
func (q *Queue[T]) Close() error { q.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (q *Queue[T]) MarshalBinary() ([]byte, error) { return q.marshal() }

// UnmarshalBinary maps the queue a handle names.
func (q *Queue[T]) UnmarshalBinary(b []byte) error {
	if _, err := q.unmarshal(kindQueue, b, 0); err != nil {
		return err
	}
	q.raw = isRaw[T]()
	return nil
}

// JoinableQueue is Python's multiprocessing.JoinableQueue: a Queue whose
// consumers call TaskDone for each item they finished, and Join waits
// until every item put has been done. (A consumer that dies between Get
// and TaskDone leaves Join waiting, as in Python: give Join a deadline.)
type JoinableQueue[T any] struct {
	Queue[T]
}

// NewJoinableQueue creates a JoinableQueue (see NewQueue).
func NewJoinableQueue[T any](maxsize int, opts ...QueueOption) (*JoinableQueue[T], error) {
	q, err := NewQueue[T](maxsize, opts...)
	if err != nil {
		return nil, err
	}
	return &JoinableQueue[T]{Queue: Queue[T]{handle: handle{seg: q.seg}, raw: q.raw}}, nil
}

// TaskDone tells that an item taken by Get is finished; an error if
// called more times than items were put.
func (q *JoinableQueue[T]) TaskDone() error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	w := q.seg.u32(qUnfin)
	for {
		n := atomic.LoadUint32(w)
		if n == 0 {
			return errors.New("mp: TaskDone called more times than there were items put")
		}
		if atomic.CompareAndSwapUint32(w, n, n-1) {
			if n == 1 {
				atomic.AddUint32(q.seg.u32(qJoinSeq), 1)
				futexWake(q.seg.u32(qJoinSeq), math.MaxInt32)
			}
			return nil
		}
	}
}

// Join waits until every item put has been marked done with TaskDone, or
// ctx ends. In a task of an aio loop only the task waits.
func (q *JoinableQueue[T]) Join(ctx context.Context) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		seqW := q.seg.u32(qJoinSeq)
		stop := wakeOnDone(ctx, seqW)
		defer stop()
		for {
			seq := atomic.LoadUint32(seqW)
			if atomic.LoadUint32(q.seg.u32(qUnfin)) == 0 {
				return struct{}{}, nil
			}
			if err := ctx.Err(); err != nil {
				return struct{}{}, err
			}
			futexWait(seqW, seq, 0)
		}
	})
	return err
}

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
	"time"
	"unsafe"
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

// Layout of a queue's segment. Producers and consumers each have a lock
// and indexes of their own, on cache lines of their own, so that a Put
// and a Get running at once on two cores do not take the same lock nor
// write the same line; the wait words are written only by sleepers.
const (
	qClosed   = 0   // uint32, set once
	qMaxSize  = 4   // uint32 items, 0: unbounded
	qRingSize = 8   // uint64
	qJoinSeq  = 16  // uint32 sequence, futex of Join
	qNotEmpty = 64  // uint32 sequence, futex of waiting getters
	qWaitGet  = 68  // uint32 getters asleep
	qNotFull  = 128 // uint32 sequence, futex of waiting putters
	qWaitPut  = 132 // uint32 putters asleep
	qPutMutex = 192 // uint32 mutex of the producers
	qTail     = 200 // uint64 bytes put, ever (the publication)
	qPut      = 208 // uint64 items put, ever
	qGetMutex = 256 // uint32 mutex of the consumers
	qHead     = 264 // uint64 bytes taken, ever (the removal)
	qTaken    = 272 // uint64 items taken, ever
	qDone     = 320 // uint64 TaskDone calls (JoinableQueue)
	qUntrack  = 328 // uint32 set once a consumer found no free slot
	qSlots    = 384 // qNSlots consumer slots of qSlotSize bytes
	qRing     = qSlots + qNSlots*qSlotSize
)

// A consumer slot records a process that took items from the queue: its
// pid (uint32), whether it ended normally (uint32 at 4, set by
// leaveQueues), the items it took (uint64 at 8, written under the
// consumers' lock) and the TaskDone calls it made (uint64 at 16), so that
// Join and a Put waiting for room can tell when the consumers died.
const (
	qNSlots     = 64
	qSlotSize   = 32
	slotPid     = 0
	slotLeft    = 4
	slotTaken   = 8
	slotDone    = 16
	noSlot      = -1 // every slot was in use: this process is not tracked
	unknownSlot = 0
)

// Queue is Python's multiprocessing.Queue: a FIFO of values of type T
// shared by processes, for many producers and consumers. Create it with
// NewQueue and hand it to other processes as an argument of a registered
// function, run by a Process or a Pool: every copy is the same queue.
//
// Items are encoded with mp's codec (as the arguments of registered
// functions; an int, a float, a bool, a string or a []byte without
// reflection) into a ring buffer in shared memory; Put copies them in
// under the producers' cross-process lock and Get copies them out under
// the consumers', with no pipe, no feeder thread and no system call
// unless a side has to sleep. An item is in the queue once Put returns: a
// producer that dies later loses nothing, and one that dies in the middle
// of a Put leaves the queue as it was before it. An item leaves only when
// a Get takes it whole: a consumer that dies loses no item it did not
// take.
//
// In a task of an aio event loop, Put and Get suspend only the task.
type Queue[T any] struct {
	handle
	codec itemCodec
	size  uintptr // of T, for the scalar codecs
	bufs  sync.Pool
	// This handle's last looks at the other side's indexes: a producer
	// reads the consumers' line again only when the room it saw is not
	// enough, a consumer the producers' only when it saw no item.
	headSeen, takenSeen, tailSeen atomic.Uint64
	// This process's consumer slot, found or claimed at its first Get
	// through this handle: 1 + its index, unknownSlot or noSlot.
	slot atomic.Int32
}

// NewQueue creates a queue holding at most maxsize items (0: no limit but
// its buffer's size, as Python's Queue(maxsize=0)); Put blocks while it is
// full.
func NewQueue[T any](maxsize int, opts ...QueueOption) (*Queue[T], error) {
	q := new(Queue[T])
	if err := q.init(maxsize, opts); err != nil {
		return nil, err
	}
	return q, nil
}

// init makes q a new queue (NewQueue's work, also JoinableQueue's).
func (q *Queue[T]) init(maxsize int, opts []QueueOption) error {
	if maxsize < 0 || maxsize > math.MaxUint32 {
		return fmt.Errorf("mp: NewQueue(%d): maxsize must be between 0 (no limit) and %d", maxsize, uint32(math.MaxUint32))
	}
	if err := checkType(reflect.TypeFor[T]()); err != nil {
		return fmt.Errorf("mp: NewQueue: the item %v", err)
	}
	cfg := queueConfig{bytes: DefaultQueueBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bytes < 64 || cfg.bytes > 1<<30 {
		return fmt.Errorf("mp: QueueBytes(%d): the buffer must be between 64 bytes and 1 GiB", cfg.bytes)
	}
	s, err := newSegment(kindQueue, qRing+cfg.bytes)
	if err != nil {
		return err
	}
	*s.u32(qMaxSize) = uint32(maxsize)
	*s.u64(qRingSize) = uint64(cfg.bytes)
	q.seg = s
	q.codec, q.size = codecOf[T]()
	return nil
}

func (q *Queue[T]) ring() []byte {
	d := q.seg.data()
	return d[qRing : qRing+int(atomic.LoadUint64(q.seg.u64(qRingSize)))]
}

func (q *Queue[T]) load64(off int) uint64     { return atomic.LoadUint64(q.seg.u64(off)) }
func (q *Queue[T]) store64(off int, v uint64) { atomic.StoreUint64(q.seg.u64(off), v) }
func (q *Queue[T]) closed() bool              { return atomic.LoadUint32(q.seg.u32(qClosed)) != 0 }

// lockPut takes the producers' mutex. A holder that died is harmless:
// the tail is published by one store after the copy, so the queue is as
// the dead process last published it; only the count of items put may be
// one ahead of the tail, and is recounted.
func (q *Queue[T]) lockPut(ctx context.Context) error {
	err := mutexLock(ctx, q.seg.u32(qPutMutex))
	if _, died := err.(*HolderDiedError); died {
		// The lock order is producers' then consumers': a consumer
		// never waits for the producers' lock.
		_ = q.lockGet(context.Background())
		n := uint64(0)
		ring := q.ring()
		head, tail := q.load64(qHead), q.load64(qTail)
		for pos := head; pos < tail; n++ {
			var hdr [4]byte
			readRing(ring, pos, hdr[:])
			pos += recHdr + uint64(binary.LittleEndian.Uint32(hdr[:]))
		}
		q.store64(qPut, q.load64(qTaken)+n)
		q.unlockGet()
		return nil
	}
	return err
}

// lockGet takes the consumers' mutex. A holder that died after counting
// the item it was taking but before removing it left the count one
// ahead: the sequence number of the record still at the head says so.
func (q *Queue[T]) lockGet(ctx context.Context) error {
	err := mutexLock(ctx, q.seg.u32(qGetMutex))
	if _, died := err.(*HolderDiedError); died {
		head := q.load64(qHead)
		if head != q.load64(qTail) {
			var hdr [recHdr]byte
			readRing(q.ring(), head, hdr[:])
			taken := q.load64(qTaken)
			seq := binary.LittleEndian.Uint32(hdr[4:])
			q.store64(qTaken, taken+uint64(int64(int32(seq-uint32(taken)))))
		}
		q.takenSeen.Store(0)
		return nil
	}
	return err
}

func (q *Queue[T]) unlockPut() { _ = mutexUnlock(q.seg.u32(qPutMutex)) }
func (q *Queue[T]) unlockGet() { _ = mutexUnlock(q.seg.u32(qGetMutex)) }

// spinWaits is how many times a Put or Get looks again before sleeping.
const spinWaits = 200

// wait sleeps until a Put of need bytes fits (put) or a Get can return;
// the side's lock is held on entry and on return (unless an error is
// returned, then not held).
func (q *Queue[T]) wait(ctx context.Context, put bool, need uint64) error {
	seqOff, waitersOff := qNotEmpty, qWaitGet
	lock, unlock := q.lockGet, q.unlockGet
	ready := q.ready
	if put {
		seqOff, waitersOff = qNotFull, qWaitPut
		lock, unlock = q.lockPut, q.unlockPut
		ready = func() bool { return q.fits(need) }
	}
	seqW, waiters := q.seg.u32(seqOff), q.seg.u32(waitersOff)
	// Spin a little without the lock first: the other side is often
	// just about to act, and a futex sleep and wake costs microseconds.
	unlock()
	for i := 0; i < spinWaits && !ready(); i++ {
		if ctx.Err() != nil {
			break
		}
		if i >= spinWaits-spinYields*4 {
			osYield() // the other side may be waiting for this core
		}
	}
	if !ready() {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Count this sleeper before looking once more: the other side
		// publishes, then looks for sleepers, so one of the two sees
		// the other.
		atomic.AddUint32(waiters, 1)
		seq := atomic.LoadUint32(seqW)
		slept := false
		if !ready() {
			stop := wakeOnDone(ctx, seqW)
			t0 := time.Now()
			futexWait(seqW, seq, livenessEvery)
			slept = time.Since(t0) >= livenessEvery/2
			stop()
		}
		atomic.AddUint32(waiters, ^uint32(0))
		if put && slept && !ready() {
			// Nobody made room for a while: are there consumers?
			if err := q.consumersGone(false); err != nil {
				return err
			}
		}
	}
	if err := lock(context.Background()); err != nil {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !ready() {
		// Pass on a wake this waiter may have consumed.
		q.signal(seqOff, waitersOff)
		unlock()
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

// encode encodes *v into e: the fast codecs on the stack, the others
// into a pooled buffer.
func (q *Queue[T]) encode(v *T, e *encItem) error {
	e.npre = recHdr
	if encodeFast(q.codec, q.size, unsafe.Pointer(v), e) {
		return nil
	}
	buf, _ := q.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	// A copy of the value for the encoder, which keeps what it is given
	// on the heap: else every Put's argument would be moved there, even
	// those of the fast codecs.
	vv := new(T)
	*vv = *v
	if err := encMode.MarshalToBuffer(vv, buf); err != nil {
		q.bufs.Put(buf)
		return fmt.Errorf("mp: cannot encode a queue item of type %s: %w", reflect.TypeFor[T](), err)
	}
	e.buf, e.body = buf, buf.Bytes()
	return nil
}

// Put adds v at the end of the queue, waiting while it is full until ctx
// ends (then ctx's error, and the queue is unchanged). It returns
// ErrQueueShutDown after Shutdown, and a *ConsumerDiedError when, while
// it waits for room, every process that took from the queue has died
// (Python's put would wait forever).
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	return q.put(ctx, &v, true)
}

// PutNowait adds v at once, or returns ErrFull.
func (q *Queue[T]) PutNowait(v T) error {
	return q.put(context.Background(), &v, false)
}

func (q *Queue[T]) put(ctx context.Context, v *T, block bool) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	var e encItem
	if err := q.encode(v, &e); err != nil {
		return err
	}
	if e.buf != nil {
		defer q.bufs.Put(e.buf)
	}
	ring := q.ring()
	payload := e.payload()
	if recHdr+payload > len(ring) || payload > DefaultMaxFrameBytes {
		return fmt.Errorf("mp: a queue item of %d encoded bytes does not fit the queue's %d-byte buffer: make the queue with a larger mp.QueueBytes", payload, len(ring))
	}
	need := uint64(recHdr + payload)
	// The fast path: room now.
	if err := q.lockPut(ctx); err != nil {
		return err
	}
	if q.fits(need) {
		return q.commitPut(ring, &e)
	}
	q.unlockPut()
	if !block {
		return ErrFull
	}
	return q.putWait(ctx, ring, e, need)
}

// putWait is put's wait for room, apart so that the item is copied to
// the heap (for the closure) only when a Put has to wait.
func (q *Queue[T]) putWait(ctx context.Context, ring []byte, e encItem, need uint64) error {
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		if err := q.lockPut(ctx); err != nil {
			return struct{}{}, err
		}
		for !q.fits(need) {
			if err := q.wait(ctx, true, need); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, q.commitPut(ring, &e)
	})
	return err
}

// fits reports whether an item of need bytes can be put now, or the
// queue was shut down.
func (q *Queue[T]) fits(need uint64) bool {
	if q.closed() {
		return true
	}
	if maxsize := uint64(atomic.LoadUint32(q.seg.u32(qMaxSize))); maxsize != 0 {
		put := q.load64(qPut)
		if put-q.takenSeen.Load() >= maxsize {
			taken := q.load64(qTaken)
			q.takenSeen.Store(taken)
			if put-taken >= maxsize {
				return false
			}
		}
	}
	tail, size := q.load64(qTail), q.load64(qRingSize)
	if tail-q.headSeen.Load() > size-need {
		head := q.load64(qHead)
		q.headSeen.Store(head)
		return tail-head <= size-need
	}
	return true
}

// ready reports whether a Get can return now: an item, or the queue was
// shut down.
func (q *Queue[T]) ready() bool {
	closed := q.closed() // before the tail: a shutdown comes after the last tail
	head := q.load64(qHead)
	if q.tailSeen.Load() > head {
		return true
	}
	tail := q.load64(qTail)
	q.tailSeen.Store(tail)
	return tail != head || closed
}

// commitPut copies the item in and publishes it; the producers' lock is
// held on entry and released.
func (q *Queue[T]) commitPut(ring []byte, e *encItem) error {
	if q.closed() {
		q.unlockPut()
		return ErrQueueShutDown
	}
	tail, n := q.load64(qTail), q.load64(qPut)
	binary.LittleEndian.PutUint32(e.pre[0:], uint32(e.payload()))
	binary.LittleEndian.PutUint32(e.pre[4:], uint32(n))
	writeRing(ring, tail, e.pre[:e.npre])
	writeRing(ring, tail+uint64(e.npre), e.body)
	// Atomic stores, though only the holder of the producers' lock
	// writes these words: the goroutines of this process that read them
	// hold the consumers' lock or none, so that only an atomic store
	// orders the copy above before the tail for them under Go's memory
	// model (a consumer whose atomic load sees the tail sees the item),
	// and the other processes' loads are the same instructions. A plain
	// store would be ordered by amd64's processor but not by the
	// language. signal's look for sleepers comes after the tail's store
	// and a sleeper counts itself before its last look at the tail,
	// all atomic (sequentially consistent): one of the two sees the
	// other.
	q.store64(qPut, n+1)                                      // before the tail: a TaskDone never outruns it
	q.store64(qTail, tail+uint64(e.npre)+uint64(len(e.body))) // the publication
	q.unlockPut()
	q.signal(qNotEmpty, qWaitGet)
	return nil
}

// Get removes and returns the first item, waiting while the queue is empty
// until ctx ends (then ctx's error; no item is taken). On a queue that was shut
// down it returns the items left, then ErrQueueShutDown.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	var v T
	err := q.get(ctx, true, &v)
	return v, err
}

// GetInto is Get for a Queue[[]byte] that reuses the caller's buffer:
// the item is copied into the array *dst already has when its capacity
// is enough (*dst is then that array resliced to the item's length),
// else into a new array of the item's length, which *dst then holds; so
// a consumer that passes the same variable each time allocates only
// when an item is longer than any before. A nil item sets *dst to nil,
// an empty one to an empty slice (of *dst's array, if it has one). The
// previous item's bytes are overwritten: use GetInto in a loop that is
// done with an item before it takes the next, and Get when each item
// must keep memory of its own. Waiting and errors are as Get's; on an
// error *dst is unchanged.
//
// For a queue of any other item type GetInto returns an error: Get is
// the one way to take such an item (GetInto would only be Get with the
// result stored).
func (q *Queue[T]) GetInto(ctx context.Context, dst *T) error {
	if q.codec != codecRaw && q.seg != nil {
		return fmt.Errorf("mp: GetInto is for a Queue[[]byte] (it reuses the buffer); for a Queue[%s] use Get", reflect.TypeFor[T]())
	}
	if dst == nil {
		return errors.New("mp: GetInto(nil): pass a pointer to the []byte variable that receives the item")
	}
	return q.get(ctx, true, dst)
}

// GetNowait returns the first item at once, or ErrEmpty (ErrQueueShutDown
// for a closed, drained queue).
func (q *Queue[T]) GetNowait() (T, error) {
	var v T
	err := q.get(context.Background(), false, &v)
	return v, err
}

// get takes the first item into *dst (which keeps its value on an error).
func (q *Queue[T]) get(ctx context.Context, block bool, dst *T) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	if err := q.lockGet(ctx); err != nil {
		return err
	}
	if q.ready() {
		return q.take(dst)
	}
	q.unlockGet()
	if !block {
		return ErrEmpty
	}
	// The wait works on a copy of *dst (so that dst itself does not
	// escape to the heap through the closure), stored back on success.
	cur := *dst
	v, err := awaitable(ctx, func(ctx context.Context) (T, error) {
		v := cur
		if err := q.lockGet(ctx); err != nil {
			return v, err
		}
		for !q.ready() {
			if err := q.wait(ctx, false, 0); err != nil {
				return v, err
			}
		}
		return v, q.take(&v)
	})
	if err == nil {
		*dst = v
	}
	return err
}

// take copies the first item out into *dst and removes it; the
// consumers' lock is held on entry and released. An item of the generic
// codec is decoded after the lock is released.
func (q *Queue[T]) take(dst *T) error {
	head := q.load64(qHead)
	tail := q.tailSeen.Load()
	if tail <= head {
		tail = q.load64(qTail)
		q.tailSeen.Store(tail)
		if tail == head {
			q.unlockGet()
			return ErrQueueShutDown // ready() saw the queue closed
		}
	}
	ring := q.ring()
	var hdr [recHdr]byte
	readRing(ring, head, hdr[:])
	n := uint64(binary.LittleEndian.Uint32(hdr[:]))
	if recHdr+n > uint64(len(ring)) || head+recHdr+n > tail {
		q.unlockGet()
		return fmt.Errorf("mp: the queue's shared buffer is corrupt (a record of %d bytes at %d): was its memory written by something else?", n, head)
	}
	var buf *bytes.Buffer
	if !decodeFast(q.codec, q.size, ring, head+recHdr, n, unsafe.Pointer(dst)) {
		buf, _ = q.bufs.Get().(*bytes.Buffer)
		if buf == nil {
			buf = new(bytes.Buffer)
		}
		buf.Reset()
		buf.Grow(int(n))
		data := buf.AvailableBuffer()[:n]
		readRing(ring, head+recHdr, data)
		buf.Write(data)
	}
	// Counted before it is removed: a consumer that dies between the two
	// leaves the record at the head with the count one ahead, which the
	// next consumer sees by its sequence number.
	count := q.load64(qTaken) + 1
	// Atomic stores, as commitPut's: the copy out above happens before
	// the removal for a producer whose atomic load sees the new head,
	// and which then writes over the record's bytes.
	q.store64(qTaken, count)
	q.store64(qHead, head+recHdr+n) // the removal
	// The consumer's own count, after the removal: dying just before
	// it, a consumer is not blamed for an item it left in the queue
	// (dying just after the removal and before it, it holds one that
	// Join does not know about: Join then waits, as in Python).
	if i := q.consumerSlot(); i >= 0 {
		p := q.seg.u64(qSlots + i*qSlotSize + slotTaken)
		atomic.StoreUint64(p, atomic.LoadUint64(p)+1) // only the lock's holder writes it
	}
	q.unlockGet() // an exchange: the removal is visible before the look for sleepers
	// Sleeping putters wake once half the room is free, not at each item:
	// a wake costs a system call on both sides.
	if atomic.LoadUint32(q.seg.u32(qWaitPut)) != 0 {
		maxsize := uint64(atomic.LoadUint32(q.seg.u32(qMaxSize)))
		free := uint64(len(ring)) - (q.load64(qTail) - head - recHdr - n)
		if (maxsize == 0 || q.load64(qPut)-count <= maxsize/2) && free >= uint64(len(ring))/2 {
			q.signal(qNotFull, qWaitPut)
		}
	}
	if buf == nil {
		return nil
	}
	defer q.bufs.Put(buf)
	var v T
	if err := decodeValue(q.codec == codecRaw, buf.Bytes(), false, &v); err != nil {
		return fmt.Errorf("mp: cannot decode a queue item as %s: %w", reflect.TypeFor[T](), err)
	}
	*dst = v
	return nil
}

// consumerSlot returns this process's consumer slot, claiming one at the
// first call: the slot it had, a free one, or one of a process that died
// with every item it took marked done; -1 if all are taken.
func (q *Queue[T]) consumerSlot() int {
	if s := q.slot.Load(); s != unknownSlot {
		return int(s) - 1
	}
	i := q.findSlot(true)
	if i < 0 {
		// A consumer no slot tracks: from now on, that every tracked
		// consumer is dead does not mean that none is left.
		atomic.StoreUint32(q.seg.u32(qUntrack), 1)
		q.slot.Store(noSlot)
	} else {
		q.slot.Store(int32(i + 1))
	}
	return i
}

// doneSlot returns the slot TaskDone counts in: this process's, if it
// took items; -1 if it has none (it does not claim one).
func (q *Queue[T]) doneSlot() int {
	if s := q.slot.Load(); s != unknownSlot {
		return int(s) - 1
	}
	return q.findSlot(false)
}

// findSlot returns the index of this process's slot, claiming one if
// claim; -1 if there is none.
func (q *Queue[T]) findSlot(claim bool) int {
	pidw := func(i int) *uint32 { return q.seg.u32(qSlots + i*qSlotSize + slotPid) }
	for i := range qNSlots {
		if atomic.LoadUint32(pidw(i)) == uint32(myPid) {
			return i
		}
	}
	if !claim {
		return -1
	}
	for i := range qNSlots {
		if atomic.CompareAndSwapUint32(pidw(i), 0, uint32(myPid)) {
			return i
		}
	}
	for i := range qNSlots {
		pid := atomic.LoadUint32(pidw(i))
		base := qSlots + i*qSlotSize
		if pid != 0 && !pidAlive(int(pid)) && q.load64(base+slotTaken) == q.load64(base+slotDone) &&
			atomic.CompareAndSwapUint32(pidw(i), pid, uint32(myPid)) {
			q.store64(base+slotTaken, 0)
			q.store64(base+slotDone, 0)
			atomic.StoreUint32(q.seg.u32(base+slotLeft), 0)
			return i
		}
	}
	return -1
}

// queueDetach frees this process's consumer slot in the queue of segment
// s, when the process closes its last handle of the queue having marked
// done every item it took: a consumer that Closes the queue once done is
// not counted afterwards (its exit is not a death). One that took items
// it did not mark done keeps its slot, for Join to report.
func queueDetach(s *segment) {
	for i := range qNSlots {
		base := segData + qSlots + i*qSlotSize
		pidw := (*uint32)(unsafe.Pointer(&s.mem[base+slotPid]))
		if atomic.LoadUint32(pidw) != uint32(myPid) {
			continue
		}
		taken := (*uint64)(unsafe.Pointer(&s.mem[base+slotTaken]))
		done := (*uint64)(unsafe.Pointer(&s.mem[base+slotDone]))
		if atomic.LoadUint64(taken) == atomic.LoadUint64(done) {
			atomic.StoreUint64(taken, 0)
			atomic.StoreUint64(done, 0)
			atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.mem[base+slotLeft])), 0)
			atomic.StoreUint32(pidw, 0)
		}
		return
	}
}

// leaveQueues marks this process's consumer slots, in every queue it
// still has mapped, as those of a process that ended normally: a Process
// child whose function returned nil, a Pool worker that exits. Such a
// process is not counted as a consumer that died when no consumer is
// left (it did not crash; another may come), though items it took and
// never marked done are still reported to Join. The slot is not freed:
// a goroutine of the process could still be taking an item.
func leaveQueues() {
	segMu.Lock()
	defer segMu.Unlock()
	for _, s := range segCache {
		if s.kind != kindQueue {
			continue
		}
		for i := range qNSlots {
			base := segData + qSlots + i*qSlotSize
			if atomic.LoadUint32((*uint32)(unsafe.Pointer(&s.mem[base+slotPid]))) == uint32(myPid) {
				atomic.StoreUint32((*uint32)(unsafe.Pointer(&s.mem[base+slotLeft])), 1)
				break
			}
		}
	}
}

// ConsumerDiedError is returned by JoinableQueue.Join, and by a Put
// waiting for room in a full queue, when the processes that take from
// the queue died: Join because a consumer ended holding items it took and
// never marked done (TaskDone; whether it crashed or returned, no one
// else can mark them), or, for both, because no process that took from
// the queue is alive any more and at least one of them crashed or was
// killed, while items wait in it.
// Python's multiprocessing waits forever in both cases.
//
// A consumer that ended normally is not counted in the second case: one
// that closed its last handle of the queue after marking done every item
// it took, a Process child whose function returned nil (exit code 0), a
// Pool worker that exited with its pool. One whose function returned an
// error or panicked, or that was killed or ended with os.Exit, counts as
// crashed. At most 64 consumer processes are tracked at a time (the
// slot of one that ended with nothing outstanding is reused); once a
// consumer found no slot, the second case is not reported for that
// queue (an untracked consumer may still run), and such a consumer's
// death with items not done is not seen (Join waits, as Python's).
type ConsumerDiedError struct {
	// PID is the consumer process that died (the last one found, if
	// several did).
	PID int
	// Lost is how many items it took and never marked done (0 when
	// the error is that no consumer is left).
	Lost int
	// Waiting is how many items wait in the queue with no consumer
	// alive and at least one crashed (0 when Lost is not).
	Waiting int
}

// Error says which process died and what is left.
func (e *ConsumerDiedError) Error() string {
	if e.Lost > 0 {
		return fmt.Sprintf("mp: consumer process %d died with %d item(s) it took and never marked done (TaskDone): Join cannot complete; redo or give up that work", e.PID, e.Lost)
	}
	return fmt.Sprintf("mp: every process that took from the queue has died (the last found: %d) and %d item(s) wait in it: start a consumer, or give up", e.PID, e.Waiting)
}

// consumersGone returns a *ConsumerDiedError if the queue's consumers
// died (see ConsumerDiedError); lost also reports a consumer that died
// with items not done, which only Join waits for.
func (q *Queue[T]) consumersGone(lost bool) error {
	alive, deadPid := false, 0
	for i := range qNSlots {
		base := qSlots + i*qSlotSize
		pid := int(atomic.LoadUint32(q.seg.u32(base + slotPid)))
		if pid == 0 {
			continue
		}
		if pidAlive(pid) {
			alive = true
			continue
		}
		if n := q.load64(base+slotTaken) - q.load64(base+slotDone); lost && int64(n) > 0 {
			return &ConsumerDiedError{PID: pid, Lost: int(n)}
		}
		if atomic.LoadUint32(q.seg.u32(base+slotLeft)) == 0 {
			deadPid = pid // crashed, not ended normally
		}
	}
	if alive || deadPid == 0 || atomic.LoadUint32(q.seg.u32(qUntrack)) != 0 {
		return nil
	}
	taken := q.load64(qTaken)
	if waiting := q.load64(qPut) - taken; waiting > 0 {
		return &ConsumerDiedError{PID: deadPid, Waiting: int(waiting)}
	}
	return nil
}

// Len returns the number of items in the queue now (Python's qsize).
func (q *Queue[T]) Len() int {
	if q.enter() != nil {
		return 0
	}
	defer q.leave()
	taken := q.load64(qTaken) // first: never more than were put
	return int(q.load64(qPut) - taken)
}

// Shutdown shuts the queue down for every process (Python 3.13's
// Queue.shutdown()): Puts fail with ErrQueueShutDown, Gets return the
// items left and then ErrQueueShutDown, and every waiter wakes.
func (q *Queue[T]) Shutdown() error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	_ = q.lockPut(context.Background()) // no Put publishes after the flag
	atomic.StoreUint32(q.seg.u32(qClosed), 1)
	atomic.AddUint32(q.seg.u32(qNotEmpty), 1)
	atomic.AddUint32(q.seg.u32(qNotFull), 1)
	q.unlockPut()
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
	q.codec, q.size = codecOf[T]()
	return nil
}

// JoinableQueue is Python's multiprocessing.JoinableQueue: a Queue whose
// consumers call TaskDone for each item they finished, and Join waits
// until every item put has been done. A consumer process that dies
// between Get and TaskDone makes Join return a *ConsumerDiedError where
// Python waits forever (TaskDone counts for the process that calls it:
// call it in the process that took the item).
type JoinableQueue[T any] struct {
	Queue[T]
}

// NewJoinableQueue creates a JoinableQueue (see NewQueue).
func NewJoinableQueue[T any](maxsize int, opts ...QueueOption) (*JoinableQueue[T], error) {
	q := new(JoinableQueue[T])
	if err := q.init(maxsize, opts); err != nil {
		return nil, err
	}
	return q, nil
}

// TaskDone tells that an item taken by Get is finished; an error if
// called more times than items were put.
func (q *JoinableQueue[T]) TaskDone() error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	w := q.seg.u64(qDone)
	for {
		done := atomic.LoadUint64(w)
		put := q.load64(qPut)
		if done >= put {
			return errors.New("mp: TaskDone called more times than there were items put")
		}
		if atomic.CompareAndSwapUint64(w, done, done+1) {
			if i := q.doneSlot(); i >= 0 {
				atomic.AddUint64(q.seg.u64(qSlots+i*qSlotSize+slotDone), 1)
			}
			if done+1 == put {
				atomic.AddUint32(q.seg.u32(qJoinSeq), 1)
				futexWake(q.seg.u32(qJoinSeq), math.MaxInt32)
			}
			return nil
		}
	}
}

// Join waits until every item put has been marked done with TaskDone, or
// ctx ends. It returns a *ConsumerDiedError, instead of waiting forever
// as Python does, once a process that took items ended without marking
// them all done, or every process that took from the queue crashed while
// items wait in it (see ConsumerDiedError for what counts; Join looks
// at each TaskDone that completes the count and at least every 0.1 s
// while it waits). That answer comes before ctx's error. In a task of an
// aio loop only the task waits.
func (q *JoinableQueue[T]) Join(ctx context.Context) error {
	if err := q.enter(); err != nil {
		return err
	}
	defer q.leave()
	w := q.seg.u32(qJoinSeq)
	done := func() bool { return q.load64(qPut) == atomic.LoadUint64(q.seg.u64(qDone)) }
	if done() {
		return nil
	}
	// The consumers are asked before ctx: their death is the definite
	// answer, and a Join with an ended ctx still gets it.
	return awaitWord(ctx, w, nil, done, func(context.Context) error { return q.consumersGone(true) })
}

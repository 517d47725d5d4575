package mp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Errors of the shared objects (Queue, Pipe, Value, Array, the locks).
var (
	// ErrNotSupported is returned by the constructors of shared objects
	// where they are not implemented (outside Linux).
	ErrNotSupported = errors.New("mp: shared memory objects (Queue, Pipe, Value, Array, Lock...) are not supported on this platform: they need Linux (memfd, futex)")
	// ErrHandleClosed is returned by the methods of a handle after its
	// Close in this process.
	ErrHandleClosed = errors.New("mp: the handle is closed in this process (Close was called): decode or create it again")
)

// HolderDiedError is returned when a cross-process lock is acquired from
// a process that died holding it: the caller now holds the lock (so
// Unlock it), and the data it guards may be half updated. Python's
// multiprocessing hangs forever here.
type HolderDiedError struct {
	// PID is the process that held the lock when it died.
	PID int
}

// Error says which process died and what the caller must do.
func (e *HolderDiedError) Error() string {
	return fmt.Sprintf("mp: the lock's holder (process %d) died holding it; the lock is now held by the caller, and what it guards may be inconsistent: check or repair it, then Unlock", e.PID)
}

var myPid = os.Getpid()

// Kinds of shared objects, stored in a segment and in its handle so that a
// handle cannot be decoded as another kind.
const (
	kindQueue uint32 = 1 + iota
	kindValue
	kindArray
	kindLock
	kindRLock
	kindSemaphore
	kindEvent
	kindCondition
	kindBarrier
)

// segHeader is the start of every segment.
const (
	segOffID   = 0  // uint64: random identity, checked on open
	segOffKind = 8  // uint32
	segData    = 64 // where the object's own layout starts
)

// segment is one mapping of a shared memory file in this process.
type segment struct {
	id   uint64
	kind uint32
	pid  int // the creating process, whose descriptor hfd names the file
	hfd  int
	fd   int // this process's descriptor
	mem  []byte
	refs atomic.Int64 // handles and running calls; 0: unmapped
}

var (
	segMu    sync.Mutex
	segCache = map[uint64]*segment{} // mapped segments by id
)

// newSegment creates a segment of kind with size bytes of object data.
func newSegment(kind uint32, size int) (*segment, error) {
	if !shmSupported {
		return nil, ErrNotSupported
	}
	total := segData + size
	fd, err := shmCreate(total)
	if err != nil {
		return nil, err
	}
	mem, err := shmMap(fd, total)
	if err != nil {
		shmClose(fd)
		return nil, err
	}
	s := &segment{id: rand.Uint64() | 1, kind: kind, pid: myPid, hfd: fd, fd: fd, mem: mem}
	binary.LittleEndian.PutUint64(mem[segOffID:], s.id)
	binary.LittleEndian.PutUint32(mem[segOffKind:], kind)
	s.refs.Store(1)
	segMu.Lock()
	segCache[s.id] = s
	segMu.Unlock()
	return s, nil
}

// openSegment maps the segment a handle names, once per process: a
// segment mapped already gets one more reference.
func openSegment(kind uint32, pid, hfd int, id uint64) (*segment, error) {
	if !shmSupported {
		return nil, ErrNotSupported
	}
	segMu.Lock()
	defer segMu.Unlock()
	if s := segCache[id]; s != nil && s.acquire() {
		return s, nil
	}
	var fd, size int
	var err error
	if ifd, ok := inherited[id]; ok {
		fd, size, err = shmDup(ifd)
	} else {
		fd, size, err = shmOpen(pid, hfd)
	}
	if err != nil {
		return nil, err
	}
	if size < segData {
		shmClose(fd)
		return nil, fmt.Errorf("mp: the shared object of process %d (fd %d) is gone (that descriptor now names another file)", pid, hfd)
	}
	mem, err := shmMap(fd, size)
	if err != nil {
		shmClose(fd)
		return nil, err
	}
	if binary.LittleEndian.Uint64(mem[segOffID:]) != id || binary.LittleEndian.Uint32(mem[segOffKind:]) != kind {
		shmUnmap(mem)
		shmClose(fd)
		return nil, fmt.Errorf("mp: the shared object of process %d (fd %d) is gone (that descriptor now names another file): it was closed there", pid, hfd)
	}
	s := &segment{id: id, kind: kind, pid: pid, hfd: hfd, fd: fd, mem: mem}
	s.refs.Store(1)
	segCache[id] = s
	return s, nil
}

// inherited holds the descriptors of shared objects that a Process child
// got from its parent at start, by segment id: the child maps them even if
// the parent closed them or exited since.
var inherited = map[uint64]int{}

// Captures of the segments encoded while a Process's argument is encoded,
// so that the Process hands their descriptors to the child. Encodings in
// other goroutines meanwhile may add segments too: the child then gets a
// descriptor it does not use.
var (
	captureMu sync.Mutex
	captures  = map[*[]*segment]struct{}{}
)

func capture(s *segment) {
	captureMu.Lock()
	defer captureMu.Unlock()
	for c := range captures {
		if s.acquire() {
			*c = append(*c, s)
		}
	}
}

// capturing runs encode and returns the segments it encoded, each with a
// reference taken (release them).
func capturing(encode func()) []*segment {
	var segs []*segment
	captureMu.Lock()
	captures[&segs] = struct{}{}
	captureMu.Unlock()
	defer func() {
		captureMu.Lock()
		delete(captures, &segs)
		captureMu.Unlock()
	}()
	encode()
	return segs
}

// acquire takes a reference, false if the segment is unmapped already.
func (s *segment) acquire() bool {
	for {
		n := s.refs.Load()
		if n <= 0 {
			return false
		}
		if s.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one unmaps the segment and closes
// its descriptor.
func (s *segment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	segMu.Lock()
	if segCache[s.id] == s {
		delete(segCache, s.id)
	}
	segMu.Unlock()
	if s.kind == kindQueue {
		queueDetach(s)
	}
	// A quick call (handle.quick) may still run on a handle closed
	// meanwhile: the address range stays mapped, to blank memory, until
	// the segment is unreachable, and so is every handle that named it
	// (a quick call keeps its handle alive until its operation is done).
	// Should the retiring fail (no memory for the new mapping), the
	// shared mapping itself stays until then: never an unmapped range
	// under a running call.
	shmRetire(s.mem)
	runtime.AddCleanup(s, shmUnmap, s.mem)
	shmClose(s.fd)
}

// u32 and u64 return the words at off in the object data.
func (s *segment) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.mem[segData+off])) }
func (s *segment) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&s.mem[segData+off])) }
func (s *segment) data() []byte        { return s.mem[segData:] }

// handle is what every shared object embeds: its segment, and Close.
//
// state counts the calls running on the handle (in units of 2) and has
// bit 0 set once the handle is closed: a call costs one atomic
// compare-and-swap on entry and one add on exit, on the handle's own memory (not the segment's,
// which every handle of the process shares), and the handle's reference
// to the segment is dropped exactly once, by Close when no call runs, or
// else by the last call to leave after Close.
type handle struct {
	seg   *segment
	state atomic.Int64
}

const handleClosed = 1

// enter starts a call on the handle; leave ends it. Between them the
// mapping stays even if another goroutine closes the handle.
func (h *handle) enter() error {
	if h.seg == nil {
		return errors.New("mp: use of a zero shared object: create it with its New function (or receive it as an argument)")
	}
	for {
		v := h.state.Load()
		if v&handleClosed != 0 {
			// No call starts after Close: the state reaches "closed,
			// no call" once, and the reference is dropped once.
			return ErrHandleClosed
		}
		if h.state.CompareAndSwap(v, v+2) {
			return nil
		}
	}
}

func (h *handle) leave() {
	if h.state.Add(-2) == handleClosed {
		h.seg.release() // closed, and this was the last call
	}
}

// quick starts a short call that takes no reference, for the operations
// of a word or two (Value's and Array's, a Lock's fast paths), so that
// they cost no atomic instruction of their own: false if the handle is
// closed. Such a call asks quickDone after its operation whether a Close
// ran meanwhile: if so, the operation may have gone to the blank memory
// that replaces a closed mapping (shmRetire), and the call returns as on
// a closed handle. The handle must stay reachable until the operation
// is done (quickDone after it does so, or runtime.KeepAlive): the blank
// range is unmapped once the segment, reachable from the handle, is not.
// A quick call must not stop between two writes that must both happen
// (a lock taken and released): those take a reference (enter).
func (h *handle) quick() bool {
	ok := h.seg != nil && h.state.Load()&handleClosed == 0
	if ok && quickHook != nil {
		quickHook(h) // between the check and the operation
	}
	return ok
}

// quickDone reports whether a quick call's operation reached the shared
// memory: false if the handle was closed meanwhile. (A Close sets the
// flag before it retires the mapping, so an operation that found the
// blank memory sees the flag after.)
func (h *handle) quickDone() bool { return h.state.Load()&handleClosed == 0 }

// quickHook, if set (by a test), runs in each quick call on an open
// handle, after its check and before its operation: where a Close in
// another goroutine is the hardest case.
var quickHook func(*handle)

// closed reports whether Close was called on the handle.
func (h *handle) closed() bool { return h.state.Load()&handleClosed != 0 }

// close releases this handle's reference: the mapping goes once calls
// running on it return and no other handle of this process names it.
func (h *handle) close() {
	if h.seg == nil {
		return
	}
	for {
		v := h.state.Load()
		if v&handleClosed != 0 {
			return
		}
		if h.state.CompareAndSwap(v, v|handleClosed) {
			if v == 0 {
				h.seg.release() // no call running
			}
			return
		}
	}
}

// Handles are encoded as: magic 'B', kind, creator pid, creator fd, id,
// then the object's own fields.
const handleMagic = 'B'

func (h *handle) marshal(extra ...uint64) ([]byte, error) {
	if h.seg == nil {
		return nil, errors.New("mp: cannot send a zero shared object")
	}
	if h.closed() {
		return nil, ErrHandleClosed
	}
	capture(h.seg)
	b := []byte{handleMagic, byte(h.seg.kind)}
	b = binary.AppendUvarint(b, uint64(h.seg.pid))
	b = binary.AppendUvarint(b, uint64(h.seg.hfd))
	b = binary.LittleEndian.AppendUint64(b, h.seg.id)
	for _, x := range extra {
		b = binary.AppendUvarint(b, x)
	}
	return b, nil
}

// unmarshal maps the segment that b names, and returns the extra fields.
func (h *handle) unmarshal(kind uint32, b []byte, nextra int) ([]uint64, error) {
	if h.seg != nil {
		return nil, errors.New("mp: decoding into a shared object that is in use")
	}
	if len(b) < 2 || b[0] != handleMagic || (kind != 0 && uint32(b[1]) != kind) {
		return nil, fmt.Errorf("mp: not the encoding of a shared object of this kind (%d bytes)", len(b))
	}
	b0kind := b[1]
	b = b[2:]
	var f [2]uint64
	for i := range f {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("mp: truncated shared object handle")
		}
		f[i], b = v, b[n:]
	}
	if len(b) < 8 {
		return nil, errors.New("mp: truncated shared object handle")
	}
	id := binary.LittleEndian.Uint64(b)
	b = b[8:]
	extra := make([]uint64, nextra)
	for i := range extra {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errors.New("mp: truncated shared object handle")
		}
		extra[i], b = v, b[n:]
	}
	s, err := openSegment(uint32(b0kind), int(f[0]), int(f[1]), id)
	if err != nil {
		return nil, err
	}
	h.seg = s
	return extra, nil
}

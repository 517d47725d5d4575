package mp

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Number is the element type of a shared Value or Array: fixed-size
// integers and floats of 32 or 64 bits (the sizes that hardware updates
// atomically).
type Number interface {
	~int32 | ~int64 | ~uint32 | ~uint64 | ~int | ~uint | ~float32 | ~float64
}

// valueOff is where a Value's number, or an Array's first element, lies in
// its segment: after the lock word, on a cache line of its own.
const valueOff = 64

// numOps are the atomic operations on a number of type T in shared memory.
// They need nothing but T: the zero numOps[T] is ready.
type numOps[T Number] struct{}

// float reports whether T is a floating-point type (a half is not 0),
// which T alone says: the compiler folds it to a constant.
func (numOps[T]) float() bool { return T(1)/2 != 0 }

func (numOps[T]) load(p unsafe.Pointer) T {
	var z T
	if unsafe.Sizeof(z) == 4 {
		x := atomic.LoadUint32((*uint32)(p))
		return *(*T)(unsafe.Pointer(&x))
	}
	x := atomic.LoadUint64((*uint64)(p))
	return *(*T)(unsafe.Pointer(&x))
}

func (numOps[T]) store(p unsafe.Pointer, v T) {
	if unsafe.Sizeof(v) == 4 {
		atomic.StoreUint32((*uint32)(p), *(*uint32)(unsafe.Pointer(&v)))
		return
	}
	atomic.StoreUint64((*uint64)(p), *(*uint64)(unsafe.Pointer(&v)))
}

func (numOps[T]) cas(p unsafe.Pointer, old, new T) bool {
	if unsafe.Sizeof(old) == 4 {
		return atomic.CompareAndSwapUint32((*uint32)(p), *(*uint32)(unsafe.Pointer(&old)), *(*uint32)(unsafe.Pointer(&new)))
	}
	return atomic.CompareAndSwapUint64((*uint64)(p), *(*uint64)(unsafe.Pointer(&old)), *(*uint64)(unsafe.Pointer(&new)))
}

func (o numOps[T]) add(p unsafe.Pointer, d T) T {
	if o.float() {
		for {
			old := o.load(p)
			if o.cas(p, old, old+d) {
				return old + d
			}
		}
	}
	if unsafe.Sizeof(d) == 4 {
		x := atomic.AddUint32((*uint32)(p), *(*uint32)(unsafe.Pointer(&d)))
		return *(*T)(unsafe.Pointer(&x))
	}
	x := atomic.AddUint64((*uint64)(p), *(*uint64)(unsafe.Pointer(&d)))
	return *(*T)(unsafe.Pointer(&x))
}

// Value is Python's multiprocessing.Value: one number in shared memory,
// which every process that has the handle reads and writes in place, with
// a lock of its own (Lock, Python's get_lock()).
//
//	v, err := mp.NewValue[int64](0) // Value('q', 0)
//	// in any process that received v:
//	v.Lock().Lock(ctx)              // with v.get_lock():
//	v.Store(v.Load() + 1)           //     v.value += 1
//	v.Lock().Unlock()
//
// Load, Store, Add and CompareAndSwap are atomic by themselves: v.Add(1)
// is the increment without the lock. Hand v to other processes as an
// argument of a registered function; Close releases this process's
// mapping.
type Value[T Number] struct {
	handle
	ops  numOps[T]
	lock Lock
}

// NewValue creates a shared number set to v.
func NewValue[T Number](v T) (*Value[T], error) {
	s, err := newSegment(kindValue, valueOff+8)
	if err != nil {
		return nil, err
	}
	x := &Value[T]{handle: handle{seg: s}}
	x.lock = Lock{handle: &x.handle}
	x.ops.store(x.ptr(), v)
	return x, nil
}

func (v *Value[T]) ptr() unsafe.Pointer { return unsafe.Pointer(v.seg.u64(valueOff)) }

// Load returns the number.
func (v *Value[T]) Load() T {
	var z T
	if !v.quick() {
		return z
	}
	if x := v.ops.load(v.ptr()); v.quickDone() {
		return x
	}
	return z
}

// Store sets the number.
func (v *Value[T]) Store(x T) {
	if v.quick() {
		v.ops.store(v.ptr(), x)
		// v, and through it the segment, stays reachable until the
		// store is done: the segment's cleanup unmaps the range the
		// store writes to (see segment.release).
		runtime.KeepAlive(v)
	}
}

// Add adds d atomically and returns the new number.
func (v *Value[T]) Add(d T) T {
	var z T
	if !v.quick() {
		return z
	}
	if x := v.ops.add(v.ptr(), d); v.quickDone() {
		return x
	}
	return z
}

// CompareAndSwap sets the number to new if it is old (bit for bit).
func (v *Value[T]) CompareAndSwap(old, new T) bool {
	return v.quick() && v.ops.cas(v.ptr(), old, new) && v.quickDone()
}

// Lock returns the value's own lock (Python's get_lock()).
func (v *Value[T]) Lock() *Lock { return &v.lock }

// Update runs fn on the number under the value's lock and stores its
// result: Python's `with v.get_lock(): v.value = fn(v.value)`. If fn
// panics, the number is unchanged and the lock released. A
// *HolderDiedError is returned after the update (the lock was taken over).
// It is one call on the handle, which keeps the mapping for its whole
// length: a Close in another goroutine meanwhile cannot leave the lock
// held (Lock, Load, Store and Unlock are quick calls that take no
// reference, and cost a little less).
func (v *Value[T]) Update(ctx context.Context, fn func(T) T) error {
	if err := v.enter(); err != nil {
		return err
	}
	defer v.leave()
	w := v.seg.u32(v.lock.off)
	var err error
	if !mutexTry(w) {
		_, err = awaitable(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, mutexLock(ctx, w)
		})
		if _, died := err.(*HolderDiedError); err != nil && !died {
			return err
		}
	}
	// A panic (or runtime.Goexit) in fn releases the lock as it goes
	// by, as Python's with block does on an exception: else the lock
	// would stay held by this live process, and every other wait forever.
	updated := false
	defer func() {
		if !updated {
			_ = mutexUnlock(w)
		}
	}()
	p := v.ptr()
	x := fn(v.ops.load(p))
	updated = true
	v.ops.store(p, x)
	if uerr := mutexUnlock(w); uerr != nil {
		return uerr
	}
	return err
}

// Close releases this process's mapping (other processes keep theirs).
// After it, Load returns 0 and Store, Add and CompareAndSwap do nothing.
func (v *Value[T]) Close() error { v.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (v *Value[T]) MarshalBinary() ([]byte, error) {
	var z T
	return v.marshal(uint64(unsafe.Sizeof(z)))
}

// UnmarshalBinary maps the value a handle names.
func (v *Value[T]) UnmarshalBinary(b []byte) error {
	x, err := v.unmarshal(kindValue, b, 1)
	if err != nil {
		return err
	}
	var z T
	if x[0] != uint64(unsafe.Sizeof(z)) {
		v.close()
		return fmt.Errorf("mp: a shared Value of %d-byte numbers cannot be received as a Value[%T]", x[0], z)
	}
	v.lock = Lock{handle: &v.handle}
	return nil
}

// Array is Python's multiprocessing.Array: a fixed-length array of numbers
// in shared memory, mapped (not copied) by every process that receives
// the handle, with a lock of its own.
//
// Load, Store, Add and CompareAndSwap on an element are atomic. Slice
// returns the elements as a Go slice over the shared mapping, for plain
// (non-atomic) bulk reads and writes at memory speed: processes working on
// disjoint parts need no lock.
type Array[T Number] struct {
	handle
	ops  numOps[T]
	n    int
	lock Lock
}

// NewArray creates a shared array of n zeros (Python's Array('d', n)).
func NewArray[T Number](n int) (*Array[T], error) {
	var z T
	if n < 0 || uint64(n) > math.MaxInt64/uint64(unsafe.Sizeof(z))-valueOff {
		return nil, fmt.Errorf("mp: NewArray(%d): the length must be >= 0 and fit in memory", n)
	}
	s, err := newSegment(kindArray, valueOff+n*int(unsafe.Sizeof(z)))
	if err != nil {
		return nil, err
	}
	a := &Array[T]{handle: handle{seg: s}, n: n}
	a.lock = Lock{handle: &a.handle}
	return a, nil
}

// NewArrayFrom creates a shared array holding a copy of xs (Python's
// Array('i', [0] * 10)).
func NewArrayFrom[T Number](xs []T) (*Array[T], error) {
	a, err := NewArray[T](len(xs))
	if err != nil {
		return nil, err
	}
	copy(a.Slice(), xs)
	return a, nil
}

// Len returns the number of elements.
func (a *Array[T]) Len() int { return a.n }

func (a *Array[T]) at(i int) unsafe.Pointer {
	if uint(i) >= uint(a.n) {
		panic(fmt.Sprintf("mp: Array index %d out of range [0, %d)", i, a.n))
	}
	var z T
	return unsafe.Pointer(&a.seg.mem[segData+valueOff+i*int(unsafe.Sizeof(z))])
}

// Load returns element i.
func (a *Array[T]) Load(i int) T {
	var z T
	if !a.quick() {
		return z
	}
	if x := a.ops.load(a.at(i)); a.quickDone() {
		return x
	}
	return z
}

// Store sets element i.
func (a *Array[T]) Store(i int, x T) {
	if a.quick() {
		a.ops.store(a.at(i), x)
		runtime.KeepAlive(a) // as in Value.Store
	}
}

// Add adds d to element i atomically and returns the new value.
func (a *Array[T]) Add(i int, d T) T {
	var z T
	if !a.quick() {
		return z
	}
	if x := a.ops.add(a.at(i), d); a.quickDone() {
		return x
	}
	return z
}

// CompareAndSwap sets element i to new if it is old (bit for bit).
func (a *Array[T]) CompareAndSwap(i int, old, new T) bool {
	return a.quick() && a.ops.cas(a.at(i), old, new) && a.quickDone()
}

// Slice returns the elements as a slice over the shared mapping: writes
// are seen by every process. It is valid until Close in this process
// (after it, the slice no longer shows the shared memory and must not be
// used); it is nil for a closed handle.
func (a *Array[T]) Slice() []T {
	if a.seg == nil || a.closed() {
		return nil
	}
	if a.n == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(a.at(0)), a.n)
}

// Lock returns the array's own lock (Python's get_lock()).
func (a *Array[T]) Lock() *Lock { return &a.lock }

// Close releases this process's mapping (other processes keep theirs).
// After it, Load returns 0, Store, Add and CompareAndSwap do nothing, and
// slices returned by Slice must not be used.
func (a *Array[T]) Close() error { a.close(); return nil }

// MarshalBinary encodes the handle for another process.
func (a *Array[T]) MarshalBinary() ([]byte, error) {
	var z T
	return a.marshal(uint64(unsafe.Sizeof(z)), uint64(a.n))
}

// UnmarshalBinary maps the array a handle names.
func (a *Array[T]) UnmarshalBinary(b []byte) error {
	x, err := a.unmarshal(kindArray, b, 2)
	if err != nil {
		return err
	}
	var z T
	if x[0] != uint64(unsafe.Sizeof(z)) {
		a.close()
		return fmt.Errorf("mp: a shared Array of %d-byte numbers cannot be received as an Array[%T]", x[0], z)
	}
	if x[1] > uint64(len(a.seg.data())-valueOff)/x[0] {
		a.close()
		return fmt.Errorf("mp: a shared Array handle claims %d elements, more than its memory holds", x[1])
	}
	a.n = int(x[1])
	a.lock = Lock{handle: &a.handle}
	return nil
}

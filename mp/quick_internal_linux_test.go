package mp

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"unsafe"
)

// A quick call (no reference taken) that runs while another goroutine
// closes the handle: the Close retires the mapping to blank memory, the
// operation lands there, and the call returns as on a closed handle
// (zero, false, ErrHandleClosed) instead of crashing or touching the
// shared memory. quickHook closes the handle right after each call's
// check, which is the moment another goroutine's Close would have to
// hit.
func TestQuickCallRacingClose(t *testing.T) {
	defer func() { quickHook = nil }()
	calls := []struct {
		name string
		call func(v *Value[int64]) error
	}{
		{"Load", func(v *Value[int64]) error {
			if x := v.Load(); x != 0 {
				return errors.New("not zero")
			}
			return nil
		}},
		{"Store", func(v *Value[int64]) error { v.Store(9); return nil }},
		{"Add", func(v *Value[int64]) error {
			if x := v.Add(1); x != 0 {
				return errors.New("not zero")
			}
			return nil
		}},
		{"CompareAndSwap", func(v *Value[int64]) error {
			if v.CompareAndSwap(7, 8) {
				return errors.New("swapped")
			}
			return nil
		}},
		{"TryLock", func(v *Value[int64]) error {
			if v.Lock().TryLock() {
				return errors.New("locked")
			}
			return nil
		}},
		{"Lock", func(v *Value[int64]) error {
			if err := v.Lock().Lock(context.Background()); !errors.Is(err, ErrHandleClosed) {
				return err
			}
			return nil
		}},
		{"Unlock", func(v *Value[int64]) error {
			if err := v.Lock().Unlock(); !errors.Is(err, ErrHandleClosed) {
				return err
			}
			return nil
		}},
	}
	for _, c := range calls {
		v, err := NewValue[int64](7)
		if err != nil {
			t.Fatal(err)
		}
		if c.name == "Unlock" && !v.Lock().TryLock() {
			t.Fatal("TryLock of a new Value's lock failed")
		}
		// A view of the shared pages of its own, as another process has,
		// to see what reached them.
		fd, size, err := shmDup(v.seg.fd)
		if err != nil {
			t.Fatal(err)
		}
		view, err := shmMap(fd, size)
		if err != nil {
			t.Fatal(err)
		}
		number := (*int64)(unsafe.Pointer(&view[segData+valueOff]))
		lockWord := (*uint32)(unsafe.Pointer(&view[segData]))
		held := atomic.LoadUint32(lockWord)
		quickHook = func(h *handle) {
			if h == &v.handle {
				quickHook = nil
				v.Close() // the last handle: the mapping is retired
			}
		}
		if err := c.call(v); err != nil {
			t.Errorf("%s racing Close: %v", c.name, err)
		}
		if x := atomic.LoadInt64(number); x != 7 {
			t.Errorf("%s racing Close changed the shared value to %d", c.name, x)
		}
		if w := atomic.LoadUint32(lockWord); w != held {
			t.Errorf("%s racing Close changed the shared lock word from %#x to %#x", c.name, held, w)
		}
		shmUnmap(view)
		shmClose(fd)
	}
}

// A Lock's quick call that finds its handle closed meanwhile, while
// another handle of this process keeps the mapping (so the operation
// reached the shared word): the call returns ErrHandleClosed, and the
// lock is left as it was, not held by a call that reported failure.
func TestQuickLockRacingCloseOfOneHandle(t *testing.T) {
	defer func() { quickHook = nil }()
	for _, name := range []string{"TryLock", "Lock"} {
		v, err := NewValue[int64](0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := v.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var other Value[int64] // a second handle: the mapping stays
		if err := other.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		quickHook = func(h *handle) {
			if h == &v.handle {
				quickHook = nil
				v.Close()
			}
		}
		var got error
		if name == "TryLock" {
			if v.Lock().TryLock() {
				got = errors.New("TryLock succeeded")
			}
		} else if err := v.Lock().Lock(context.Background()); !errors.Is(err, ErrHandleClosed) {
			got = err
		}
		if got != nil {
			t.Errorf("%s racing Close: %v", name, got)
		}
		if w := atomic.LoadUint32(other.seg.u32(0)); w != 0 {
			t.Errorf("%s racing Close left the shared lock word %#x; want it free", name, w)
		}
		if !other.Lock().TryLock() {
			t.Errorf("after %s racing Close, the other handle cannot take the lock", name)
		}
		other.Close()
	}
}

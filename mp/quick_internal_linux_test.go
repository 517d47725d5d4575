package mp

import (
	"context"
	"errors"
	"runtime/debug"
	"testing"
)

// A quick call (no reference taken) that runs while another goroutine
// closes the handle finds the mapping retired: it returns as a call on a
// closed handle does (zero, false, ErrHandleClosed) instead of crashing
// the program. The retirement is done here by hand, with the handle
// still open, so that every call below meets it.
func TestQuickCallOnRetiredMapping(t *testing.T) {
	if raceBuild {
		t.Skip("under the race detector quick calls take a reference (shm_race.go): a retired mapping is a crash")
	}
	v, err := NewValue[int64](7)
	if err != nil {
		t.Fatal(err)
	}
	if v.Load() != 7 {
		t.Fatal("Load before the retirement")
	}
	if !shmRetire(v.seg.mem) {
		t.Fatal("shmRetire failed")
	}
	if x := v.Load(); x != 0 {
		t.Errorf("Load on a retired mapping = %d, want 0", x)
	}
	v.Store(1)
	if x := v.Add(1); x != 0 {
		t.Errorf("Add on a retired mapping = %d, want 0", x)
	}
	if v.CompareAndSwap(0, 1) {
		t.Error("CompareAndSwap on a retired mapping succeeded")
	}
	if v.Lock().TryLock() {
		t.Error("TryLock on a retired mapping succeeded")
	}
	if err := v.Lock().Lock(context.Background()); !errors.Is(err, ErrHandleClosed) {
		t.Errorf("Lock on a retired mapping: %v, want ErrHandleClosed", err)
	}
	if err := v.Lock().Unlock(); !errors.Is(err, ErrHandleClosed) {
		t.Errorf("Unlock on a retired mapping: %v, want ErrHandleClosed", err)
	}
	// A fault elsewhere is not taken for a closed handle.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a nil dereference inside a quick call was swallowed")
			}
		}()
		var err error
		defer v.recoverClosed(setPanicOnFaultForTest(true), &err)
		var p *int64
		_ = *p
	}()
	v.Close()
}

func setPanicOnFaultForTest(b bool) bool { return debug.SetPanicOnFault(b) }

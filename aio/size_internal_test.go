package aio

import (
	"testing"
	"unsafe"
)

// The sizes the memory figures of docs/PERFORMANCE.md rest on: a task
// with no result fits the 192-byte size class, a context 48 bytes.
func TestTaskSizes(t *testing.T) {
	if s := unsafe.Sizeof(Task[struct{}]{}); s > 192 {
		t.Errorf("Task[struct{}] is %d bytes, more than its 192-byte size class", s)
	}
	if s := unsafe.Sizeof(loopCtx{}); s > 48 {
		t.Errorf("loopCtx is %d bytes, want <= 48", s)
	}
	t.Logf("Task[struct{}]=%d Task[int]=%d taskCore=%d loopCtx=%d futureCore=%d coro=%d",
		unsafe.Sizeof(Task[struct{}]{}), unsafe.Sizeof(Task[int]{}), unsafe.Sizeof(taskCore{}),
		unsafe.Sizeof(loopCtx{}), unsafe.Sizeof(futureCore{}), unsafe.Sizeof(coro{}))
}

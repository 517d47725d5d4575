// Package window is the ordered window shared by the Maps of package
// futures and package mp: the input is read lazily into chunks, at most a
// bounded number of chunks are submitted and not yet yielded, and their
// results are yielded in input order. The chunks, the submission and the
// waiting belong to the caller; the window decides when each happens. It is
// not safe for concurrent use.
package window

import "github.com/braid-go/braid/internal/ring"

// Ordered drives one iteration of a Map over chunks of type C. The caller
// reads its input and fills chunks itself (the per-item work stays in its
// own loop), hands each full chunk to Add, and calls Finish after the last:
//
//	for a := range in {
//		... append a to cur ...
//		if cur is full && !w.Add(cur) {
//			return
//		}
//	}
//	if cur has items && !w.Add(cur) {
//		return
//	}
//	w.Finish()
type Ordered[C any] struct {
	// BufferSize is the most chunks submitted and not yet drained (>= 1).
	BufferSize int
	// Submit hands a chunk to the executor. An error refuses it: the
	// chunks before it are drained, then Refused is called, and the Map
	// ends.
	Submit func(c C) error
	// Drain waits for c, the oldest chunk submitted and not yet drained,
	// and yields its results. It returns false to end the Map.
	Drain func(c C) bool
	// Refused yields the error of a refused chunk.
	Refused func(err error)

	pending ring.Ring[C] // submitted, not yet drained, oldest first
}

// Add makes room in the window, draining the oldest chunks, and then
// submits c. It returns false when the Map must end: Drain returned false,
// or c was refused (after the chunks before it were drained). The chunks
// still submitted and not drained are then left for Pop.
func (w *Ordered[C]) Add(c C) bool {
	for w.pending.Len() >= w.BufferSize {
		if !w.drainOne() {
			return false
		}
	}
	if err := w.Submit(c); err != nil {
		// Results submitted earlier come first, then the refusal.
		if w.drainAll() {
			w.Refused(err)
		}
		return false
	}
	w.pending.Push(c)
	return true
}

// Finish drains every chunk still in the window, oldest first, until Drain
// returns false.
func (w *Ordered[C]) Finish() { w.drainAll() }

// drainAll drains every chunk in the window, oldest first; it returns
// false when Drain did.
func (w *Ordered[C]) drainAll() bool {
	for w.pending.Len() > 0 {
		if !w.drainOne() {
			return false
		}
	}
	return true
}

// Pop takes the oldest chunk still submitted and not drained, for the
// caller to cancel what a stopped Map left behind.
func (w *Ordered[C]) Pop() (C, bool) { return w.pending.Pop() }

func (w *Ordered[C]) drainOne() bool {
	c, _ := w.pending.Pop()
	return w.Drain(c)
}

// Package window is the ordered window shared by the Maps of package
// futures and package mp: the input is read lazily into chunks, at most a
// bounded number of chunks are submitted and not yet yielded, and their
// results are yielded in input order. The chunks, the submission and the
// waiting belong to the caller; the window decides when each happens. It is
// not safe for concurrent use.
package window

import (
	"iter"

	"github.com/braid-go/braid/internal/ring"
)

// Ordered drives one iteration of a Map over chunks of type C holding items
// of type A. Set every field, then call Run once.
type Ordered[A, C any] struct {
	// ChunkSize is the number of items per chunk (>= 1).
	ChunkSize int
	// BufferSize is the most chunks submitted and not yet drained (>= 1).
	BufferSize int
	// New returns an empty chunk.
	New func() C
	// Add appends a to c and returns the number of items in c.
	Add func(c C, a A) int
	// Submit hands a chunk to the executor. An error refuses it: the
	// chunks before it are drained, then Refused is called, and Run ends.
	Submit func(c C) error
	// Drain waits for c, the oldest chunk submitted and not yet drained,
	// and yields its results. It returns false to end the Map.
	Drain func(c C) bool
	// Refused yields the error of a refused chunk.
	Refused func(err error)

	pending ring.Ring[C] // submitted, not yet drained, oldest first
}

// Run reads in, submits its chunks and drains them in order. It returns
// when every chunk was drained, when Drain returned false, or after a
// refusal; the chunks still submitted and not drained are then left for
// Pop.
func (w *Ordered[A, C]) Run(in iter.Seq[A]) {
	var cur C
	have := false
	for a := range in {
		if !have {
			cur, have = w.New(), true
		}
		if w.Add(cur, a) == w.ChunkSize {
			if !w.submit(cur) {
				return
			}
			have = false
		}
	}
	if have && !w.submit(cur) {
		return
	}
	for w.pending.Len() > 0 {
		if !w.drainOne() {
			return
		}
	}
}

// Pop takes the oldest chunk still submitted and not drained, for the
// caller to cancel what a stopped Map left behind.
func (w *Ordered[A, C]) Pop() (C, bool) { return w.pending.Pop() }

// submit makes room in the window, draining the oldest chunks, and then
// submits c. It returns false when the Map must end.
func (w *Ordered[A, C]) submit(c C) bool {
	for w.pending.Len() >= w.BufferSize {
		if !w.drainOne() {
			return false
		}
	}
	if err := w.Submit(c); err != nil {
		// Results submitted earlier come first, then the refusal.
		for w.pending.Len() > 0 {
			if !w.drainOne() {
				return false
			}
		}
		w.Refused(err)
		return false
	}
	w.pending.Push(c)
	return true
}

func (w *Ordered[A, C]) drainOne() bool {
	c, _ := w.pending.Pop()
	return w.Drain(c)
}

package aio

// queueOrder is how a LifoQueue or a PriorityQueue keeps its items: the
// hooks over Queue that CPython's subclasses override (_put and _get).
// Queue counts the items, bounds them and runs the waits; a hook only
// stores and hands out. A FIFO Queue has no hooks: its ring is inline.
type queueOrder[T any] interface {
	name() string
	// put stores v.
	put(v T)
	// take removes and returns the next item; there is one.
	take() T
	// clear drops every item.
	clear()
}

// lifoOrder is a LifoQueue's stack.
type lifoOrder[T any] struct{ items []T }

func (s *lifoOrder[T]) name() string { return "LifoQueue" }
func (s *lifoOrder[T]) put(v T)      { s.items = append(s.items, v) }
func (s *lifoOrder[T]) clear()       { s.items = nil }

func (s *lifoOrder[T]) take() T {
	var zero T
	last := len(s.items) - 1
	v := s.items[last]
	s.items[last] = zero
	s.items = s.items[:last]
	if cap(s.items) > 64 && last < cap(s.items)/4 {
		// Give memory back after a burst, as the FIFO ring does.
		s.items = append(make([]T, 0, cap(s.items)/2), s.items...)
	}
	return v
}

// prioItem is an item of a PriorityQueue with its arrival number, which
// makes equal priorities come out first in, first out.
type prioItem[T any] struct {
	v   T
	seq uint64
}

// prioOrder is a PriorityQueue's binary heap, ordered by (cmp, seq).
type prioOrder[T any] struct {
	heap []prioItem[T]
	cmp  func(a, b T) int
	seq  uint64
}

func (h *prioOrder[T]) name() string { return "PriorityQueue" }
func (h *prioOrder[T]) clear()       { h.heap = nil }

func (h *prioOrder[T]) put(v T) {
	h.seq++
	h.heap = append(h.heap, prioItem[T]{v: v, seq: h.seq})
	h.up(len(h.heap) - 1)
}

func (h *prioOrder[T]) take() T {
	items := h.heap
	v := items[0].v
	last := len(items) - 1
	items[0] = items[last]
	items[last] = prioItem[T]{}
	h.heap = items[:last]
	if last > 0 {
		h.down(0)
	}
	return v
}

func (h *prioOrder[T]) less(i, j int) bool {
	a, b := &h.heap[i], &h.heap[j]
	if c := h.cmp(a.v, b.v); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

func (h *prioOrder[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.heap[i], h.heap[p] = h.heap[p], h.heap[i]
		i = p
	}
}

func (h *prioOrder[T]) down(i int) {
	n := len(h.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.heap[i], h.heap[c] = h.heap[c], h.heap[i]
		i = c
	}
}

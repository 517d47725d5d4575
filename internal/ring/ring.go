// Package ring is a FIFO queue on a growable power-of-two circular buffer,
// shared by braid's executors and by aio (its loop's ready queue and
// Queue's items). It is not safe for concurrent use.
package ring

// Ring is a FIFO queue; the zero value is empty and ready.
type Ring[T any] struct {
	buf  []T
	head int
	n    int
}

// Len returns the number of elements.
func (r *Ring[T]) Len() int { return r.n }

// Push appends v.
func (r *Ring[T]) Push(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

// PushFront puts v before every other element.
func (r *Ring[T]) PushFront(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head = (r.head - 1) & (len(r.buf) - 1)
	r.buf[r.head] = v
	r.n++
}

// Pop removes and returns the first element, or false if there is none.
func (r *Ring[T]) Pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero // let it be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v, true
}

// Peek returns the first element without removing it, or false if there
// is none.
func (r *Ring[T]) Peek() (T, bool) {
	if r.n == 0 {
		var zero T
		return zero, false
	}
	return r.buf[r.head], true
}

// Drain removes and returns every element in FIFO order.
func (r *Ring[T]) Drain() []T {
	out := make([]T, 0, r.n)
	for {
		v, ok := r.Pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// Shrink halves the buffer when it is larger than 64 elements and at
// most a quarter of it is in use, so that the memory of a burst goes
// back; a queue calls it after Pop.
func (r *Ring[T]) Shrink() {
	if len(r.buf) > 64 && r.n < len(r.buf)/4 {
		r.resize(len(r.buf) / 2)
	}
}

func (r *Ring[T]) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 16
	}
	r.resize(size)
}

// resize moves the elements to a buffer of size slots (a power of two
// >= Len).
func (r *Ring[T]) resize(size int) {
	buf := make([]T, size)
	if r.n > 0 {
		m := copy(buf, r.buf[r.head:min(r.head+r.n, len(r.buf))])
		copy(buf[m:r.n], r.buf[:r.n-m])
	}
	r.buf, r.head = buf, 0
}

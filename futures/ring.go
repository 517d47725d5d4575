package futures

// ring is an unbounded FIFO queue on a power-of-two circular buffer.
// Not safe for concurrent use; the pool guards it with its mutex.
type ring[T any] struct {
	buf  []T
	head int
	n    int
}

func (r *ring[T]) len() int { return r.n }

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = v
	r.n++
}

func (r *ring[T]) pop() (T, bool) {
	var zero T
	if r.n == 0 {
		return zero, false
	}
	v := r.buf[r.head]
	r.buf[r.head] = zero // let the job be collected
	r.head = (r.head + 1) & (len(r.buf) - 1)
	r.n--
	return v, true
}

// drain removes and returns every element in FIFO order.
func (r *ring[T]) drain() []T {
	out := make([]T, 0, r.n)
	for {
		v, ok := r.pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func (r *ring[T]) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 16
	}
	buf := make([]T, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.buf[(r.head+i)&(len(r.buf)-1)]
	}
	r.buf, r.head = buf, 0
}

package window

import (
	"errors"
	"slices"
	"testing"
)

type chunk struct{ items []int }

// run drives an Ordered over 0..n-1 and records what happens: the chunks
// submitted, the most pending at once, what was drained, the refusal.
func run(t *testing.T, n, size, buffer int, refuseAt int, stopAt int) (drained []int, maxPending, left int, refused error) {
	t.Helper()
	pending := 0
	submitted := 0
	w := Ordered[*chunk]{
		BufferSize: buffer,
		Submit: func(c *chunk) error {
			if submitted == refuseAt {
				return errors.New("refused")
			}
			submitted++
			pending++
			maxPending = max(maxPending, pending)
			return nil
		},
		Drain: func(c *chunk) bool {
			pending--
			for _, v := range c.items {
				if v == stopAt {
					return false
				}
				drained = append(drained, v)
			}
			return true
		},
		Refused: func(err error) { refused = err },
	}
	func() {
		var cur *chunk
		for _, a := range seq(n) {
			if cur == nil {
				cur = &chunk{}
			}
			cur.items = append(cur.items, a)
			if len(cur.items) == size {
				if !w.Add(cur) {
					return
				}
				cur = nil
			}
		}
		if cur != nil && !w.Add(cur) {
			return
		}
		w.Finish()
	}()
	for {
		if _, ok := w.Pop(); !ok {
			break
		}
		left++
	}
	return drained, maxPending, left, refused
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestOrderedYieldsInOrderWithinTheBound(t *testing.T) {
	for _, tc := range []struct{ n, size, buffer int }{{0, 1, 1}, {1, 1, 1}, {10, 1, 2}, {10, 3, 2}, {100, 7, 4}} {
		drained, maxPending, left, refused := run(t, tc.n, tc.size, tc.buffer, -1, -1)
		if !slices.Equal(drained, seq(tc.n)) || refused != nil || left != 0 {
			t.Errorf("%+v: drained %v, refused %v, left %d", tc, drained, refused, left)
		}
		if maxPending > tc.buffer {
			t.Errorf("%+v: %d chunks pending at once, bound %d", tc, maxPending, tc.buffer)
		}
	}
}

func TestOrderedRefusalComesAfterEarlierResults(t *testing.T) {
	drained, _, left, refused := run(t, 10, 2, 3, 2, -1) // the third chunk (items 4, 5) is refused
	if !slices.Equal(drained, []int{0, 1, 2, 3}) || refused == nil || left != 0 {
		t.Fatalf("drained %v, refused %v, left %d", drained, refused, left)
	}
}

func TestOrderedStopLeavesPendingChunks(t *testing.T) {
	drained, _, left, refused := run(t, 20, 2, 4, -1, 3) // stop while draining the second chunk
	if !slices.Equal(drained, []int{0, 1, 2}) || refused != nil || left != 3 {
		t.Fatalf("drained %v, refused %v, left %d (want 3: chunks 2, 3 and 4 submitted, not drained)", drained, refused, left)
	}
}

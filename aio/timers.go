package aio

import "time"

// Timer is a callback scheduled by CallLater or CallAt. Its methods belong
// to the loop's goroutine.
type Timer struct {
	loop      *Loop
	fn        func()
	task      *taskCore // a task to wake instead of fn (Sleep)
	when      int64     // loop time, ns
	cancelled bool
	fired     bool
}

// Cancel stops the timer if it has not fired. It reports whether it
// stopped it. Cancelling costs O(1): the entry is dropped from the
// schedule when it comes due or when cancelled timers dominate it.
func (t *Timer) Cancel() bool {
	if t.cancelled || t.fired {
		return false
	}
	t.cancelled = true
	t.fn = nil
	t.loop.timers.cancelled++
	t.loop.timers.maybeCompact()
	return true
}

// When returns the time at which the timer fires, on the loop's clock.
func (t *Timer) When() time.Time { return t.loop.epoch.Add(time.Duration(t.when)) }

// Cancelled reports whether Cancel stopped the timer.
func (t *Timer) Cancelled() bool { return t.cancelled }

// timerSlot keeps the sort key beside the pointer so that sifting reads
// one cache line instead of chasing pointers.
type timerSlot struct {
	when int64
	seq  uint64
	t    *Timer
}

// timerHeap is a 4-ary min-heap ordered by (when, seq): timers due at the
// same instant fire in the order they were scheduled.
type timerHeap struct {
	s         []timerSlot
	seq       uint64
	cancelled int
}

const (
	// Compact when more than half the entries are cancelled and there are
	// enough of them for the rebuild to pay (the fractions asyncio uses).
	minTimersToCompact = 100
)

func less(a, b *timerSlot) bool {
	return a.when < b.when || (a.when == b.when && a.seq < b.seq)
}

func (h *timerHeap) len() int { return len(h.s) }

func (h *timerHeap) push(t *Timer) {
	h.seq++
	h.s = append(h.s, timerSlot{when: t.when, seq: h.seq, t: t})
	h.up(len(h.s) - 1)
}

func (h *timerHeap) up(i int) {
	s := h.s
	x := s[i]
	for i > 0 {
		p := (i - 1) / 4
		if !less(&x, &s[p]) {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = x
}

func (h *timerHeap) down(i int) {
	s := h.s
	n := len(s)
	x := s[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := c + 4
		if end > n {
			end = n
		}
		for j := c + 1; j < end; j++ {
			if less(&s[j], &s[m]) {
				m = j
			}
		}
		if !less(&s[m], &x) {
			break
		}
		s[i] = s[m]
		i = m
	}
	s[i] = x
}

// peek returns the earliest live timer, dropping cancelled ones from the
// top, or nil.
func (h *timerHeap) peek() *Timer {
	for len(h.s) > 0 {
		t := h.s[0].t
		if !t.cancelled {
			return t
		}
		h.pop()
		h.cancelled--
	}
	return nil
}

func (h *timerHeap) pop() *Timer {
	s := h.s
	t := s[0].t
	n := len(s) - 1
	s[0] = s[n]
	s[n] = timerSlot{}
	h.s = s[:n]
	if n > 0 {
		h.down(0)
	}
	return t
}

func (h *timerHeap) maybeCompact() {
	if h.cancelled < minTimersToCompact || h.cancelled*2 < len(h.s) {
		return
	}
	live := h.s[:0]
	for _, sl := range h.s {
		if !sl.t.cancelled {
			live = append(live, sl)
		}
	}
	for i := len(live); i < len(h.s); i++ {
		h.s[i] = timerSlot{}
	}
	h.s = live
	h.cancelled = 0
	for i := (len(h.s) - 2) / 4; i >= 0; i-- {
		h.down(i)
	}
	if cap(h.s) > 1024 && len(h.s) < cap(h.s)/4 {
		h.s = append([]timerSlot(nil), h.s...)
	}
}

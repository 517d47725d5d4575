package aio

import "time"

// Timer is a callback scheduled by CallLater or CallAt. Its methods belong
// to the loop's goroutine.
type Timer struct {
	loop      *Loop
	fn        func()
	when      int64 // loop time, ns
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
// one cache line instead of chasing pointers. A slot holds either a
// Timer or a task's own timer (Sleep and the timeouts of Wait and
// WaitFor): a task waits on at most one timer at a time, so its timer is
// just the slot's seq recorded in the task, and costs no allocation. A
// task slot whose seq no longer matches the task's is a cancelled one.
type timerSlot struct {
	when int64
	seq  uint64
	t    *Timer
	task *taskCore
}

func (sl *timerSlot) dead() bool {
	if sl.task != nil {
		return sl.task.timerSeq != sl.seq
	}
	return sl.t.cancelled
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

func (h *timerHeap) push(t *Timer) {
	h.seq++
	h.s = append(h.s, timerSlot{when: t.when, seq: h.seq, t: t})
	h.up(len(h.s) - 1)
}

// pushTask schedules task's own timer and returns its seq.
func (h *timerHeap) pushTask(when int64, task *taskCore) uint64 {
	h.seq++
	h.s = append(h.s, timerSlot{when: when, seq: h.seq, task: task})
	h.up(len(h.s) - 1)
	return h.seq
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

// peek returns the earliest live slot, dropping cancelled ones from the
// top, or nil.
func (h *timerHeap) peek() *timerSlot {
	for len(h.s) > 0 {
		if !h.s[0].dead() {
			return &h.s[0]
		}
		h.pop()
		h.cancelled--
	}
	return nil
}

func (h *timerHeap) pop() timerSlot {
	s := h.s
	t := s[0]
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
		if !sl.dead() {
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

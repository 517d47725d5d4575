package ring

import "testing"

// Against a slice model, across growth and wrap-around.
func TestRingMatchesSliceModel(t *testing.T) {
	var r Ring[int]
	var model []int
	next := 0
	for step := 0; step < 10_000; step++ {
		switch step % 7 {
		case 0, 1, 2:
			r.Push(next)
			model = append(model, next)
			next++
		case 3:
			r.PushFront(-next)
			model = append([]int{-next}, model...)
			next++
		default:
			if pv, pok := r.Peek(); pok != (len(model) > 0) || (pok && pv != model[0]) {
				t.Fatalf("step %d: Peek = %d, %v", step, pv, pok)
			}
			v, ok := r.Pop()
			if ok != (len(model) > 0) {
				t.Fatalf("step %d: Pop ok=%v with %d in the model", step, ok, len(model))
			}
			if ok {
				if v != model[0] {
					t.Fatalf("step %d: Pop = %d, want %d", step, v, model[0])
				}
				model = model[1:]
			}
		}
		if r.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, want %d", step, r.Len(), len(model))
		}
	}
	rest := r.Drain()
	if len(rest) != len(model) || r.Len() != 0 {
		t.Fatalf("Drain returned %d, model has %d", len(rest), len(model))
	}
	for i := range rest {
		if rest[i] != model[i] {
			t.Fatalf("Drain[%d] = %d, want %d", i, rest[i], model[i])
		}
	}
}

// Shrink gives a burst's memory back, a half at a time, keeping the
// elements and their order across a wrapped-around buffer.
func TestRingShrinkKeepsOrder(t *testing.T) {
	var r Ring[int]
	for i := 0; i < 1000; i++ {
		r.Push(i)
	}
	grown := len(r.buf)
	next := 0
	for r.Len() > 10 {
		v, _ := r.Pop()
		if v != next {
			t.Fatalf("popped %d, want %d", v, next)
		}
		next++
		r.Shrink()
	}
	r.Push(1000) // wraps around in the shrunk buffer
	if len(r.buf) >= grown/4 || len(r.buf) < r.Len() {
		t.Fatalf("buffer of %d slots for %d elements after the burst (grew to %d)", len(r.buf), r.Len(), grown)
	}
	for want := next; r.Len() > 0; want++ {
		v, _ := r.Pop()
		if v != want {
			t.Fatalf("after shrinking popped %d, want %d", v, want)
		}
	}
	var small Ring[int]
	for i := 0; i < 40; i++ {
		small.Push(i)
	}
	small.Shrink()
	if len(small.buf) != 64 {
		t.Fatalf("a buffer of 64 slots or fewer is kept: got %d", len(small.buf))
	}
}

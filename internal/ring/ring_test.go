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

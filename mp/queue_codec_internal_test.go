//go:build linux

package mp

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// roundTrip puts each value through a queue of T (with a ring small
// enough that records wrap around its end) and checks that Get returns
// it unchanged.
func roundTrip[T any](t *testing.T, want codecKindWant, vals ...T) {
	t.Helper()
	q, err := NewQueue[T](0, QueueBytes(64))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.codec != itemCodec(want) {
		t.Fatalf("%s: codec %d, want %d", reflect.TypeFor[T](), q.codec, want)
	}
	for round := 0; round < 7; round++ { // shifts the records across the wrap
		for _, v := range vals {
			if err := q.PutNowait(v); err != nil {
				t.Fatalf("%s: Put(%v): %v", reflect.TypeFor[T](), v, err)
			}
			got, err := q.GetNowait()
			if err != nil {
				t.Fatalf("%s: Get after Put(%v): %v", reflect.TypeFor[T](), v, err)
			}
			if !reflect.DeepEqual(got, v) && !(isNaN(v) && isNaN(got)) {
				t.Fatalf("%s: put %#v, got %#v", reflect.TypeFor[T](), v, got)
			}
		}
	}
}

type codecKindWant = itemCodec

func isNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case float32:
		return math.IsNaN(float64(x))
	}
	return false
}

type celsius float64

// The fast codecs return every value of their types as it was put,
// across the ring's wrap; other types take the generic codec.
func TestQueueFastCodecs(t *testing.T) {
	roundTrip(t, codecInt, 0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64)
	roundTrip(t, codecInt, int8(math.MaxInt8), int8(math.MinInt8), int8(0))
	roundTrip(t, codecInt, int16(math.MaxInt16), int16(math.MinInt16))
	roundTrip(t, codecInt, int32(math.MaxInt32), int32(math.MinInt32))
	roundTrip(t, codecUint, uint64(math.MaxUint64), uint64(0), uint64(1<<32))
	roundTrip(t, codecUint, uint8(255), uint8(0))
	roundTrip(t, codecUint, uint(math.MaxUint), uint(7))
	roundTrip(t, codecFloat64, 0.0, -1.5, math.Inf(1), math.Inf(-1), math.NaN(), math.MaxFloat64, math.SmallestNonzeroFloat64)
	roundTrip(t, codecFloat32, float32(1.25), float32(math.Inf(-1)), float32(math.NaN()))
	roundTrip(t, codecBool, true, false)
	roundTrip(t, codecString, "", "a", strings.Repeat("é", 20), "\xff\xfe not UTF-8")
	roundTrip(t, codecRaw, []byte(nil), []byte{}, []byte("abc"), []byte(strings.Repeat("x", 40)))
	roundTrip(t, codecGeneric, celsius(21.5), celsius(-3))
	roundTrip(t, codecGeneric, [2]int{1, -2})
	roundTrip[any](t, codecGeneric, "s", uint64(5), true)
}

// reopen returns a handle of q's queue with items of type U.
func reopen[U, T any](t *testing.T, q *Queue[T]) *Queue[U] {
	t.Helper()
	b, err := q.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	u := &Queue[U]{}
	if err := u.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return u
}

// The fast codecs write the generic codec's CBOR: handles of other item
// types read their items, and they read the generic codec's, with the
// generic decoder's errors for what does not fit.
func TestQueueFastCodecsMatchCBOR(t *testing.T) {
	qi, err := NewQueue[int](0)
	if err != nil {
		t.Fatal(err)
	}
	defer qi.Close()
	qa := reopen[any](t, qi)
	defer qa.Close()
	q8 := reopen[int8](t, qi)
	defer q8.Close()
	qs := reopen[string](t, qi)
	defer qs.Close()

	for _, v := range []int{-1000000, 7, math.MaxInt64} {
		qi.PutNowait(v)
		got, err := qa.GetNowait()
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := decodeAny(t, v); !reflect.DeepEqual(got, want) {
			t.Fatalf("Queue[any] got %#v (%T) for the int %d, want %#v", got, got, v, want)
		}
	}
	for _, v := range []any{int64(-5), uint8(100), "x", 2.5} {
		qa.PutNowait(v)
	}
	if got, err := qi.GetNowait(); err != nil || got != -5 {
		t.Fatalf("Queue[int] got %d, %v for the generic -5", got, err)
	}
	if got, err := q8.GetNowait(); err != nil || got != 100 {
		t.Fatalf("Queue[int8] got %d, %v for the generic 100", got, err)
	}
	if got, err := qs.GetNowait(); err != nil || got != "x" {
		t.Fatalf("Queue[string] got %q, %v for the generic \"x\"", got, err)
	}
	if got, err := qi.GetNowait(); err == nil {
		t.Fatalf("Queue[int] decoded the float 2.5 as %d, want an error", got)
	}
	qi.PutNowait(300)
	if got, err := q8.GetNowait(); err == nil {
		t.Fatalf("Queue[int8] decoded 300 as %d, want an overflow error", got)
	}
	if n := qi.Len(); n != 0 {
		t.Fatalf("Len = %d after every item was taken", n)
	}
}

// decodeAny is what the generic codec makes of v in an any.
func decodeAny(t *testing.T, v int) (any, error) {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	err = decMode.Unmarshal(b, &out)
	return out, err
}

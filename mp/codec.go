package mp

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"runtime"

	"github.com/fxamacker/cbor/v2"
)

// Arguments and results cross the process boundary in CBOR (RFC 8949),
// encoded and decoded by github.com/fxamacker/cbor/v2. Decoding is bounded:
// a frame is at most the pool's MaxFrameBytes, and inside it CBOR arrays,
// maps and nesting are limited below, so a malformed or hostile frame is an
// error, never a crash or an allocation of gigabytes.
//
// A []byte argument or result (the exact type, not a named one) skips CBOR:
// it travels as one marker byte and the raw bytes, and a large one is
// decoded without a copy.

const (
	// MaxArrayElements is the largest CBOR array (a slice or array) that a
	// decoder accepts.
	MaxArrayElements = 1 << 24
	// MaxMapPairs is the largest CBOR map (a Go map or struct) that a
	// decoder accepts.
	MaxMapPairs = 1 << 22
	// MaxNestedLevels is the deepest nesting of arrays and maps that a
	// decoder accepts.
	MaxNestedLevels = 64
)

var (
	encMode cbor.UserBufferEncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{
		// Keep nanoseconds and the zone offset of time.Time values.
		Time: cbor.TimeRFC3339Nano,
	}.UserBufferEncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  MaxNestedLevels,
		MaxArrayElements: MaxArrayElements,
		MaxMapPairs:      MaxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden,
		// A Go string is bytes: one that is not valid UTF-8 arrives byte
		// for byte rather than failing the call (the encoder writes it
		// as it is).
		UTF8: cbor.UTF8DecodeInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

var bytesType = reflect.TypeOf([]byte(nil))

// Marker bytes of the raw []byte encoding.
const (
	rawNil  = 0
	rawData = 1
)

// isRaw reports whether values of type T use the raw []byte encoding.
func isRaw[T any]() bool { return reflect.TypeFor[T]() == bytesType }

// encodeValue returns the encoding of v in a new slice.
func encodeValue[T any](raw bool, v T) ([]byte, error) {
	if raw {
		b := any(v).([]byte)
		if b == nil {
			return []byte{rawNil}, nil
		}
		out := make([]byte, 1+len(b))
		out[0] = rawData
		chunkedCopy(out[1:], b)
		return out, nil
	}
	return encMode.Marshal(v)
}

// appendValue appends the encoding of *v to out (a pointer, so that the
// value is not boxed). For a raw value it appends only the marker and
// returns the bytes as tail, to be written after out without a copy.
func appendValue[T any](out *bytes.Buffer, raw bool, v *T) (tail []byte, err error) {
	if raw {
		b := *any(v).(*[]byte)
		if b == nil {
			out.WriteByte(rawNil)
			return nil, nil
		}
		out.WriteByte(rawData)
		return b, nil
	}
	return nil, encMode.MarshalToBuffer(v, out)
}

// decodeValue decodes data into v. owned says that data belongs to the
// caller for good, so a raw []byte may alias it instead of copying.
func decodeValue[T any](raw bool, data []byte, owned bool, v *T) error {
	if raw {
		p := any(v).(*[]byte)
		if len(data) == 0 {
			return errors.New("empty raw []byte encoding")
		}
		switch data[0] {
		case rawNil:
			*p = nil
		case rawData:
			if owned {
				*p = data[1:len(data):len(data)]
			} else {
				*p = make([]byte, len(data)-1)
				chunkedCopy(*p, data[1:])
			}
		default:
			return fmt.Errorf("bad raw []byte marker %#x", data[0])
		}
		return nil
	}
	return decMode.Unmarshal(data, v)
}

// chunkedCopy copies src to dst in pieces with a yield between them: one
// copy of megabytes cannot be preempted (memmove has no safe point), and a
// garbage collection that starts meanwhile would spin and signal until it
// ends.
func chunkedCopy(dst, src []byte) {
	const piece = 256 << 10
	for len(src) > piece {
		copy(dst[:piece], src[:piece])
		dst, src = dst[piece:], src[piece:]
		runtime.Gosched()
	}
	copy(dst, src)
}

var (
	cborMarshaler     = reflect.TypeFor[cbor.Marshaler]()
	cborUnmarshaler   = reflect.TypeFor[cbor.Unmarshaler]()
	binaryMarshaler   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	bigIntType        = reflect.TypeFor[big.Int]()
)

// checkType returns an error if values of type t can never be encoded (a
// func, a channel, an unsafe.Pointer or a complex number anywhere in it),
// or would lose data on the way: a struct with an unexported field, which
// the codec cannot see, so that it would arrive zeroed (see Register).
// Interfaces are not followed: their dynamic type is known only at submit
// time.
func checkType(t reflect.Type) error {
	return checkTypeSeen(t, map[reflect.Type]bool{})
}

// implementsPair reports whether values of t can be encoded through the
// marshaler interface m and decoded through the unmarshaler interface u
// (on t or *t), and, when only the encoding side is there, says so.
func implementsPair(t, m, u reflect.Type) (ok bool, half error) {
	if !t.Implements(m) && !reflect.PointerTo(t).Implements(m) {
		return false, nil
	}
	if reflect.PointerTo(t).Implements(u) || (t.Kind() == reflect.Pointer && t.Implements(u)) {
		return true, nil
	}
	return false, fmt.Errorf("type %s implements %s but *%s does not implement %s: its values could be sent but not received", t, m, t, u)
}

func checkTypeSeen(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	// Types the codec encodes through their own methods, or natively.
	if t == bigIntType {
		return nil
	}
	var half error
	for _, pair := range [...][2]reflect.Type{{cborMarshaler, cborUnmarshaler}, {binaryMarshaler, binaryUnmarshaler}} {
		ok, h := implementsPair(t, pair[0], pair[1])
		if ok {
			return nil
		}
		if half == nil {
			half = h
		}
	}
	if half != nil {
		return half
	}
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("type %s cannot cross a process boundary", t)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		if err := checkTypeSeen(t.Elem(), seen); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	case reflect.Map:
		if err := checkTypeSeen(t.Key(), seen); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		if err := checkTypeSeen(t.Elem(), seen); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag := f.Tag.Get("cbor"); tag == "-" {
				continue
			}
			if tag, ok := f.Tag.Lookup("json"); ok && tag == "-" && f.Tag.Get("cbor") == "" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			// An embedded struct's exported fields are promoted and
			// encoded: checked below. Any other unexported field is
			// invisible to the codec; "_" and zero-size fields hold
			// nothing.
			if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) && f.Name != "_" && f.Type.Size() != 0 {
				return fmt.Errorf("type %s has the unexported field %s (%s), which cannot cross a process boundary: it would arrive zeroed. Export the field, tag it `cbor:\"-\"` to leave it out on purpose, or give %s MarshalBinary and UnmarshalBinary methods (encoding.BinaryMarshaler, encoding.BinaryUnmarshaler on *%s) that carry it", t, f.Name, f.Type, t, t)
			}
			if err := checkTypeSeen(f.Type, seen); err != nil {
				return fmt.Errorf("%s.%s: %w", t, f.Name, err)
			}
		}
	}
	return nil
}

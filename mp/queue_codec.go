package mp

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"unsafe"
)

// A queue item of a predeclared scalar type, a string or a []byte skips
// the generic codec: its encoding is written straight into the ring and
// read straight out of it, with no reflection, no intermediate buffer and
// no allocation but the received string or []byte. The bytes are the
// same CBOR the generic codec writes (a []byte keeps the raw marker
// encoding), and a record this path does not recognise is handed to the
// generic decoder, so handles of other item types read each other's
// items as before.

// itemCodec says how a queue's items are encoded.
type itemCodec uint8

const (
	codecGeneric itemCodec = iota
	codecRaw               // []byte: marker byte and the bytes
	codecString            // CBOR text string
	codecBool
	codecInt // CBOR major type 0 or 1, stored in size bytes
	codecUint
	codecFloat32
	codecFloat64
)

// codecOf returns the codec of T and the size of its values.
func codecOf[T any]() (itemCodec, uintptr) {
	t := reflect.TypeFor[T]()
	if t == bytesType {
		return codecRaw, 0
	}
	// Only the predeclared types: a named type may have methods of its
	// own that the generic codec calls.
	if t.PkgPath() != "" || t.Name() != t.Kind().String() {
		return codecGeneric, 0
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return codecInt, t.Size()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return codecUint, t.Size()
	case reflect.Float32:
		return codecFloat32, 4
	case reflect.Float64:
		return codecFloat64, 8
	case reflect.String:
		return codecString, 0
	case reflect.Bool:
		return codecBool, 1
	}
	return codecGeneric, 0
}

// recHdr is the size of a record's header in the ring: the payload's
// length and the item's sequence number (low 32 bits), both uint32.
const recHdr = 8

// encItem is an encoded item: pre (the record header and, for the fast
// codecs, the whole encoding or its head) followed by body.
type encItem struct {
	pre  [recHdr + 9]byte
	npre int
	body []byte
	buf  *bytes.Buffer // the generic codec's buffer, returned to the pool after
}

func (e *encItem) payload() int { return e.npre - recHdr + len(e.body) }

// cborHead writes a CBOR head of major type major and argument n at b,
// in its shortest form, and returns its length.
func cborHead(b []byte, major byte, n uint64) int {
	m := major << 5
	switch {
	case n < 24:
		b[0] = m | byte(n)
		return 1
	case n <= math.MaxUint8:
		b[0], b[1] = m|24, byte(n)
		return 2
	case n <= math.MaxUint16:
		b[0] = m | 25
		binary.BigEndian.PutUint16(b[1:], uint16(n))
		return 3
	case n <= math.MaxUint32:
		b[0] = m | 26
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		return 5
	}
	b[0] = m | 27
	binary.BigEndian.PutUint64(b[1:], n)
	return 9
}

// parseHead returns the major type, argument and length of the CBOR head
// at the start of b; ok false if it is not a definite-length head.
func parseHead(b []byte) (major byte, n uint64, hl int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	major, ai := b[0]>>5, b[0]&31
	switch {
	case ai < 24:
		return major, uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return major, uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return major, uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case ai == 26 && len(b) >= 5:
		return major, uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case ai == 27 && len(b) >= 9:
		return major, binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, 0, false
}

// loadSigned and storeSigned read and write a signed integer of size
// bytes at p; loadUnsigned and storeUnsigned an unsigned one.
func loadSigned(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func storeSigned(p unsafe.Pointer, size uintptr, x int64) {
	switch size {
	case 1:
		*(*int8)(p) = int8(x)
	case 2:
		*(*int16)(p) = int16(x)
	case 4:
		*(*int32)(p) = int32(x)
	default:
		*(*int64)(p) = x
	}
}

func loadUnsigned(p unsafe.Pointer, size uintptr) uint64 {
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func storeUnsigned(p unsafe.Pointer, size uintptr, x uint64) {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(x)
	case 2:
		*(*uint16)(p) = uint16(x)
	case 4:
		*(*uint32)(p) = uint32(x)
	default:
		*(*uint64)(p) = x
	}
}

// encodeFast encodes *v (at p) with codec c into e; false for the
// generic codec.
func encodeFast(c itemCodec, size uintptr, p unsafe.Pointer, e *encItem) bool {
	b := e.pre[recHdr:]
	switch c {
	case codecRaw:
		s := *(*[]byte)(p)
		if s == nil {
			b[0] = rawNil
		} else {
			b[0], e.body = rawData, s
		}
		e.npre = recHdr + 1
	case codecString:
		s := *(*string)(p)
		e.npre = recHdr + cborHead(b, 3, uint64(len(s)))
		e.body = unsafe.Slice(unsafe.StringData(s), len(s))
	case codecBool:
		b[0] = 0xf4
		if *(*bool)(p) {
			b[0] = 0xf5
		}
		e.npre = recHdr + 1
	case codecInt:
		x := loadSigned(p, size)
		if x >= 0 {
			e.npre = recHdr + cborHead(b, 0, uint64(x))
		} else {
			e.npre = recHdr + cborHead(b, 1, uint64(-1-x))
		}
	case codecUint:
		e.npre = recHdr + cborHead(b, 0, loadUnsigned(p, size))
	case codecFloat32:
		b[0] = 0xfa
		binary.BigEndian.PutUint32(b[1:], math.Float32bits(*(*float32)(p)))
		e.npre = recHdr + 5
	case codecFloat64:
		b[0] = 0xfb
		binary.BigEndian.PutUint64(b[1:], math.Float64bits(*(*float64)(p)))
		e.npre = recHdr + 9
	default:
		return false
	}
	return true
}

// decodeFast decodes a payload of n bytes at pos in ring into *v (at p)
// with codec c; false if the record is not in the form this codec
// writes (the caller then uses the generic decoder).
func decodeFast(c itemCodec, size uintptr, ring []byte, pos, n uint64, p unsafe.Pointer) bool {
	var b [9]byte
	h := b[:min(n, 9)]
	readRing(ring, pos, h)
	switch c {
	case codecRaw:
		switch {
		case n == 1 && h[0] == rawNil:
			*(*[]byte)(p) = nil
		case h[0] == rawData:
			// Into the array the destination has, if it is enough
			// (GetInto); else into a new one.
			d := *(*[]byte)(p)
			if d != nil && uint64(cap(d)) >= n-1 {
				d = d[:n-1]
				readRing(ring, pos+1, d)
			} else {
				d = cloneRing(ring, pos+1, n-1)
			}
			*(*[]byte)(p) = d
		default:
			return false
		}
		return true
	case codecString:
		major, l, hl, ok := parseHead(h)
		if !ok || (major != 3 && major != 2) || uint64(hl)+l != n {
			return false
		}
		if l == 0 {
			*(*string)(p) = ""
			return true
		}
		s := cloneRing(ring, pos+uint64(hl), l)
		*(*string)(p) = unsafe.String(&s[0], len(s))
		return true
	case codecBool:
		if n != 1 || (h[0] != 0xf4 && h[0] != 0xf5) {
			return false
		}
		*(*bool)(p) = h[0] == 0xf5
		return true
	case codecFloat32:
		if n != 5 || h[0] != 0xfa {
			return false
		}
		*(*float32)(p) = math.Float32frombits(binary.BigEndian.Uint32(h[1:]))
		return true
	case codecFloat64:
		if n != 9 || h[0] != 0xfb {
			return false
		}
		*(*float64)(p) = math.Float64frombits(binary.BigEndian.Uint64(h[1:]))
		return true
	}
	major, x, hl, ok := parseHead(h)
	if !ok || uint64(hl) != n {
		return false
	}
	bits := 8 * size
	switch {
	case c == codecInt && (major == 0 || major == 1) && x <= uint64(1)<<(bits-1)-1:
		if major == 0 {
			storeSigned(p, size, int64(x))
		} else {
			storeSigned(p, size, -1-int64(x))
		}
		return true
	case c == codecUint && major == 0 && (bits == 64 || x < uint64(1)<<bits):
		storeUnsigned(p, size, x)
		return true
	}
	return false
}

// writeRing and readRing copy b to or from the ring at stream position
// pos, wrapping at its end.
func writeRing(ring []byte, pos uint64, b []byte) {
	i := int(pos % uint64(len(ring)))
	n := copy(ring[i:], b)
	copy(ring, b[n:])
}

// cloneRing returns a copy of the n bytes at stream position pos.
func cloneRing(ring []byte, pos, n uint64) []byte {
	i := pos % uint64(len(ring))
	if i+n <= uint64(len(ring)) {
		// make and copy of the same length: the runtime skips zeroing.
		src := ring[i : i+n]
		b := make([]byte, len(src))
		copy(b, src)
		return b
	}
	b := make([]byte, n)
	readRing(ring, pos, b)
	return b
}

func readRing(ring []byte, pos uint64, b []byte) {
	i := int(pos % uint64(len(ring)))
	n := copy(b, ring[i:])
	copy(b[n:], ring)
}

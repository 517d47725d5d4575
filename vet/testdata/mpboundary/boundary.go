// Package mpboundary holds the cases of mpboundary.
package mpboundary

import (
	"context"
	"io"
	"math/big"
	"time"
	"unsafe"

	"github.com/braid-go/braid/mp"
)

type Plain struct {
	Name  string
	Items []int
	When  time.Time // unexported fields, but a BinaryMarshaler: fine
	skip  int       `cbor:"-"`
	_     [0]func() // a marker, no data
}

type Hidden struct {
	Name  string
	count int
}

type Nested struct {
	Inner []map[string]*Hidden
}

type Self struct{ n int }

func (s Self) MarshalBinary() ([]byte, error) { return []byte{byte(s.n)}, nil }

type WithChan struct {
	Done chan struct{}
}

var (
	Good    = mp.Register("good", func(ctx context.Context, p Plain) (map[string][]float64, error) { return nil, nil })
	Bytes   = mp.Register("bytes", func(ctx context.Context, b []byte) ([]byte, error) { return b, nil })
	Any     = mp.Register("any", func(ctx context.Context, v any) (Self, error) { return Self{}, nil })
	Chan    = mp.Register("chan", func(ctx context.Context, c chan int) (int, error) { return 0, nil })      // want `mp.Register\("chan"\): the argument type cannot cross a process boundary: chan int is a channel`
	Fn      = mp.Register("fn", func(ctx context.Context, x int) (func() int, error) { return nil, nil })    // want `the result type cannot cross a process boundary: func\(\) int is a function`
	Ptr     = mp.Register("ptr", func(ctx context.Context, p unsafe.Pointer) (int, error) { return 0, nil }) // want `unsafe.Pointer is an unsafe.Pointer`
	Iface   = mp.Register("iface", func(ctx context.Context, r io.Reader) (int, error) { return 0, nil })    // want `io.Reader is the interface io.Reader, which the codec cannot decode into`
	Hid     = mp.Register("hidden", func(ctx context.Context, h Hidden) (int, error) { return 0, nil })      // want `Hidden \(Hidden\) has the unexported field count`
	Deep    = mp.Register("deep", func(ctx context.Context, x int) (Nested, error) { return Nested{}, nil }) // want `Nested.Inner\[i\]\[k\] \(Hidden\) has the unexported field count`
	Field   = mp.Register("field", func(ctx context.Context, w WithChan) (int, error) { return 0, nil })     // want `WithChan.Done is a channel`
	Complex = mp.Register("complex", func(ctx context.Context, c complex128) (int, error) { return 0, nil }) // want `complex128 is a complex number`
)

func square(ctx context.Context, x int) (int, error) { return x * x, nil }

var Named = mp.Register("square", square)

// A big.Int has unexported fields, but the codec encodes it as a CBOR bignum.
var Big = mp.Register("big", func(ctx context.Context, x *big.Int) (*big.Int, error) { return x, nil })

// Command good13_binary_marshaler: a type with unexported fields that encodes itself.
package main

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/braid-go/braid/mp"
)

type Point struct{ x, y int32 }

func (p Point) MarshalBinary() ([]byte, error) {
	b := binary.LittleEndian.AppendUint32(nil, uint32(p.x))
	return binary.LittleEndian.AppendUint32(b, uint32(p.y)), nil
}

func (p *Point) UnmarshalBinary(b []byte) error {
	if len(b) != 8 {
		return errors.New("point: need 8 bytes")
	}
	p.x, p.y = int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[4:]))
	return nil
}

var Norm = mp.Register("norm", func(ctx context.Context, p Point) (int64, error) {
	return int64(p.x)*int64(p.x) + int64(p.y)*int64(p.y), nil
})

func main() {
	mp.Main()
}

package mp

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name   string
	secret int
}

type withInner struct {
	Items []map[string]*inner
}

type embedsInner struct {
	inner
	N int
}

type binaryOnly struct{ v int }

func (binaryOnly) MarshalBinary() ([]byte, error) { return nil, nil }

type binaryBoth struct{ v int }

func (binaryBoth) MarshalBinary() ([]byte, error) { return nil, nil }
func (*binaryBoth) UnmarshalBinary([]byte) error  { return nil }

type textOnly struct{ v int }

func (textOnly) MarshalText() ([]byte, error) { return nil, nil }
func (*textOnly) UnmarshalText([]byte) error  { return nil }

type optedOut struct {
	X     int
	cache map[string]int `cbor:"-"`
	_     struct{}
	_     int
	lock  struct{}
}

type intAlias int

type embedsUnexportedNonStruct struct {
	intAlias
}

func TestCheckTypeRefusesUnexportedFields(t *testing.T) {
	for _, c := range []struct {
		v    any
		want []string // "" : accepted
	}{
		{struct{ X, y int }{}, []string{"struct { X int; y int }", "unexported field y"}},
		{withInner{}, []string{"mp.inner", "unexported field secret"}},
		{[3]*withInner{}, []string{"mp.inner", "secret"}},
		{map[inner]int{}, []string{"mp.inner", "secret"}},
		{embedsInner{}, []string{"mp.inner", "secret"}},
		{embedsUnexportedNonStruct{}, []string{"intAlias"}},
		{binaryOnly{}, []string{"mp.binaryOnly", "BinaryUnmarshaler"}},
		{textOnly{}, []string{"mp.textOnly", "unexported field v", "MarshalBinary"}},
		{big.Float{}, []string{"big.Float"}},
		{binaryBoth{}, nil},
		{[]binaryBoth{}, nil},
		{optedOut{}, nil},
		{time.Time{}, nil},
		{&big.Int{}, nil},
		{struct{ T time.Time }{}, nil},
	} {
		err := checkType(reflect.TypeOf(c.v))
		if c.want == nil {
			if err != nil {
				t.Errorf("%T refused: %v", c.v, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%T accepted: its unexported fields would arrive zeroed", c.v)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%T: %q does not say %q", c.v, err, w)
			}
		}
	}
}

// The unexported fields above are what the test is about; they are used
// here so that linters see them used.
var _ = []any{inner{}.secret, binaryOnly{}.v, binaryBoth{}.v, textOnly{}.v, optedOut{}.cache, optedOut{}.lock, embedsUnexportedNonStruct{}.intAlias}

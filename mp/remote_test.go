package mp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
)

// A job's payload runs through Invoke in this process, and its error
// survives MarshalBinary / UnmarshalBinary whole.
func TestInvokeAndRemoteErrorBinary(t *testing.T) {
	if !mp.Registered("test.square") || !mp.Registered("test.square#map") || mp.Registered("test.nope") {
		t.Fatal("Registered")
	}
	p, err := mp.Invoke(context.Background(), "test.panic", []byte{0x62, 'h', 'i'}) // CBOR "hi"
	if p != nil {
		t.Fatalf("result %v", p)
	}
	var re *mp.RemoteError
	if !errors.As(err, &re) || !re.Panicked() {
		t.Fatalf("panic: %v", err)
	}
	b, err2 := re.MarshalBinary()
	if err2 != nil {
		t.Fatal(err2)
	}
	var back mp.RemoteError
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	var pe *futures.PanicError
	if !errors.As(&back, &pe) || back.Error() != re.Error() {
		t.Fatalf("decoded: %v", &back)
	}
	_, err = mp.Invoke(context.Background(), "test.nope", nil)
	if !errors.Is(err, mp.ErrUnregistered) {
		t.Fatalf("unknown: %v", err)
	}
	_, err = mp.Invoke(context.Background(), "test.square", []byte{0xff})
	if err == nil {
		t.Fatal("a bad argument decoded")
	}
	out, err := mp.Invoke(context.Background(), "test.square", []byte{0x07})
	if err != nil || len(out) != 2 || out[0] != 0x18 || out[1] != 49 {
		t.Fatalf("square(7): % x, %v", out, err)
	}
	out, err = mp.Invoke(context.Background(), "test.echo", []byte{1, 'a'})
	if err != nil || string(out[1:]) != "a" {
		t.Fatalf("echo: % x, %v", out, err)
	}
}

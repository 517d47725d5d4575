package mp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main()
	goleak.VerifyTestMain(m)
}

var (
	Square = mp.Register("test.square", func(ctx context.Context, x int) (int, error) {
		return x * x, nil
	})
	Inc = mp.Register("test.inc", func(ctx context.Context, x int) (int, error) {
		return x + 1, nil
	})
	Echo = mp.Register("test.echo", func(ctx context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	PID = mp.Register("test.pid", func(ctx context.Context, _ struct{}) (int, error) {
		return os.Getpid(), nil
	})
	Fail = mp.Register("test.fail", func(ctx context.Context, msg string) (int, error) {
		return 0, errors.New(msg)
	})
	Panic = mp.Register("test.panic", func(ctx context.Context, msg string) (int, error) {
		panic(fmt.Sprintf("boom: %s", msg))
	})
)

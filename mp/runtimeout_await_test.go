//go:build (amd64 || arm64) && unix

package mp_test

import (
	"context"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/mp"
)

// Await in a task of a loop: the run timeout kills the worker and only
// the task waited meanwhile (another task of the loop completes).
func TestRunTimeoutAwait(t *testing.T) {
	p := newPool(t, mp.WithMaxWorkers(1))
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		other := aio.Spawn(ctx, func(ctx context.Context) (int, error) { return 1, nil })
		_, err := Hang.WithRunTimeout(50*time.Millisecond).Await(ctx, p, 0)
		isRunTimeout(t, err)
		if !other.Done() {
			t.Error("the loop did not run another task while one awaited the pool")
		}
		v, err := Square.WithRunTimeout(time.Minute).Await(ctx, p, 3)
		if err != nil || v != 9 {
			t.Errorf("after the run timeout: %v, %v", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

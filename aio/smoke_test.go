package aio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
)

func run(t *testing.T, main func(ctx context.Context) error) {
	t.Helper()
	if err := aio.Run(context.Background(), main, aio.WithVirtualClock()); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestSmokeSpawnAwait(t *testing.T) {
	run(t, func(ctx context.Context) error {
		task := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			if err := aio.Sleep(ctx, time.Hour); err != nil {
				return 0, err
			}
			return 42, nil
		})
		v, err := task.Await(ctx)
		if err != nil || v != 42 {
			t.Errorf("got %v, %v", v, err)
		}
		return nil
	})
}

func TestSmokeGatherWaitFor(t *testing.T) {
	run(t, func(ctx context.Context) error {
		var ts []*aio.Task[int]
		for i := 0; i < 10; i++ {
			ts = append(ts, aio.Spawn(ctx, func(ctx context.Context) (int, error) {
				return i, aio.Sleep(ctx, time.Duration(10-i)*time.Second)
			}))
		}
		vs, err := aio.Gather(ctx, ts...)
		if err != nil || len(vs) != 10 || vs[3] != 3 {
			t.Errorf("gather: %v %v", vs, err)
		}
		slow := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			return 1, aio.Sleep(ctx, time.Hour)
		})
		start := aio.CurrentTask(ctx).Context()
		_ = start
		_, err = aio.WaitFor(ctx, time.Minute, slow)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("waitfor: %v", err)
		}
		if !slow.Cancelled() {
			t.Errorf("inner not cancelled: %v", slow)
		}
		return nil
	})
}

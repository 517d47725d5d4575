package blocking

import (
	"context"
	"time"

	lp "github.com/braid-go/braid/aio"
)

// Spawn is not aio.Spawn: functions are known by package and name, not by text.
func Spawn(ctx context.Context, fn func(context.Context) (int, error)) {}

func aliased(ctx context.Context) error {
	Spawn(ctx, func(ctx context.Context) (int, error) {
		time.Sleep(time.Millisecond) // not a loop task
		return 0, nil
	})
	t := lp.Spawn(ctx, func(c context.Context) (int, error) {
		time.Sleep(time.Millisecond) // want `time.Sleep blocks the loop's thread in a function run by aio.Spawn`
		return 0, nil
	})
	_, err := t.Await(ctx)
	return err
}

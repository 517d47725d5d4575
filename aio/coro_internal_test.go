package aio

import (
	"context"
	"testing"
)

// The idle pool keeps what the recent peak needs, and gives a fan-out's
// coroutines back within three collections once it is over. Collections are
// simulated by moving the loop's view of the GC epoch, so the test does
// not depend on when the runtime collects.
func TestIdleCoroutinesFollowTheRecentPeak(t *testing.T) {
	const fan = 64
	err := Run(context.Background(), func(ctx context.Context) error {
		l := CurrentLoop(ctx)
		fanOut := func(n int) error {
			ts := make([]*Task[int], n)
			for i := range ts {
				ts[i] = Spawn(ctx, func(ctx context.Context) (int, error) { return i, Sleep(ctx, 0) })
			}
			_, err := Gather(ctx, ts...)
			return err
		}
		gc := func() { l.gcSeen-- } // the next coroutine() sees a collection
		if err := fanOut(fan); err != nil {
			return err
		}
		if got := len(l.idle); got < fan {
			t.Fatalf("after a fan-out of %d tasks, %d idle coroutines", fan, got)
		}
		// A collection in the middle of the next fan-out keeps what it needs.
		gc()
		if err := fanOut(fan); err != nil {
			return err
		}
		if got := len(l.idle); got < fan {
			t.Fatalf("a collection during a repeated fan-out left %d idle coroutines, want >= %d", got, fan)
		}
		// Quiet: small work only. Within three collections the pool shrinks to
		// what that work needs.
		for i := 0; i < 3; i++ {
			gc()
			if err := fanOut(1); err != nil {
				return err
			}
		}
		if got := len(l.idle); got > 2 {
			t.Fatalf("after the fan-outs ended, %d idle coroutines are kept, want at most 2", got)
		}
		// With no task spawned at all, the loop's iterations trim too.
		if err := fanOut(fan); err != nil {
			return err
		}
		for i := 0; i < 3; i++ {
			gc()
			if err := Sleep(ctx, 0); err != nil { // one iteration of the loop
				return err
			}
		}
		if got := len(l.idle); got > 1 {
			t.Fatalf("three collections after a fan-out with no spawn since, %d idle coroutines are kept", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

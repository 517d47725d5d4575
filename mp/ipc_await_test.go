//go:build (amd64 || arm64) && linux

package mp_test

import (
	"context"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/mp"
)

// In tasks of an aio loop, Queue.Get, Event.Wait, Lock.Lock and
// JoinableQueue.Join suspend only their task: the task that unblocks them
// runs on the same loop, so a blocking wait would never end (the test's
// deadline would).
func TestIPCWaitsSuspendOnlyTheTask(t *testing.T) {
	checkResources(t)
	q := must[*mp.JoinableQueue[int]](t)(mp.NewJoinableQueue[int](0))
	defer q.Close()
	e := must[*mp.Event](t)(mp.NewEvent())
	defer e.Close()
	l := must[*mp.Lock](t)(mp.NewLock())
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not a synchronisation
	defer cancel()
	err := aio.Run(ctx, func(ctx context.Context) error {
		if err := l.Lock(ctx); err != nil {
			return err
		}
		waiting := 0 // touched by tasks of the one loop only
		getter := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			waiting++
			v, err := q.Get(ctx)
			if err == nil {
				err = q.TaskDone()
			}
			return v, err
		})
		waiter := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			waiting++
			return 1, e.Wait(ctx)
		})
		locker := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
			waiting++
			if err := l.Lock(ctx); err != nil {
				return 0, err
			}
			return 2, l.Unlock()
		})
		for waiting < 3 {
			if err := aio.Sleep(ctx, 0); err != nil {
				return err
			}
		}
		if err := q.Put(ctx, 42); err != nil {
			return err
		}
		if err := q.Join(ctx); err != nil { // suspends until the getter's TaskDone
			return err
		}
		if err := e.Set(); err != nil {
			return err
		}
		if err := l.Unlock(); err != nil {
			return err
		}
		vals, err := aio.Gather(ctx, getter, waiter, locker)
		if err != nil {
			return err
		}
		if vals[0] != 42 || vals[1] != 1 || vals[2] != 2 {
			t.Errorf("tasks returned %v, want [42 1 2]", vals)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

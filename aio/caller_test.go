package aio_test

// Every exported call that needs a task of the loop, made from where it
// cannot run (a plain goroutine, a loop callback), fails with an error
// matching aio.ErrNotInTask, and its message says what to do.

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

func TestNotInTaskEverywhere(t *testing.T) {
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		l := aio.CurrentLoop(ctx)
		fut := aio.NewFuture[int](ctx)
		defer fut.SetResult(0)
		ev := new(aio.Event)
		task := aio.Spawn(ctx, blocker(ev))
		defer ev.Set()
		tasks := []*aio.Task[struct{}]{task}

		held := new(aio.Lock)
		if err := held.Acquire(ctx); err != nil {
			return err
		}
		free := new(aio.Lock)
		if err := free.Acquire(ctx); err != nil {
			return err
		}
		free.Release()
		condLock := new(aio.Lock)
		if err := condLock.Acquire(ctx); err != nil {
			return err
		}
		defer condLock.Release()
		cond := aio.NewCondition(condLock)
		sem := aio.NewSemaphore(0)
		bsem := aio.NewBoundedSemaphore(1)
		if err := bsem.Acquire(ctx); err != nil {
			return err
		}
		barrier := aio.NewBarrier(2)
		empty := aio.NewQueue[int](0)
		if err := empty.Put(ctx, 1); err != nil { // binds it to the loop
			return err
		}
		if _, err := empty.Get(ctx); err != nil {
			return err
		}
		full := aio.NewQueue[int](1)
		if err := full.Put(ctx, 1); err != nil {
			return err
		}

		srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
			_, _ = r.Read(ctx, 1) // until the client closes
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		addr := srv.Addr().String()
		conn, err := aio.Dial(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer w.Close()
		proc, err := aio.StartProcess(ctx, exec.Command("sh", "-c", "exit 0"))
		if err != nil {
			return err
		}
		defer proc.Wait(ctx)
		var client aiohttp.Client

		type entry struct {
			name string
			call func() error
			// callbackOnly: from a plain goroutine the call blocks it,
			// which is allowed.
			callbackOnly bool
		}
		entries := []entry{
			{"Gather", func() error { _, err := aio.Gather(ctx, tasks...); return err }, false},
			{"GatherAll", func() error { _, errs := aio.GatherAll(ctx, tasks...); return errs[0] }, false},
			{"Wait", func() error { _, _, err := aio.Wait(ctx, tasks, aio.AllCompleted); return err }, false},
			{"AsCompleted", func() error {
				for _, err := range aio.AsCompleted(ctx, tasks) {
					return err
				}
				return nil
			}, false},
			{"WaitFor", func() error { _, err := aio.WaitFor(ctx, time.Second, task); return err }, false},
			{"Group", func() error {
				return aio.Group(ctx, func(context.Context, *aio.TaskGroup) error { return nil })
			}, false},
			{"Shield", func() error {
				_, err := aio.Shield(ctx, func(context.Context) (int, error) { return 0, nil })
				return err
			}, false},
			{"Sleep", func() error { return aio.Sleep(ctx, time.Second) }, true},
			{"Future.Await", func() error { _, err := fut.Await(ctx); return err }, true},
			{"Task.Await", func() error { _, err := task.Await(ctx); return err }, true},
			{"Lock.Acquire (held)", func() error { return held.Acquire(ctx) }, false},
			{"Event.Wait", func() error { return ev.Wait(ctx) }, false},
			{"Condition.Wait", func() error { return cond.Wait(ctx) }, false},
			{"Semaphore.Acquire", func() error { return sem.Acquire(ctx) }, false},
			{"BoundedSemaphore.Acquire", func() error { return bsem.Acquire(ctx) }, false},
			{"Barrier.Wait", func() error { _, err := barrier.Wait(ctx); return err }, false},
			{"Queue.Get (empty)", func() error { _, err := empty.Get(ctx); return err }, false},
			{"Queue.Put (full)", func() error { return full.Put(ctx, 2) }, false},
			{"Queue.Join", func() error { return full.Join(ctx) }, false},
			{"CreateConnection", func() error {
				_, _, err := aio.CreateConnection(ctx, "tcp", addr, func() aio.Protocol { return aio.BaseProtocol{} })
				return err
			}, false},
			{"OpenConnection", func() error { _, _, err := aio.OpenConnection(ctx, "tcp", addr); return err }, false},
			{"Dial", func() error { _, err := aio.Dial(ctx, "tcp", addr); return err }, false},
			{"Conn.Read", func() error { _, err := conn.Read(make([]byte, 1)); return err }, false},
			{"Conn.ReadContext", func() error { _, err := conn.ReadContext(ctx, make([]byte, 1)); return err }, false},
			{"Conn.Write", func() error { _, err := conn.Write([]byte{}); return err }, false},
			{"Conn.WriteContext", func() error { _, err := conn.WriteContext(ctx, []byte{}); return err }, false},
			{"StreamWriter.WaitClosed", func() error { return w.WaitClosed(ctx) }, false},
			{"Loop.CheckTask", func() error { return l.CheckTask("a library's call") }, false},
			{"StreamReader.Read", func() error { _, err := r.Read(ctx, 1); return err }, false},
			{"StreamReader.ReadExactly", func() error { _, err := r.ReadExactly(ctx, 1); return err }, false},
			{"StreamReader.ReadUntil", func() error { _, err := r.ReadUntil(ctx, []byte("\n")); return err }, false},
			{"StreamReader.ReadLine", func() error { _, err := r.ReadLine(ctx); return err }, false},
			{"Server.WaitClosed", func() error { return srv.WaitClosed(ctx) }, false},
			{"Server.ServeForever", func() error { return srv.ServeForever(ctx) }, false},
			{"Process.Communicate", func() error { _, _, err := proc.Communicate(ctx, nil); return err }, false},
			{"aiohttp.Client.Get", func() error { _, err := client.Get(ctx, "http://"+addr+"/"); return err }, false},
			{"aiohttp.Client.Do", func() error {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				_, err := client.Do(ctx, req)
				return err
			}, false},
		}
		check := func(where, name string, err error) {
			if !errors.Is(err, aio.ErrNotInTask) {
				t.Errorf("%s from %s: %v; want an error matching aio.ErrNotInTask", name, where, err)
			} else if msg := err.Error(); !strings.Contains(msg, "task") && !strings.Contains(msg, "callback") && !strings.Contains(msg, "CallSoonThreadsafe") {
				t.Errorf("%s from %s: %q does not say what to do", name, where, err)
			}
		}
		for _, e := range entries {
			if !e.callbackOnly {
				err, _ := aio.ToThread(ctx, func(context.Context) (error, error) { return e.call(), nil })
				check("a plain goroutine", e.name, err)
			}
			res := aio.NewFuture[error](ctx)
			l.CallSoon(func() { res.SetResult(e.call()) })
			err, _ := res.Await(ctx)
			check("a loop callback", e.name, err)
		}
		// The calls that belong to the loop without waiting, from a plain
		// goroutine.
		for _, e := range []entry{
			{"Lock.Acquire (free)", func() error { return free.Acquire(ctx) }, false},
			{"Lock.Release", held.Release, false},
			{"BoundedSemaphore.Release", bsem.Release, false},
			{"Queue.PutNowait", func() error { return empty.PutNowait(1) }, false},
			{"Queue.GetNowait", func() error { _, err := full.GetNowait(); return err }, false},
		} {
			err, _ := aio.ToThread(ctx, func(context.Context) (error, error) { return e.call(), nil })
			check("a plain goroutine", e.name, err)
		}
		held.Release()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

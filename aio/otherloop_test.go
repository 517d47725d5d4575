package aio_test

// A loop-bound object used from a task of a second loop fails with an
// error matching aio.ErrOtherLoop and never races: the first loop keeps
// using every object meanwhile, so that with -race a call of the second
// loop that touched the object's state would be reported.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/aio/aiohttp"
)

// loopObjects are the objects made on the first loop.
type loopObjects struct {
	client   *aiohttp.Client
	url      string
	lock     *aio.Lock
	ev       *aio.Event
	cond     *aio.Condition
	sem      *aio.Semaphore
	bsem     *aio.BoundedSemaphore
	barrier  *aio.Barrier
	queue    *aio.Queue[int]
	conn     *aio.Conn
	r        *aio.StreamReader
	w        *aio.StreamWriter
	tr       aio.Transport
	dg       aio.DatagramTransport
	dgAddr   net.Addr
	srv      *aio.Server
	proc     *aio.Process
	fut      *aio.Future[int]
	task     *aio.Task[struct{}]
	usedOnce chan struct{}
}

func TestOtherLoopNeverRaces(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer hs.Close()

	objs := make(chan *loopObjects)
	bDone := make(chan struct{})
	var stop atomic.Bool

	// Loop A: makes the objects, hands them over, and uses them until loop
	// B is done.
	aErr := make(chan error, 1)
	go func() {
		aErr <- aio.Run(context.Background(), func(ctx context.Context) error {
			o := &loopObjects{client: new(aiohttp.Client), url: hs.URL, lock: new(aio.Lock), ev: new(aio.Event),
				sem: aio.NewSemaphore(1), bsem: aio.NewBoundedSemaphore(1), barrier: aio.NewBarrier(1),
				queue: aio.NewQueue[int](1), fut: aio.NewFuture[int](ctx), usedOnce: make(chan struct{})}
			condLock := new(aio.Lock)
			o.cond = aio.NewCondition(condLock)
			// Bind what the busy loop below does not use to this loop.
			if _, err := o.barrier.Wait(ctx); err != nil {
				return err
			}
			if err := condLock.Acquire(ctx); err != nil {
				return err
			}
			condLock.Release()
			if err := o.bsem.Acquire(ctx); err != nil {
				return err
			}
			release := new(aio.Event)
			o.task = aio.Spawn(ctx, blocker(release))
			srv, err := aio.StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *aio.StreamReader, w *aio.StreamWriter) {
				for {
					b, err := r.Read(ctx, 1024)
					if err != nil || len(b) == 0 {
						return
					}
					w.Write(b)
				}
			})
			if err != nil {
				return err
			}
			o.srv = srv
			addr := srv.Addr().String()
			if o.conn, err = aio.Dial(ctx, "tcp", addr); err != nil {
				return err
			}
			if o.r, o.w, err = aio.OpenConnection(ctx, "tcp", addr); err != nil {
				return err
			}
			if o.tr, _, err = aio.CreateConnection(ctx, "tcp", addr, func() aio.Protocol { return aio.BaseProtocol{} }); err != nil {
				return err
			}
			if o.dg, _, err = aio.CreateDatagramEndpoint(ctx, "udp", "127.0.0.1:0", "", func() aio.DatagramProtocol { return aio.BaseDatagramProtocol{} }); err != nil {
				return err
			}
			o.dgAddr = o.dg.LocalAddr()
			cmd := exec.Command("cat")
			stdin, _ := cmd.StdinPipe() // cat waits for its input: the process lives until we close it
			if o.proc, err = aio.StartProcess(ctx, cmd); err != nil {
				return err
			}
			_ = stdin

			// Busy with every object until B is done (bounded).
			use := func(ctx context.Context) error {
				buf := make([]byte, 16)
				for i := 0; i < 1_000_000 && !stop.Load(); i++ {
					resp, err := o.client.Get(ctx, o.url)
					if err != nil {
						return err
					}
					if _, err := io.ReadAll(resp.Body); err != nil {
						return err
					}
					resp.Body.Close()
					if err := o.lock.Acquire(ctx); err != nil {
						return err
					}
					o.lock.Release()
					o.ev.Set()
					o.ev.Clear()
					if err := o.sem.Acquire(ctx); err != nil {
						return err
					}
					o.sem.Release()
					if err := o.queue.Put(ctx, i); err != nil {
						return err
					}
					if _, err := o.queue.Get(ctx); err != nil {
						return err
					}
					if _, err := o.conn.Write([]byte("ping")); err != nil {
						return err
					}
					if _, err := io.ReadFull(o.conn, buf[:4]); err != nil {
						return err
					}
					if err := o.w.Write([]byte("pong")); err != nil {
						return err
					}
					if _, err := o.r.ReadExactly(ctx, 4); err != nil {
						return err
					}
					if i == 0 {
						close(o.usedOnce)
					}
					if err := aio.Sleep(ctx, 0); err != nil {
						return err
					}
				}
				return nil
			}
			user := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, use(ctx) })
			objs <- o
			if _, err := aio.ToThread(ctx, func(context.Context) (struct{}, error) { <-bDone; return struct{}{}, nil }); err != nil {
				return err
			}
			stop.Store(true)
			_, uerr := user.Await(ctx)
			release.Set()
			o.fut.SetResult(1)
			o.bsem.Release()
			stdin.Close()
			o.proc.Wait(ctx)
			o.conn.Close()
			o.w.Close()
			o.tr.Close()
			o.dg.Close()
			o.srv.Close()
			o.client.CloseIdleConnections()
			return uerr
		})
	}()

	o := <-objs
	<-o.usedOnce
	type entry struct {
		name string
		call func(ctx context.Context) error
	}
	entries := []entry{
		{"aiohttp.Client.Get", func(ctx context.Context) error { _, err := o.client.Get(ctx, o.url); return err }},
		{"aiohttp.Client.Do", func(ctx context.Context) error {
			req, _ := http.NewRequest(http.MethodGet, o.url, nil)
			_, err := o.client.Do(ctx, req)
			return err
		}},
		{"Lock.Acquire", func(ctx context.Context) error { return o.lock.Acquire(ctx) }},
		{"Lock.Release", func(ctx context.Context) error { return o.lock.Release() }},
		{"Event.Wait", func(ctx context.Context) error { return o.ev.Wait(ctx) }},
		{"Condition.Wait", func(ctx context.Context) error { return o.cond.Wait(ctx) }},
		{"Condition.Notify", func(ctx context.Context) error { return o.cond.Notify(1) }},
		{"Semaphore.Acquire", func(ctx context.Context) error { return o.sem.Acquire(ctx) }},
		{"BoundedSemaphore.Acquire", func(ctx context.Context) error { return o.bsem.Acquire(ctx) }},
		{"BoundedSemaphore.Release", func(ctx context.Context) error { return o.bsem.Release() }},
		{"Barrier.Wait", func(ctx context.Context) error { _, err := o.barrier.Wait(ctx); return err }},
		{"Queue.Put", func(ctx context.Context) error { return o.queue.Put(ctx, 1) }},
		{"Queue.Get", func(ctx context.Context) error { _, err := o.queue.Get(ctx); return err }},
		{"Queue.PutNowait", func(ctx context.Context) error { return o.queue.PutNowait(1) }},
		{"Queue.GetNowait", func(ctx context.Context) error { _, err := o.queue.GetNowait(); return err }},
		{"Queue.TaskDone", func(ctx context.Context) error { return o.queue.TaskDone() }},
		{"Queue.Join", func(ctx context.Context) error { return o.queue.Join(ctx) }},
		{"Conn.Read", func(ctx context.Context) error { _, err := o.conn.Read(make([]byte, 1)); return err }},
		{"Conn.Write", func(ctx context.Context) error { _, err := o.conn.Write([]byte("x")); return err }},
		{"Conn.Close", func(ctx context.Context) error { return o.conn.Close() }},
		{"StreamReader.Read", func(ctx context.Context) error { _, err := o.r.Read(ctx, 1); return err }},
		{"StreamReader.ReadLine", func(ctx context.Context) error { _, err := o.r.ReadLine(ctx); return err }},
		{"StreamWriter.Write", func(ctx context.Context) error { return o.w.Write([]byte("x")) }},
		{"StreamWriter.Drain", func(ctx context.Context) error { return o.w.Drain(ctx) }},
		{"StreamWriter.Close", func(ctx context.Context) error { return o.w.Close() }},
		{"StreamWriter.WaitClosed", func(ctx context.Context) error { return o.w.WaitClosed(ctx) }},
		{"Transport.Write", func(ctx context.Context) error { return o.tr.Write([]byte("x")) }},
		{"Transport.WriteEOF", func(ctx context.Context) error { return o.tr.WriteEOF() }},
		{"Transport.Close", func(ctx context.Context) error { return o.tr.Close() }},
		{"DatagramTransport.SendTo", func(ctx context.Context) error { return o.dg.SendTo([]byte("x"), o.dgAddr) }},
		{"DatagramTransport.Close", func(ctx context.Context) error { return o.dg.Close() }},
		{"Server.WaitClosed", func(ctx context.Context) error { return o.srv.WaitClosed(ctx) }},
		{"Server.ServeForever", func(ctx context.Context) error { return o.srv.ServeForever(ctx) }},
		{"Process.Wait", func(ctx context.Context) error { _, err := o.proc.Wait(ctx); return err }},
		{"Process.Communicate", func(ctx context.Context) error { _, _, err := o.proc.Communicate(ctx, nil); return err }},
		{"Process.SendSignal", func(ctx context.Context) error { return o.proc.Terminate() }},
		{"Future.Await", func(ctx context.Context) error { _, err := o.fut.Await(ctx); return err }},
		{"Future.SetResult", func(ctx context.Context) error { return o.fut.SetResult(2) }},
		{"Future.Result", func(ctx context.Context) error { _, err := o.fut.Result(); return err }},
		{"Task.Await", func(ctx context.Context) error { _, err := o.task.Await(ctx); return err }},
		{"Gather", func(ctx context.Context) error { _, err := aio.Gather(ctx, o.task); return err }},
		{"WaitFor", func(ctx context.Context) error { _, err := aio.WaitFor(ctx, aio.Forever, o.task); return err }},
		{"Server.Shutdown", func(ctx context.Context) error { return o.srv.Shutdown(ctx) }},
		// Methods with no error to return panic with it, changing nothing.
		{"Task.Cancel", panics(func() { o.task.Cancel() })},
		{"Future.Cancel", panics(func() { o.fut.Cancel() })},
		{"Event.Set", panics(o.ev.Set)},
		{"Transport.Abort", panics(o.tr.Abort)},
		{"Transport.PauseReading", panics(o.tr.PauseReading)},
		{"Transport.ResumeReading", panics(o.tr.ResumeReading)},
		{"Transport.SetWriteBufferLimits", panics(func() { o.tr.SetWriteBufferLimits(1, 0) })},
		{"Transport.SetProtocol", panics(func() { o.tr.SetProtocol(aio.BaseProtocol{}) })},
		{"DatagramTransport.Abort", panics(o.dg.Abort)},
		{"Server.Close", panics(o.srv.Close)},
		{"Server.CloseClients", panics(o.srv.CloseClients)},
		{"Server.AbortClients", panics(o.srv.AbortClients)},
		{"StreamReader.Feed", panics(func() { o.r.Feed([]byte("x")) })},
		{"StreamReader.FeedEOF", panics(o.r.FeedEOF)},
	}
	// Loop B: every call fails with ErrOtherLoop.
	bErr := aio.Run(context.Background(), func(ctx context.Context) error {
		for _, e := range entries {
			// A call that wrongly waits ends with the deadline (and fails
			// the test) instead of hanging it.
			cctx, cm := aio.WithTimeout(ctx, 10*time.Second)
			err := e.call(cctx)
			cm.Stop()
			if !errors.Is(err, aio.ErrOtherLoop) {
				t.Errorf("%s from a task of another loop: %v; want an error matching aio.ErrOtherLoop", e.name, err)
			}
		}
		return nil
	})
	close(bDone)
	if bErr != nil {
		t.Errorf("loop B: %v", bErr)
	}
	if err := <-aErr; err != nil {
		t.Errorf("loop A: %v", err)
	}
}

// panics turns a loop-only method that has no error to return, and so
// panics when called off its loop, into an entry of the table: the error
// it panicked with, or one saying it did not panic.
func panics(f func()) func(context.Context) error {
	return func(context.Context) (err error) {
		defer func() {
			switch p := recover().(type) {
			case nil:
			case error:
				err = p
			default:
				err = fmt.Errorf("panicked with %v, not an error", p)
			}
		}()
		f()
		return errors.New("it did not panic")
	}
}

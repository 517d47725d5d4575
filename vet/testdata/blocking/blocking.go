// Package blocking holds the positive and negative cases of blockingcall.
package blocking

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/braid-go/braid/aio"
	"github.com/braid-go/braid/futures"
)

func sleepy() { time.Sleep(time.Millisecond) }

func deeper() { sleepy() }

func fine(ctx context.Context) error { return aio.Sleep(ctx, time.Millisecond) }

// The tricky case: a closure given to Spawn calls a helper that sleeps.
func spawnHelper(ctx context.Context) {
	t := aio.Spawn(ctx, func(ctx context.Context) (int, error) {
		sleepy() // want `sleepy blocks the loop's thread in a function run by aio.Spawn: sleepy calls time.Sleep \(blocking.go:17\); use aio.Sleep\(ctx, d\)`
		deeper() // want `deeper blocks the loop's thread in a function run by aio.Spawn: deeper → sleepy calls time.Sleep`
		return 1, fine(ctx)
	})
	_, _ = t.Await(ctx)
}

// The other tricky case: blocking inside aio.ToThread's function is right.
func toThread(ctx context.Context) error {
	return aio.Run(ctx, func(ctx context.Context) error {
		_, err := aio.ToThread(ctx, func(ctx context.Context) ([]byte, error) {
			time.Sleep(time.Millisecond)
			sleepy()
			return os.ReadFile("x")
		})
		return err
	})
}

func direct(ctx context.Context, c *http.Client, mu *sync.Mutex, wg *sync.WaitGroup, f *futures.Future[int], ch chan int) error {
	return aio.Run(ctx, func(ctx context.Context) error {
		time.Sleep(time.Second)     // want `time.Sleep blocks the loop's thread in a function run by aio.Run \(every task of the loop waits\); use aio.Sleep\(ctx, d\)`
		_, _ = c.Get("http://x")    // want `http.Client.Get blocks .*aiohttp.Client`
		_, _ = http.Get("http://x") // want `http.Get blocks`
		_, _ = net.Dial("tcp", "x") // want `net.Dial blocks .*aio.Dial`
		_, _ = os.ReadFile("x")     // want `os.ReadFile blocks .*aio.ToThread`
		mu.Lock()                   // want `sync.Mutex.Lock blocks .*aio.Lock`
		mu.Unlock()
		wg.Wait()                   // want `sync.WaitGroup.Wait blocks`
		_, _ = f.Result(ctx)        // want `futures.Future.Result blocks .*aio.AwaitFuture\(ctx, f\)`
		_ = exec.Command("x").Run() // want `exec.Cmd.Run blocks .*aio.StartProcess`
		<-ch                        // want `a channel receive blocks`
		ch <- 1                     // want `a channel send blocks`
		for range ch {              // want `a range over a channel blocks`
		}
		select { // want `a select without a default case blocks`
		case <-ch:
		case <-ctx.Done():
		}
		select {
		case v := <-ch:
			_ = v
		default:
		}
		return nil
	})
}

func group(ctx context.Context) error {
	return aio.Group(ctx, func(ctx context.Context, g *aio.TaskGroup) error {
		if err := g.Go(func(ctx context.Context) error {
			<-ctx.Done() // want `a channel receive blocks the loop's thread in a function run by TaskGroup.Go`
			return nil
		}); err != nil {
			return err
		}
		time.Sleep(1) // want `time.Sleep blocks the loop's thread in a function run by aio.Group`
		return nil
	})
}

// A named function given to Spawn is checked too.
func worker(ctx context.Context) (int, error) {
	time.Sleep(time.Millisecond) // want `time.Sleep blocks the loop's thread in a function run by aio.Spawn`
	go func() {
		time.Sleep(time.Millisecond) // another goroutine: fine
	}()
	defer func() {
		time.Sleep(time.Millisecond) // want `time.Sleep blocks`
	}()
	later := func() { time.Sleep(time.Millisecond) } // stored, not run here
	_ = later
	return 0, nil
}

func spawnWorker(ctx context.Context) (int, error) {
	return aio.Spawn(ctx, worker).Await(ctx)
}

// Outside any loop function: not reported.
func plain(mu *sync.Mutex) {
	time.Sleep(time.Millisecond)
	mu.Lock()
	mu.Unlock()
}

func callbacks(l *aio.Loop) {
	l.CallSoon(func() {
		time.Sleep(time.Millisecond) // want `time.Sleep blocks the loop's thread in a function run by Loop.CallSoon`
	})
}

// A protocol's callbacks run on the loop.
type echo struct {
	aio.BaseProtocol
	t aio.Transport
}

func (e *echo) ConnectionMade(t aio.Transport) { e.t = t }

func (e *echo) DataReceived(data []byte) {
	_ = os.WriteFile("log", data, 0o600) // want `os.WriteFile blocks the loop's thread in a function run by the loop \(an aio protocol callback\)`
	_ = e.t.Write(data)
}

// Not a callback of the loop: not reported.
func (e *echo) Flush() { _ = os.WriteFile("log", nil, 0o600) }

func serve(ctx context.Context) error {
	srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return &echo{} })
	if err != nil {
		return err
	}
	srv.Close()
	return nil
}

// Function literals held in local variables are followed too.
func localLits(ctx context.Context, ln net.Listener) error {
	pause := func() { time.Sleep(time.Millisecond) }
	job := func(ctx context.Context) (int, error) {
		_, err := os.Stat("x") // want `os.Stat blocks the loop's thread in a function run by aio.Spawn`
		return 0, err
	}
	return aio.Run(ctx, func(ctx context.Context) error {
		pause() // want `pause blocks the loop's thread in a function run by aio.Run: pause calls time.Sleep`
		_, err := aio.Spawn(ctx, job).Await(ctx)
		if err != nil {
			return err
		}
		c, err := ln.Accept() // want `net.Listener.Accept blocks .*aio.StartServer`
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// A variable assigned twice: which function runs is not known, nothing is reported.
func reassigned(ctx context.Context) error {
	step := func() {}
	step = func() { time.Sleep(time.Millisecond) }
	return aio.Run(ctx, func(ctx context.Context) error {
		step()
		return nil
	})
}

// A factory's literal given to Spawn runs as the task.
func sleeper(d time.Duration) func(context.Context) (int, error) {
	time.Sleep(d) // the factory runs on the caller's side: reported only through the call below
	return func(ctx context.Context) (int, error) {
		time.Sleep(d) // want `time.Sleep blocks the loop's thread in a function run by aio.Spawn`
		return 0, nil
	}
}

func factory(ctx context.Context) error {
	return aio.Run(ctx, func(ctx context.Context) error {
		_, err := aio.Spawn(ctx, sleeper(1)).Await(ctx) // want `sleeper blocks the loop's thread in a function run by aio.Run: sleeper calls time.Sleep`
		return err
	})
}

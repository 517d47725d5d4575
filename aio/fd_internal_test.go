package aio

import (
	"context"
	"testing"
	"time"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

// The poller path of the loop: a readable descriptor runs its callback on
// the loop, level-triggered, until it is unwatched.
func TestWatchFDRunsCallbackWhenReadable(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	got := 0
	err := Run(context.Background(), func(ctx context.Context) error {
		l := CurrentLoop(ctx)
		done := NewFuture[string](ctx)
		if err := l.watchFD(fds[0], poller.Readable, func(ev poller.Events) {
			got++
			buf := make([]byte, 16)
			n, _ := unix.Read(fds[0], buf)
			done.SetResult(string(buf[:n]))
			if err := l.unwatchFD(fds[0]); err != nil {
				t.Error(err)
			}
		}); err != nil {
			return err
		}
		// Written from another goroutine: the loop is asleep in epoll_wait.
		go unix.Write(fds[1], []byte("ping"))
		s, err := done.Await(ctx)
		if err != nil {
			return err
		}
		if s != "ping" {
			t.Errorf("read %q, want ping", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != 1 {
		t.Errorf("callback ran %d times, want 1", got)
	}
}

// waitRecorder is a poller that records the timeout of every Wait.
type waitRecorder struct {
	poller.Poller
	parked int // Waits allowed to sleep (timeout != 0)
	waits  int
}

func (w *waitRecorder) Wait(events []poller.Event, timeoutNs int64) (int, bool, error) {
	w.waits++
	if timeoutNs != 0 {
		w.parked++
	}
	return w.Poller.Wait(events, timeoutNs)
}

// A busy-polling loop never asks the poller to sleep, yet its timers,
// its descriptors and calls from other goroutines all still run; the
// same program on a default loop does sleep (so the check can fail).
func TestBusyPollNeverSleeps(t *testing.T) {
	for _, busy := range []bool{true, false} {
		var opts []Option
		if busy {
			opts = append(opts, WithBusyPoll())
		}
		l, err := NewLoop(opts...)
		if err != nil {
			t.Fatal(err)
		}
		rec := &waitRecorder{Poller: l.poller}
		l.poller = rec
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		task := Spawn(l.Context(), func(ctx context.Context) (string, error) {
			if err := Sleep(ctx, time.Millisecond); err != nil {
				return "", err
			}
			done := NewFuture[string](ctx)
			if err := l.watchFD(fds[0], poller.Readable, func(poller.Events) {
				buf := make([]byte, 16)
				n, _ := unix.Read(fds[0], buf)
				l.unwatchFD(fds[0])
				done.SetResult(string(buf[:n]))
			}); err != nil {
				return "", err
			}
			go unix.Write(fds[1], []byte("ping"))
			s, err := done.Await(ctx)
			if err != nil {
				return "", err
			}
			fromOutside := NewFuture[string](ctx)
			go l.CallSoonThreadsafe(func() { fromOutside.SetResult(s + "+pong") })
			return fromOutside.Await(ctx)
		})
		err = l.RunUntilComplete(task)
		got, _ := task.Result()
		l.Close()
		unix.Close(fds[0])
		unix.Close(fds[1])
		if err != nil || got != "ping+pong" {
			t.Fatalf("busy=%v: got %q, %v; want ping+pong", busy, got, err)
		}
		if busy && rec.parked != 0 {
			t.Errorf("busy-polling loop asked the poller to sleep %d times in %d waits", rec.parked, rec.waits)
		}
		if !busy && rec.parked == 0 {
			t.Errorf("default loop never slept in %d waits: the check above proves nothing", rec.waits)
		}
	}
}

package aio

import (
	"context"
	"testing"

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

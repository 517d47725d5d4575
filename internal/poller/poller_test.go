package poller_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

func newPipe(t *testing.T) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// forEachPoller runs test with a poller from New and one from NewBusy:
// they differ only in how a Wait with a timeout blocks.
func forEachPoller(t *testing.T, test func(t *testing.T, p poller.Poller)) {
	for name, newPoller := range map[string]func() (poller.Poller, error){"New": poller.New, "NewBusy": poller.NewBusy} {
		t.Run(name, func(t *testing.T) {
			p, err := newPoller()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			test(t, p)
		})
	}
}

func TestReadableIsReportedLevelTriggered(t *testing.T) {
	forEachPoller(t, func(t *testing.T, p poller.Poller) {
		r, w := newPipe(t)
		if err := p.Add(r, poller.Readable); err != nil {
			t.Fatal(err)
		}
		events := make([]poller.Event, 8)
		if n, _, err := p.Wait(events, 0); err != nil || n != 0 {
			t.Fatalf("empty pipe: %d events, %v", n, err)
		}
		unix.Write(w, []byte("x"))
		for round := 0; round < 2; round++ { // level-triggered: reported until read
			n, _, err := p.Wait(events, -1)
			if err != nil || n != 1 || events[0].FD != r || events[0].Events&poller.Readable == 0 {
				t.Fatalf("round %d: %d events %v, %v", round, n, events[:n], err)
			}
		}
		if err := p.Delete(r); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := p.Wait(events, 0); n != 0 {
			t.Fatalf("deleted fd still reported: %v", events[:n])
		}
	})
}

func TestWritableAndModify(t *testing.T) {
	forEachPoller(t, func(t *testing.T, p poller.Poller) {
		_, w := newPipe(t)
		if err := p.Add(w, poller.Readable); err != nil {
			t.Fatal(err)
		}
		events := make([]poller.Event, 8)
		if n, _, _ := p.Wait(events, 0); n != 0 {
			t.Fatalf("write end is never readable: %v", events[:n])
		}
		if err := p.Modify(w, poller.Writable); err != nil {
			t.Fatal(err)
		}
		n, _, err := p.Wait(events, -1)
		if err != nil || n != 1 || events[0].Events&poller.Writable == 0 {
			t.Fatalf("%d events %v, %v", n, events[:n], err)
		}
	})
}

// Many concurrent Wakes end one Wait, and are consumed by it.
func TestWakeFromGoroutines(t *testing.T) {
	forEachPoller(t, func(t *testing.T, p poller.Poller) {
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := p.Wake(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		events := make([]poller.Event, 8)
		n, woken, err := p.Wait(events, -1)
		if err != nil || n != 0 || !woken {
			t.Fatalf("n=%d woken=%v err=%v", n, woken, err)
		}
		if _, woken, _ := p.Wait(events, 0); woken {
			t.Fatal("the wake-ups were not consumed by the first Wait")
		}
	})
}

func TestClosed(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := p.Wait(make([]poller.Event, 1), 0); !errors.Is(err, poller.ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if err := p.Wake(); !errors.Is(err, poller.ErrClosed) {
		t.Fatalf("Wake after Close: %v", err)
	}
}

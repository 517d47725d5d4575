package loopthread

import (
	"context"
	"errors"
	"testing"
)

type fakeAwaitable struct{ cancelled bool }

func (f *fakeAwaitable) AddDoneCallback(fn func()) { fn() }
func (f *fakeAwaitable) Cancel() bool              { f.cancelled = true; return true }

// Without hooks (a program without aio) nothing is a loop thread and
// Await leaves the wait to the caller; with hooks, both ask them.
func TestHooks(t *testing.T) {
	if OnLoop() {
		t.Error("OnLoop() = true with no hooks installed")
	}
	if handled, err := Await(context.Background(), &fakeAwaitable{}); handled || err != nil {
		t.Errorf("Await with no hooks = %v, %v; want false, nil", handled, err)
	}
	defer hooks.Store(nil)
	errMisuse := errors.New("misuse")
	var seen Awaitable
	Install(Hooks{
		OnLoop: func() bool { return true },
		Await: func(ctx context.Context, a Awaitable) (bool, error) {
			seen = a
			return true, errMisuse
		},
	})
	if !OnLoop() {
		t.Error("OnLoop() = false with a hook saying true")
	}
	a := &fakeAwaitable{}
	if handled, err := Await(context.Background(), a); !handled || err != errMisuse || seen != a {
		t.Errorf("Await with a hook = %v, %v (saw %v); want true, the hook's error, for %v", handled, err, seen, a)
	}
}

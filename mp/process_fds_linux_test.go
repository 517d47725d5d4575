package mp_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/braid-go/braid/mp"
)

// Every way a Process ends gives back the pipes it used (argument, outcome
// on fd 4, a copied standard error) and its child: a clean exit, an
// error, a kill, a Join whose context ended first, and a process that
// nobody joined (only its Done channel is read).
func TestProcessLeavesNothing(t *testing.T) {
	checkResources(t)
	var stderr bytes.Buffer
	for _, c := range []struct {
		arg  int
		opts []mp.ProcessOption
	}{
		{21, []mp.ProcessOption{mp.ProcessStderr(&stderr)}},
		{-1, []mp.ProcessOption{mp.ProcessStderr(nil)}},
		{13, nil}, // the parent's stderr
	} {
		p, err := mp.NewProcess(Tally, c.arg, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		<-p.Done() // not joined
		if _, err := Tally.Result(p); (err == nil) != (c.arg == 21) {
			t.Fatalf("Tally(%d): %v", c.arg, err)
		}
	}
	p, err := mp.NewProcess(Hang, 0, mp.ProcessStderr(&stderr))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Join(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Join with a cancelled context: %v", err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Err(); !errors.Is(err, mp.ErrWorkerDied) {
		t.Fatalf("Err after Kill: %v", err)
	}
}

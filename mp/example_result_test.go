package mp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/braid-go/braid/mp"
)

// Shout fails on an empty text, as a function of a Process may.
var Shout = mp.Register("example.shout", func(ctx context.Context, text string) (string, error) {
	if text == "" {
		return "", errors.New("nothing to shout: give a text")
	}
	return strings.ToUpper(text) + "!", nil
})

// A run timeout bounds each call from when a worker starts it (pebble's
// schedule(fn, timeout=)): calls queued behind a busy worker do not use it
// up. A call that overruns is stopped by killing its worker; a new worker
// takes its place.
func ExampleFunc_WithRunTimeout() {
	pool, _ := mp.NewPool(mp.WithMaxWorkers(1))
	defer pool.Shutdown(context.Background())
	ctx := context.Background()

	stuck, _ := Loop.WithRunTimeout(500*time.Millisecond).Submit(ctx, pool, 0)
	after, _ := Cube.WithRunTimeout(500*time.Millisecond).Submit(ctx, pool, 3) // waits in the queue longer than that

	_, err := stuck.Result(ctx)
	var killed *mp.KilledError
	fmt.Println(errors.Is(err, mp.ErrRunTimeout), errors.Is(err, context.DeadlineExceeded), errors.As(err, &killed))
	fmt.Println(after.Result(ctx))
	// Output:
	// true true true
	// 27 <nil>
}

// Python's Process discards the function's return value and its
// exception (exitcode 1 is all one learns); here Func.Result and
// Process.Err give them back once the process has exited.
func ExampleFunc_Result() {
	ctx := context.Background()
	for _, text := range []string{"hello", ""} {
		// The child reports its error on its standard error too; Err has
		// it here, so the report is dropped.
		p, err := mp.NewProcess(Shout, text, mp.ProcessStderr(io.Discard))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := p.Start(); err != nil {
			fmt.Println(err)
			return
		}
		if err := p.Join(ctx); err != nil {
			fmt.Println(err)
			return
		}
		code, _ := p.ExitCode()
		s, err := Shout.Result(p)
		fmt.Printf("exit code %d, result %q, error: %v\n", code, s, err)
	}
	// Output:
	// exit code 0, result "HELLO!", error: <nil>
	// exit code 1, result "", error: nothing to shout: give a text
}

// Err tells how a process ended: nil, the function's error, or a
// *mp.WorkerError for a process that ended without reporting (here,
// killed).
func ExampleProcess_Err() {
	p, _ := mp.NewProcess(Loop, 0)
	p.Start()
	p.Kill()
	p.Join(context.Background())
	var we *mp.WorkerError
	err := p.Err()
	fmt.Println(errors.Is(err, mp.ErrWorkerDied), errors.As(err, &we) && we.Signal == "killed")
	// Output:
	// true true
}

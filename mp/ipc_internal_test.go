package mp

import (
	"context"
	"strings"
	"testing"
)

var ipcNop = Register("internal.ipc.nop", func(ctx context.Context, _ int) (int, error) { return 0, nil })

// A program that did not call Main cannot start a Process: the child
// would run the program from the top (a fork bomb), not the function.
func TestProcessWithoutMain(t *testing.T) {
	was := mainCalled.Load()
	mainCalled.Store(false)
	defer mainCalled.Store(was)
	p, err := NewProcess(ipcNop, 1)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Start()
	if err == nil || !strings.Contains(err.Error(), "mp.Main") {
		t.Fatalf("Start without Main: %v, want an error naming mp.Main", err)
	}
	if p.IsAlive() || p.Pid() != 0 {
		t.Fatal("a process was started")
	}
}

package profile

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// burn computes until d has passed (a time-bound loop, so that it lasts as
// long on a slow machine as on a fast one).
func burn(d time.Duration) uint64 {
	end := time.Now().Add(d)
	var x uint64
	for time.Now().Before(end) {
		for i := uint64(0); i < 10000; i++ {
			x = x*31 + i
		}
	}
	return x
}

var sink uint64

func TestFuncCPUBound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sampling needs /proc")
	}
	rep, err := Func(context.Background(), func(context.Context) error {
		sink += burn(time.Second)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict.Class != CPUBound || rep.Subject != SubjectFunction || !strings.Contains(rep.Verdict.Model, "futures.ThreadPool") {
		t.Fatalf("a busy loop: %s", rep)
	}
	// How much CPU the loop gets depends on the machine's load; a delta
	// gone wrong is zero, negative, or the process's whole life.
	if rep.UserSeconds <= 0 || rep.CPUSeconds() > rep.WallSeconds*float64(rep.Cores)+0.05 {
		t.Fatalf("a busy loop measured %.3f s of user time, %.3f s of CPU in %.3f s of wall on %d cores: the deltas are wrong\n%s",
			rep.UserSeconds, rep.CPUSeconds(), rep.WallSeconds, rep.Cores, rep)
	}
}

func TestFuncSleepIsIOBound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sampling needs /proc")
	}
	want := errors.New("the function's own error")
	rep, err := Func(context.Background(), func(ctx context.Context) error {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
		}
		return want
	})
	if !errors.Is(err, want) {
		t.Fatalf("Func returned %v, want fn's error", err)
	}
	t.Log(rep)
	if rep.Verdict.Class != IOBound || rep.Samples == 0 {
		t.Fatalf("a sleeping function: %s", rep)
	}
}

func TestFuncBadArguments(t *testing.T) {
	if _, err := Func(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Fatalf("nil fn: %v", err)
	}
	if _, err := Func(context.Background(), func(context.Context) error { return nil }, WithInterval(0)); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("zero interval: %v", err)
	}
	if _, err := Command(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no command") {
		t.Fatalf("no command: %v", err)
	}
}

func TestFuncMixed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sampling needs /proc")
	}
	skipIfOverloaded(t)
	var burnt time.Duration
	cpu0 := processCPU(t)
	rep, err := Func(context.Background(), func(context.Context) error {
		end := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(end) {
			t0 := time.Now()
			sink += burn(10 * time.Millisecond)
			burnt += time.Since(t0)
			time.Sleep(10 * time.Millisecond) // the workload's own wait, not synchronisation
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict.Class != Mixed && processCPU(t)-cpu0 < burnt*6/10 {
		// The burns got less than 60% of a core: other work held the
		// cores, so the workload was not half computing, and wake-ups
		// from its sleeps waited in the run queue (counted as computing).
		t.Skipf("the machine was too busy to run a half-computing workload (CPU %v for %v of burning): %s", processCPU(t)-cpu0, burnt, rep)
	}
	if rep.Verdict.Class != Mixed || rep.Verdict.WaitedOn != StateSleep {
		t.Fatalf("10 ms of computing, 10 ms of sleep: %s", rep)
	}
}

// processCPU returns this process's user and system CPU time.
func processCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// skipIfOverloaded skips a test of a mixed workload when the machine's
// load is more than twice its cores: its share of computing then depends
// on how long each wake-up waits for a core, and lands anywhere.
func skipIfOverloaded(t *testing.T) {
	text, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	f := strings.Fields(string(text))
	if len(f) == 0 {
		return
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err == nil && load > 2*float64(runtime.NumCPU()) {
		t.Skipf("load average %.1f on %d cores: a mixed workload cannot be measured on a machine this busy", load, runtime.NumCPU())
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/braid-go/braid/mp"
)

// TestMain: the producer and consumer processes are this test binary.
func TestMain(m *testing.M) {
	mp.Main()
	if _, set := os.LookupEnv("GORACE"); !set {
		// Children built with -race would otherwise sleep a second as they exit.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m) // and no goroutine of the program outlives it
}

// Every item is consumed exactly once, whichever way the consumers are
// stopped, and the consumers' checksum is the one process's.
func TestPCQueue(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mp's shared queue is implemented on Linux only")
	}
	for _, end := range []string{"join", "sentinel"} {
		t.Run(end, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"-producers", "3", "-consumers", "2", "-items", "40", "-rounds", "10", "-maxsize", "4", "-end", end}
			if code := run(context.Background(), args, &out, &errOut); code != 0 {
				t.Fatalf("exit code %d, stderr:\n%s\nstdout:\n%s", code, errOut.String(), out.String())
			}
			want := sequential(config{producers: 3, items: 40, rounds: 10})
			re := regexp.MustCompile(fmt.Sprintf(`^3 producer and 2 consumer processes, 120 items of 10 SHA-256 rounds, queue bound 4, end by %s, \d+ CPUs
produced 120, consumed 120: 0 lost, 0 duplicated
items per consumer: \[(\d+) (\d+)\]
checksum %016x, one process alone %016x
5 processes: \S+ \(process start included\); one process: \S+; speedup [0-9.]+x
$`, end, want, want))
			m := re.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("output:\n%s", out.String())
			}
			var a, b int
			fmt.Sscan(m[1], &a)
			fmt.Sscan(m[2], &b)
			if a+b != 120 {
				t.Errorf("the consumers took %d and %d items; want 120 in all", a, b)
			}
		})
	}
}

// The digest is the work, not a constant: different items, different digests.
func TestDigest(t *testing.T) {
	if digest(Item{0, 1}, 3) == digest(Item{1, 0}, 3) || digest(Item{0, 1}, 3) == digest(Item{0, 1}, 4) {
		t.Error("digest ignores its input")
	}
}

func TestPCQueueBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-producers", "0"}, {"-consumers", "0"}, {"-items", "-1"}, {"-rounds", "x"},
		{"-end", "poison"}, {"-items", "20000000"}, {"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// crashAfter is a consumer that fails after taking 5 items, as one that
// crashes would, without marking them done.
var crashAfter = mp.Register("examples.pcqueue.test.crash", func(ctx context.Context, a ConsumeArg) (struct{}, error) {
	for range 5 {
		if _, err := a.Q.Get(ctx); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, errors.New("the consumer crashed")
})

// A consumer that dies ends the run with an error that names it, instead
// of leaving the producers blocked on the full queue or Join waiting.
func TestPCQueueConsumerDies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mp's shared queue is implemented on Linux only")
	}
	for _, maxsize := range []int{0, 2} { // Join waits; a producer waits on the full queue
		c := config{producers: 2, consumers: 1, items: 20, rounds: 1, maxsize: maxsize, end: "join", consume: crashAfter}
		_, err := pipeline(context.Background(), c)
		var died *mp.ConsumerDiedError
		if err == nil || !errors.As(err, &died) || !strings.Contains(err.Error(), `name="consumer-0"`) || !strings.Contains(err.Error(), "exited before the queue was done") {
			t.Errorf("maxsize %d: err = %v; want the consumer's exit named", maxsize, err)
		}
	}
}

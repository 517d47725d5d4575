package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Every item put is processed exactly once, by the consumers together,
// and the program ends: Join returned and Shutdown ended the consumers.
func TestQueue(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-producers", "4", "-consumers", "3", "-items", "25", "-maxsize", "2", "-produce", "0s", "-work", "1ms"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 5 {
		t.Fatalf("output:\n%s\nwant 4 lines", out.String())
	}
	if want := "4 producers, 3 consumers, queue bound 2"; lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	if want := "produced 100, consumed 100, checksum 1200 (want 1200)"; lines[1] != want {
		t.Errorf("line 2 = %q, want %q", lines[1], want)
	}
	m := regexp.MustCompile(`^items per consumer: \[(\d+) (\d+) (\d+)\]$`).FindStringSubmatch(lines[2])
	if m == nil {
		t.Fatalf("line 3 = %q, want three counts", lines[2])
	}
	total := 0
	for _, s := range m[1:] {
		n, _ := strconv.Atoi(s)
		total += n
	}
	if total != 100 {
		t.Errorf("the consumers' counts add up to %d, want 100", total)
	}
	if !regexp.MustCompile(`^3 consumers: \S+; 1 consumer \(sequential\): \S+; speedup [0-9.]+x$`).MatchString(lines[3]) {
		t.Errorf("line 4 = %q, want the timings", lines[3])
	}
}

// Cancelling the program's context (what SIGINT does to aio.Run's main
// task) ends the producers and consumers and fails the run.
func TestQueueCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if code := run(ctx, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "canceled") {
		t.Errorf("exit code %d, stderr %q; want 1 and a cancellation", code, errOut.String())
	}
}

func TestQueueBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-consumers", "0"}, {"-items", "-1"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// TestMain fails the run if a goroutine of the program outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

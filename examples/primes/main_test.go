package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the process pool's workers are this test binary
	if _, set := os.LookupEnv("GORACE"); !set {
		// Workers built with -race would otherwise sleep a second as they exit.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m) // and no goroutine of the program outlives it
}

// Both pools count the 1229 primes below 10,000, whatever the chunk size
// (one that does not divide the input, one larger than it).
func TestPrimes(t *testing.T) {
	for _, chunk := range []string{"333", "20000"} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"-limit", "10000", "-chunk", chunk, "-workers", "2"}, &out, &errOut); code != 0 {
			t.Fatalf("chunk %s: exit code %d, stderr:\n%s", chunk, code, errOut.String())
		}
		re := regexp.MustCompile(`^numbers below 10000, chunks of ` + chunk + `, 2 workers, \d+ CPUs
sequential +1229 primes +\S+  1\.0x
goroutine pool +1229 primes +\S+  [0-9.]+x
process pool +1229 primes +\S+  [0-9.]+x
$`)
		if !re.MatchString(out.String()) {
			t.Errorf("chunk %s: output:\n%s", chunk, out.String())
		}
	}
}

func TestIsPrime(t *testing.T) {
	var got []int
	for n := range 30 {
		if isPrime(n) {
			got = append(got, n)
		}
	}
	want := []int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}
	if len(got) != len(want) {
		t.Fatalf("primes below 30: %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("primes below 30: %v, want %v", got, want)
		}
	}
}

func TestPrimesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-limit", "-1"}, {"-chunk", "0"}, {"-workers", "0"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// Package mptinyio holds the cases of mptinyio.
package mptinyio

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

import "github.com/braid-go/braid/mp"

func fetch(ctx context.Context, url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func hashFile(ctx context.Context, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data) // CPU work next to the I/O: a process may pay off
	return sum[:], nil
}

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var (
	Fetch = mp.Register("fetch", fetch)                                                  // want `mp.Register\("fetch"\): the function only waits \(network or file I/O, sleeps\); a worker process costs a round trip per call \(about 28 µs, p50\)`
	Read  = mp.Register("read", func(ctx context.Context, path string) ([]byte, error) { // want `mp.Register\("read"\): the function only waits \(network or file I/O, sleeps\)`
		return os.ReadFile(path)
	})
	Hash = mp.Register("hash", hashFile)
	PID  = mp.Register("pid", func(ctx context.Context, _ int) (int, error) { return os.Getpid(), nil }) // not I/O: fine
	Log  = mp.Register("log", func(ctx context.Context, s string) (int, error) {                         // fmt to stderr is not the work: fine
		fmt.Fprintln(os.Stderr, s)
		return len(s), nil
	})
	Fib = mp.Register("fib", func(ctx context.Context, n int) (int, error) { return fib(n), nil })
	Sum = mp.Register("sum", func(ctx context.Context, xs []int) (int, error) {
		t := 0
		for _, x := range xs {
			t += x
		}
		return t, nil
	})
)

func get(url string) (*http.Response, error) { return http.Get(url) }

func fetchAll(ctx context.Context, urls []string) (int, error) {
	n := 0
	for _, u := range urls {
		resp, err := get(u)
		if err != nil {
			return n, err
		}
		resp.Body.Close()
		n++
	}
	return n, nil
}

func countLines(ctx context.Context, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

func checksum(ctx context.Context, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sum := 0
	for _, b := range data { // a loop without I/O: CPU work
		sum = sum*31 + int(b)
	}
	return sum, nil
}

var (
	FetchAll = mp.Register("fetchall", fetchAll) // want `mp.Register\("fetchall"\): the function only waits \(network or file I/O, sleeps\)`
	Lines    = mp.Register("lines", countLines)  // want `mp.Register\("lines"\): the function only waits \(network or file I/O, sleeps\)`
	Checksum = mp.Register("checksum", checksum)
)

var (
	// The articles stand in for I/O with a sleep: a process is still wasted.
	Nap = mp.Register("nap", func(ctx context.Context, d time.Duration) (int, error) { // want `mp.Register\("nap"\): the function only waits`
		time.Sleep(d)
		return 0, nil
	})
	// A sleep between bouts of CPU work: not only waiting.
	Paced = mp.Register("paced", func(ctx context.Context, n int) (int, error) {
		time.Sleep(time.Millisecond)
		return fib(n), nil
	})
)

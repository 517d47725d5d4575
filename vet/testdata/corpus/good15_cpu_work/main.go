// Command good15_cpu_work: processes for CPU work, next to I/O.
package main

import (
	"context"
	"crypto/sha256"
	"os"

	"github.com/braid-go/braid/mp"
)

func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

var (
	Fib  = mp.Register("fib", func(ctx context.Context, n int) (int, error) { return fib(n), nil })
	Hash = mp.Register("hash", func(ctx context.Context, path string) ([]byte, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		return sum[:], nil
	})
)

func main() {
	mp.Main()
}

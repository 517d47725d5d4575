package aiohttp_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package ends with no goroutine left behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// openFDs counts the descriptors the process has open (-1 where
// /proc/self/fd is not there).
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// checkFDs fails the test if it ends with more descriptors open than it
// started with.
func checkFDs(t *testing.T) {
	t.Helper()
	before := openFDs(t)
	t.Cleanup(func() {
		if before < 0 {
			return
		}
		if after := openFDs(t); after > before {
			t.Errorf("descriptors leaked: %d open before the test, %d after", before, after)
		}
	})
}

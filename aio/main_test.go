package aio_test

import (
	"testing"

	"github.com/braid-go/braid/cmd/braid/bench"
	"go.uber.org/goleak"
)

// Every test of the package ends with no goroutine left behind. (A
// benchmark that measures in a fresh child process runs it first.)
func TestMain(m *testing.M) {
	bench.ChildMain()
	goleak.VerifyTestMain(m)
}

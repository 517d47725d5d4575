package futures

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test (or example, or benchmark) of this
// package leaves a goroutine behind: every pool must be shut down, every
// Map and AsCompleted must clean up after an early stop. Goroutines that
// exist before the tests (ants starts a default pool at package init; it
// is only a benchmark peer) are not counted.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

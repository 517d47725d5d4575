package aio_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test of the package ends with no goroutine left behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

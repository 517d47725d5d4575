//go:build !linux

package mp_test

import (
	"os"
	"testing"
)

// children is not counted outside Linux (no /proc): it reports 0.
func children(t *testing.T) int { return 0 }

// orphanParent exists on Linux only (the orphan test reads /proc).
func orphanParent() { os.Exit(2) }

// deletedExeMain exists on Linux only.
func deletedExeMain() int { return 2 }

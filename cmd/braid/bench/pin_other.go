//go:build !linux

package bench

// pinSelf does nothing where thread affinity is not available.
func pinSelf(cpu int) (restore func(), pinned bool) { return func() {}, false }

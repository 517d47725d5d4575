//go:build !amd64 && !arm64

package aio

// getg has no cheap implementation on this architecture: every caller is
// taken at its word, and the misuse checks that need a goroutine's
// identity are skipped; so is the refusal of blocking waits of futures and
// mp on a loop's thread (futures.ErrBlockingOnLoop): they block there.
func getg() uintptr { return 0 }

const canIdentifyGoroutine = false

//go:build amd64 || arm64

package aio

// getg returns the address of the running goroutine's runtime record: an
// identity for the goroutine while it lives. braid uses it only to tell a
// task's own coroutine from a loop callback or another goroutine holding
// the task's context, so that misuse is an error instead of a corrupted
// coroutine switch.
func getg() uintptr

const canIdentifyGoroutine = true

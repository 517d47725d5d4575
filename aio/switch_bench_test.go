package aio_test

import (
	"iter"
	"testing"
)

// The two ways to build coroutines that the design chose between; one op
// is one round trip (resume the coroutine, and it hands control back).

// BenchmarkSwitchIterPull: the runtime's coroutine switch, which aio uses.
func BenchmarkSwitchIterPull(b *testing.B) {
	next, stop := iter.Pull(func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	})
	defer stop()
	for i := 0; i < b.N; i++ {
		next()
	}
}

// BenchmarkSwitchChannel: a goroutine and two unbuffered channels.
func BenchmarkSwitchChannel(b *testing.B) {
	resume, yielded := make(chan struct{}), make(chan struct{})
	go func() {
		for range resume {
			yielded <- struct{}{}
		}
		close(yielded)
	}()
	for i := 0; i < b.N; i++ {
		resume <- struct{}{}
		<-yielded
	}
	close(resume)
	<-yielded
}

//go:build !linux

package mp

import (
	"errors"
	"time"
)

// Shared memory (Queue, Pipe, Value, Array and the cross-process locks)
// is implemented on Linux only so far: elsewhere their constructors
// return ErrNotSupported.

const shmSupported = false

var errShm = errors.New("mp: shared memory objects are not supported on this platform (Linux only)")

func shmCreate(int) (int, error)               { return -1, errShm }
func shmOpen(int, int) (int, int, error)       { return -1, 0, errShm }
func shmMap(int, int) ([]byte, error)          { return nil, errShm }
func shmUnmap([]byte)                          {}
func shmRetire([]byte) bool                    { return false }
func shmClose(int)                             {}
func futexWait(*uint32, uint32, time.Duration) {}
func futexWake(*uint32, int)                   {}
func pidAlive(int) bool                        { return true }

func shmDup(int) (int, int, error) { return -1, 0, errShm }

const spinYields = 0

func osYield() {}

//go:build !linux

package profile

import "time"

const samplingSupported = false

// tracker is a no-op where there is no /proc: only getrusage figures are
// measured.
type tracker struct {
	threads, samples int
	states           map[string]int
	maxRSSKiB        int64
	rootIO, baseIO   procIO
	rootIOSeen       bool
	procs            map[struct{}]struct{}
}

func newTracker(root, excludeTid int, selfMode bool) *tracker {
	return &tracker{states: map[string]int{}}
}

func (t *tracker) sample(count bool) {}

func blkioAccounted() bool { return false }

func (t *tracker) totals(wall time.Duration) (runDelaySec, blkioSec, userSec, sysSec float64, runThreads int) {
	return 0, 0, 0, 0, 0
}

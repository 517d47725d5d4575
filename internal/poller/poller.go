// Package poller is braid's thin layer over the operating system's
// readiness notification: epoll on Linux, kqueue on macOS and the BSDs.
//
// A Poller watches file descriptors for readability and writability and
// can be woken from any goroutine. Only Wake is safe for concurrent use;
// every other method belongs to the one goroutine that runs the event
// loop.
package poller

import "errors"

// Events is a set of readiness conditions.
type Events uint32

// The readiness conditions a Poller reports.
const (
	Readable Events = 1 << iota
	Writable
	// Hangup and Error are reported whether or not they were asked for.
	Hangup
	Error
)

// Event is one file descriptor's readiness.
type Event struct {
	FD     int
	Events Events
}

// MaxEvents is the most events one Wait reports (libuv takes 1,024 too):
// a server with a thousand busy connections collects them in one system
// call rather than eight.
const MaxEvents = 1024

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("poller: closed")

// Poller is the interface implemented by the epoll and kqueue pollers.
type Poller interface {
	// Add starts watching fd for events (level-triggered).
	Add(fd int, events Events) error
	// Modify changes the events watched for fd.
	Modify(fd int, events Events) error
	// Delete stops watching fd.
	Delete(fd int) error
	// Wait blocks until an event, a Wake, or timeoutNs nanoseconds pass
	// (timeoutNs < 0 waits without limit; 0 polls). It fills events and
	// returns how many it filled, and whether a Wake was consumed. Wake-ups
	// are not reported as events.
	Wait(events []Event, timeoutNs int64) (n int, woken bool, err error)
	// Wake makes a current or the next Wait return. Safe from any
	// goroutine. Several Wakes before a Wait cost one.
	Wake() error
	// Close releases the poller's descriptors.
	Close() error
}

// New returns the platform's poller.
func New() (Poller, error) { return newPoller(true) }

// NewBusy returns a poller for a caller that polls without waiting (a
// busy-polling loop). On Linux its epoll descriptor is not registered
// with the Go runtime's netpoller: registered, every event on one of its
// descriptors also runs the kernel's callback for the runtime's epoll,
// and wakes a runtime thread sleeping there if there is one, in the
// context of whoever made the event (on loopback, the peer's send). A
// Wait with a timeout then blocks its thread in epoll_wait.
func NewBusy() (Poller, error) { return newPoller(false) }

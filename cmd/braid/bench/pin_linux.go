//go:build linux

package bench

import (
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSelf pins every thread of this process to cpu (threads made later
// inherit it from the thread that makes them) when the machine has more
// than one CPU and taskset is there to pin the server to the other. It
// returns a function that gives the threads their former affinity back.
func pinSelf(cpu int) (restore func(), pinned bool) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil || old.Count() < 2 {
		return func() {}, false
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return func() {}, false
	}
	var set unix.CPUSet
	set.Set(cpu)
	apply := func(s *unix.CPUSet) {
		ents, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		for _, e := range ents {
			if tid, err := strconv.Atoi(e.Name()); err == nil {
				_ = unix.SchedSetaffinity(tid, s)
			}
		}
	}
	apply(&set)
	return func() { apply(&old) }, true
}

package mp_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// children counts this process's child processes, zombies included, from
// /proc.
func children(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(pid); ok && ppid == me {
			n++
		}
	}
	return n
}

// procStat returns a process's parent pid and state letter.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+4 > len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// gone reports whether a process has exited (absent, or a zombie left to
// a parent that is not us).
func gone(pid int) bool {
	_, state, ok := procStat(pid)
	return !ok || state == 'Z' || state == 'X'
}

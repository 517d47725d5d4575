//go:build unix

package profile

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

const rusageSupported = true

// usage is what is used of a struct rusage.
type usage struct {
	user, sys     float64
	nvcsw, nivcsw int64
	maxRSSBytes   int64
	ok            bool
}

func fromRusage(ru *syscall.Rusage) usage {
	u := usage{
		user:   time.Duration(ru.Utime.Nano()).Seconds(),
		sys:    time.Duration(ru.Stime.Nano()).Seconds(),
		nvcsw:  int64(ru.Nvcsw),
		nivcsw: int64(ru.Nivcsw),
		ok:     true,
	}
	u.maxRSSBytes = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		u.maxRSSBytes *= 1024 // kilobytes everywhere but Apple's systems
	}
	return u
}

// processUsage is the rusage wait4 returned for a child: its own and that
// of every descendant it waited for.
func processUsage(ps *os.ProcessState) usage {
	if ps == nil {
		return usage{}
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return usage{}
	}
	return fromRusage(ru)
}

// selfUsage is getrusage(RUSAGE_SELF) plus getrusage(RUSAGE_CHILDREN): the
// whole calling process, every thread, and its reaped children.
func selfUsage() usage {
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) != nil {
		return usage{}
	}
	u, c := fromRusage(&self), fromRusage(&children)
	u.user += c.user
	u.sys += c.sys
	u.nvcsw += c.nvcsw
	u.nivcsw += c.nivcsw
	return u
}

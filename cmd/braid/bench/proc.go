package bench

// What the workloads read about processes and the machine, in one place:
// /proc (Linux; elsewhere the readers return zero or report failure) and
// getrusage. (pin_linux.go, which pins the echo load generator, lists the
// threads to pin in /proc/self/task: Linux only, like the pinning.)

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, 100 on every Linux the Go runtime supports.
const clockTick = 100.0

// processCPU returns the user and system CPU time a process has used so
// far (all its threads), from /proc/PID/stat.
func processCPU(pid int) (user, sys time.Duration, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3; utime and stime are 14 and 15.
	if len(f) < 13 {
		return 0, 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("unreadable /proc stat times")
	}
	return time.Duration(ut) * time.Second / clockTick, time.Duration(st) * time.Second / clockTick, nil
}

// ProcStatusKiB reads a field of /proc/self/status (VmRSS, VmHWM) in KiB;
// 0 where there is no such file.
func ProcStatusKiB(field string) int64 {
	return statusKiB("/proc/self/status", field)
}

// ResetPeakRSS resets the process's VmHWM to its current RSS (Linux:
// writing 5 to /proc/self/clear_refs); elsewhere it does nothing.
func ResetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// childrenPeakMB sums the peak RSS (VmHWM) of this process's children
// other than the one whose pid is except (the article server): the worker
// processes of a pool, read before it shuts down. 0 where /proc is
// missing.
func childrenPeakMB(except int) float64 {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	seen := map[int]bool{}
	total := 0.0
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil || seen[pid] || pid == except {
				continue
			}
			seen[pid] = true
			total += float64(statusKiB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")) / 1024
		}
	}
	return total
}

// statusKiB reads a field (VmRSS, VmHWM) of a status file of /proc in
// KiB; 0 where there is no such file or field.
func statusKiB(path, field string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			if f := strings.Fields(rest); len(f) >= 1 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// cpuStat is the machine's CPU time so far, from the first line of
// /proc/stat, in clock ticks: busy (neither idle, waiting for I/O nor
// stolen), stolen by the hypervisor, and the total.
type cpuStat struct{ busy, steal, total float64 }

// readCPUStat reads /proc/stat; false where it cannot.
func readCPUStat() (cpuStat, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuStat{}, false
	}
	var v []float64
	for _, s := range f[1:] {
		x, _ := strconv.ParseFloat(s, 64)
		v = append(v, x)
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice]
	// (guest time is already in user).
	var s cpuStat
	for i := 0; i < 8 && i < len(v); i++ {
		s.total += v[i]
	}
	s.steal = v[7]
	s.busy = s.total - v[3] - v[4] - v[7]
	return s, true
}

// loadAvg1 is the load average of the last minute, from /proc/loadavg; 0
// where there is none.
func loadAvg1() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuTimes returns the user+system time of this process and of its
// reaped children.
func cpuTimes() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

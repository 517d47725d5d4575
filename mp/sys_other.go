//go:build !linux

package mp

import (
	"os"
	"runtime/metrics"
	"syscall"
)

// workerSysProcAttr: no Pdeathsig outside Linux; the task pipe alone makes
// workers exit with their parent. Each worker leads a process group of its
// own, which the programs its tasks start join: the pool kills the group
// when it kills the worker.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// awaitExit cannot wait without reaping here: the pool does not kill the
// group of a worker that ended by itself (its pid may be reused once
// reaped).
func awaitExit(int) bool { return false }

// statmPath: no /proc here; the parent does not sample workers' memory.
func statmPath(int) string { return "" }

func readResident(*os.File) (int64, error) { return 0, os.ErrInvalid }

func setPipeSize(*os.File, int) {}

// selfExe returns the path that starts this executable.
func selfExe(exe string) string { return exe }

// residentBytes approximates the resident memory with the Go runtime's
// own accounting (memory mapped, less what it returned to the system).
func residentBytes() int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()) - int64(s[1].Value.Uint64())
}

const spliceAck = false

func writeBulk(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

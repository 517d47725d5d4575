//go:build !linux

package mp

import (
	"os"
	"runtime/metrics"
	"syscall"
)

// workerSysProcAttr: no Pdeathsig outside Linux; the task pipe alone makes
// workers exit with their parent.
func workerSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

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

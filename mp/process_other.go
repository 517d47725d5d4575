//go:build !linux

package mp

import "syscall"

// processSysProcAttr: no parent-death signal outside Linux.
func processSysProcAttr(bool) *syscall.SysProcAttr { return nil }

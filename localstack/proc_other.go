//go:build !linux

package localstack

import "syscall"

// childProcAttr puts a server and every process it starts into a new
// process group that stop can signal as a whole.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

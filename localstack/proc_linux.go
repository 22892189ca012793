//go:build linux

package localstack

import "syscall"

// childProcAttr puts a server and every process it starts into a new
// process group that stop can signal as a whole. Pdeathsig kills the direct
// child when this process dies without calling Stop. The JVM that Debian's
// activemq script forks is a grandchild and does not get that signal, and
// mosquitto loses it when it drops root privileges, so Start removes such
// leftovers instead (see killLeftover).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build linux

package endpointtest

import "syscall"

// sysProcAttr puts the server in its own process group (so that Stop ends
// it and anything it spawned) and kills it when the test process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

//go:build unix

package endpointtest

import "syscall"

// terminate asks the server's process group to stop.
func terminate(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) }

// kill stops the server's process group at once.
func kill(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }

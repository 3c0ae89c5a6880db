//go:build unix && !linux

package endpointtest

import "syscall"

// sysProcAttr puts the server in its own process group, so that Stop ends
// it and anything it spawned. Without Linux's parent-death signal, call Main
// from TestMain so that the server is stopped.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

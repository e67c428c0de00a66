package main

import "syscall"

// childAttr makes a child die with the harness: a harness killed mid-run
// (a CI timeout) must not leave a server holding a port and a mount.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

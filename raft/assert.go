package raft

import "fmt"

// assertf panics when an internal invariant does not hold. It is never used to check
// input from the network or the application: those are returned as errors or dropped.
func assertf(cond bool, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("raft: invariant violated: "+format, args...))
	}
}

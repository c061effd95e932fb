// Package fixture reads the wall clock in every way the time rule forbids.
package fixture

import "time"

// Elapsed uses time.Duration and time.Time freely: only clock reads are flagged.
func Elapsed(start time.Time) time.Duration {
	now := time.Now()            // want
	time.Sleep(time.Millisecond) // want
	<-time.After(time.Second)    // want
	timer := time.NewTimer(0)    // want
	ticker := time.NewTicker(1)  // want
	time.AfterFunc(0, func() {}) // want
	_ = time.Tick(time.Second)   // want
	_ = time.Until(start)        // want
	defer timer.Stop()
	defer ticker.Stop()
	return now.Sub(start) + time.Since(start) // want
}

// clockValue takes the function as a value, which is just as forbidden.
var clockValue = time.Now // want

var deadline = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

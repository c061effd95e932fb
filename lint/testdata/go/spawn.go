// Package fixture starts goroutines.
package fixture

// Spawn starts work behind the scheduler's back.
func Spawn(work func()) {
	go work() // want
	func() {
		go func() { // want
			work()
		}()
	}()
}

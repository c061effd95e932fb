// Package fixture uses the allowed parts of every checked package, and local names
// that shadow package names, and must produce no violation.
package fixture

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"
)

// Config carries the world's parts in, the way production code receives them.
type Config struct {
	Now  func() time.Time
	Rand *rand.Rand
}

// Pick shadows the rand package with a parameter of its own type.
func Pick(rand *rand.Rand, n int) int {
	return rand.IntN(n)
}

// Later shadows time with a local variable holding a clock.
func Later(config Config) time.Time {
	time := config.Now
	return time().Add(5)
}

// Branches shadows in the implicit blocks of if, switch, range and closures.
func Branches(values []int, clock interface{ Now() time.Time }) (string, error) {
	if os := len(values); os > 3 {
		return fmt.Sprint(os), nil
	}
	for _, rand := range values {
		_ = rand
	}
	switch time := clock; {
	case time != nil:
		_ = time.Now()
	}
	f := func(os fs.FS) error {
		_, err := os.Open("x")
		return err
	}
	_ = f
	var seeded = rand.New(rand.NewPCG(1, 2))
	_ = seeded.IntN(3)
	_ = netip.MustParseAddr("::1")
	fmt.Fprintln(os.Stderr, time.Duration(3)*time.Second, time.Unix(0, 0))
	return "", errors.Join(os.ErrNotExist, fs.ErrExist)
}

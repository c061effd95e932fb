//go:build production && !ignore

// Package fixture: a build constraint other than ignore does not exempt a file.
package fixture

import "os"

// Home reads the environment in production builds only, which is still forbidden.
func Home() string {
	return os.Getenv("HOME") // want
}

// Package fixture reads the operating system's entropy directly.
package fixture

import (
	"crypto/rand" // want
	"crypto/sha256"
)

// Nonce returns 16 random bytes hashed.
func Nonce() [32]byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return sha256.Sum256(b)
}

// Package fixture draws from the global sources of both math/rand packages, one of
// them imported under an alias.
package fixture

import (
	mrand "math/rand"
	"math/rand/v2"
)

// Draw mixes forbidden global draws with allowed seeded generators.
func Draw(items []int) int {
	seeded := rand.New(rand.NewPCG(1, 2))
	chacha := rand.New(rand.NewChaCha8([32]byte{}))
	old := mrand.New(mrand.NewSource(7))
	rand.Shuffle(len(items), func(i, j int) {})                                                     // want
	mrand.Seed(1)                                                                                   // want
	_ = mrand.Perm(3)                                                                               // want
	_ = rand.Float64()                                                                              // want
	return rand.IntN(3) + rand.N(4) + mrand.Intn(5) + seeded.IntN(2) + chacha.IntN(2) + old.Intn(2) // want
}

var global = rand.Uint64 // want

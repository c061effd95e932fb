//go:build production

package env

import "testing"

// buggifyCompiled must be a constant (this declaration does not compile otherwise) and
// false (a map literal with two equal constant keys does not compile), so that the
// compiler removes every Buggify-guarded branch from production builds.
const _ = buggifyCompiled

var _ = map[bool]int{buggifyCompiled: 0, true: 1}

// TestBuggifyCompiledOut proves that in production builds Buggify is false even with
// Faults that always fire, and never asks them.
func TestBuggifyCompiledOut(t *testing.T) {
	f := &countingFaults{}
	if Buggify(f, "site") || f.asked != 0 {
		t.Fatalf("production Buggify fired or asked the Faults (%d times)", f.asked)
	}
}

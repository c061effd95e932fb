//go:build !production

package env

import "testing"

// TestBuggifyAsksFaults proves that outside production builds Buggify asks the Faults
// it is given, once per call, and reports its answer.
func TestBuggifyAsksFaults(t *testing.T) {
	f := &countingFaults{}
	if !Buggify(f, "site") || !Buggify(f, "other") || f.asked != 2 {
		t.Fatalf("Buggify with always-firing Faults: asked %d times", f.asked)
	}
}

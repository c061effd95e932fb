package env

import "testing"

// countingFaults fires every site it is asked about and counts the questions.
type countingFaults struct{ asked int }

func (f *countingFaults) Fire(string) bool {
	f.asked++
	return true
}

// TestBuggifyNilFaults proves a nil Faults, which production code is given, never
// fires, in every build.
func TestBuggifyNilFaults(t *testing.T) {
	if Buggify(nil, "site") {
		t.Fatal("Buggify fired without Faults")
	}
}

package env

// Faults is the simulator's hook into code under test: Buggify sites ask it whether to
// misbehave on purpose (a short write, an early timeout, a dropped message), so that the
// simulator explores rare paths. Each named site is enabled for a run with p=0.25 and,
// when enabled, fires with p=0.25 (the simulator's policy, drawn from the seed).
type Faults interface {
	// Fire reports whether the named site misbehaves this time.
	Fire(site string) bool
}

// Buggify reports whether the named fault-injection site should fire. It is false when
// f is nil (production), and in builds with the "production" tag it is the constant
// false, so the compiler removes the guarded code.
func Buggify(f Faults, site string) bool {
	return buggifyCompiled && f != nil && f.Fire(site)
}

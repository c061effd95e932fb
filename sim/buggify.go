package sim

// Buggify's policy: a site is enabled for a whole run with this probability, and an
// enabled site fires with this probability each time it is asked.
const (
	buggifySiteEnabledProbability = 0.25
	buggifyFireProbability        = 0.25
)

// buggify is the world's env.Faults. Whether a site is enabled is a pure function of the
// run's seed and the site's name (not of which site asked first), so adding a site
// never changes which others are enabled; firing draws from the dedicated "buggify"
// stream. Sites only fire during the safety phase.
type buggify struct {
	seed    uint64
	rand    *Stream
	active  bool
	enabled map[string]bool
	fired   uint64
}

func newBuggify(seed uint64, rand *Stream) *buggify {
	return &buggify{seed: seed, rand: rand, active: true, enabled: map[string]bool{}}
}

// Fire reports whether the named site misbehaves this time.
func (b *buggify) Fire(site string) bool {
	if !b.active {
		return false
	}
	enabled, known := b.enabled[site]
	if !known {
		enabled = unitFromHash(b.seed^hashString("buggify/"+site)) < buggifySiteEnabledProbability
		b.enabled[site] = enabled
	}
	if !enabled || !b.rand.Chance(buggifyFireProbability) {
		return false
	}
	b.fired++
	return true
}

// SetBuggify turns every Buggify site on or off for the rest of the run (the liveness
// phase turns them off).
func (w *World) SetBuggify(active bool) { w.buggify.active = active }

// BuggifyFired returns how many times a Buggify site fired in this run.
func (w *World) BuggifyFired() uint64 { return w.buggify.fired }

package scenarios

import (
	"testing"

	"github.com/natsim/natsim/sim"
)

// BenchmarkMeshEvents measures the simulator's overhead on the 5-process mesh: scheduled
// events dispatched per wall second (the target is at least 1,000,000 on one core).
func BenchmarkMeshEvents(b *testing.B) {
	benchmarkScenario(b, Lookup("mesh"))
}

// BenchmarkRegister measures simulated seconds per wall second for the register,
// porcupine's check included.
func BenchmarkRegister(b *testing.B) {
	benchmarkScenario(b, Lookup("register"))
}

func benchmarkScenario(b *testing.B, s *sim.Scenario) {
	var events uint64
	var simulated float64
	seed := uint64(0)
	for b.Loop() {
		seed++
		r := sim.Run(s, seed, sim.Options{})
		if r.Violation != nil {
			b.Fatalf("seed %d: %v", seed, r.Violation)
		}
		events += r.Events
		simulated += r.VirtualTime.Seconds()
	}
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/elapsed, "events/s")
	b.ReportMetric(simulated/elapsed, "sim-s/s")
}

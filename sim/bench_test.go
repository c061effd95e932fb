package sim

import (
	"testing"
	"time"

	"github.com/natsim/natsim/env"
)

// BenchmarkDispatch measures the bare scheduler: timers that re-arm themselves across
// five processes, no network.
func BenchmarkDispatch(b *testing.B) {
	w := NewWorld(testConfig(1), Options{})
	for _, name := range []string{"n1", "n2", "n3", "n4", "n5"} {
		w.Spawn(name, ProcessOptions{}, func(e env.Env) any {
			for i := 0; i < 20; i++ {
				var tick func()
				tick = func() { e.Clock.AfterFunc(time.Duration(1+e.Rand.Intn(1000))*time.Microsecond, tick) }
				tick()
			}
			return nil
		})
	}
	b.ResetTimer()
	w.RunUntil(time.Duration(1<<62), uint64(b.N))
	b.ReportMetric(float64(w.Events())/b.Elapsed().Seconds(), "events/s")
}

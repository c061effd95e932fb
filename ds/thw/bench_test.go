package thw

import "testing"

// BenchmarkAdd measures scheduling tasks spread over one revolution.
func BenchmarkAdd(b *testing.B) {
	b.ReportAllocs()
	w := NewHashWheel()
	for i := range b.N {
		w.Add(uint64(i), epoch+int64(i%wheelSize)*tickNanoseconds)
	}
}

// BenchmarkAddRemove measures a task scheduled and removed before expiring, the store's
// path for messages deleted before their TTL.
func BenchmarkAddRemove(b *testing.B) {
	b.ReportAllocs()
	w := NewHashWheel()
	// Keep a standing population so slots stay allocated, as in a busy stream.
	for i := range wheelSize {
		w.Add(uint64(1<<40+i), epoch+int64(i)*tickNanoseconds)
	}
	b.ResetTimer()
	for i := range b.N {
		expires := epoch + int64(i%wheelSize)*tickNanoseconds
		w.Add(uint64(i), expires)
		if err := w.Remove(uint64(i), expires); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExpireTasks measures expiring, per task, a population of 1M tasks spread
// over an hour, one second at a time.
func BenchmarkExpireTasks(b *testing.B) {
	b.ReportAllocs()
	const tasks, seconds = 1_000_000, 3600
	w := NewHashWheel()
	expired, now := 0, epoch
	for i := 0; i < b.N; {
		if w.Count() == 0 {
			b.StopTimer()
			for seq := range uint64(tasks) {
				w.Add(seq, now+int64(seq%seconds)*tickNanoseconds+int64(seq))
			}
			b.StartTimer()
		}
		now += tickNanoseconds
		w.ExpireTasks(now, func(uint64, int64) bool {
			expired++
			return true
		})
		i = expired
	}
}

// BenchmarkGetNextExpiration measures the next-expiration query right after the
// earliest task was removed, its most expensive case: a sliding window of 100k tasks
// ten per second, whose earliest task moves to the end before each query.
func BenchmarkGetNextExpiration(b *testing.B) {
	b.ReportAllocs()
	const tasks, spacing = 100_000, tickNanoseconds / 10
	w := NewHashWheel()
	for seq := range uint64(tasks) {
		w.Add(seq, epoch+int64(seq)*spacing)
	}
	b.ResetTimer()
	for i := range b.N {
		seq := uint64(i % tasks)
		expires := epoch + int64(i)*spacing
		if err := w.Remove(seq, expires); err != nil {
			b.Fatal(err)
		}
		if next := w.GetNextExpiration(expires + tickNanoseconds); next != expires+spacing {
			b.Fatalf("next %d, want %d", next, expires+spacing)
		}
		w.Add(seq, expires+tasks*spacing)
	}
}

package sublist

import (
	"fmt"
	"testing"
)

// benchmarkRegions and benchmarkOrderIDs shape the realistic mix: per-order subscriptions
// orders.<region>.<id>, a per-region wildcard, and a few catch-alls.
var benchmarkRegions = []string{"eu", "us", "ap", "sa", "af", "me", "oc", "na"}

const benchmarkOrderIDs = 1250 // 8 regions x 1250 ids = 10,000 literal subscriptions.

// newBenchmarkSublist builds a Sublist holding about 10k subscriptions.
func newBenchmarkSublist(b *testing.B, options Options) *Sublist[int] {
	s := NewWithOptions[int](options)
	value := 0
	insert := func(subject, queue string) {
		value++
		if err := s.Insert(subject, queue, value); err != nil {
			b.Fatal(err)
		}
	}
	for _, region := range benchmarkRegions {
		for id := 0; id < benchmarkOrderIDs; id++ {
			insert(fmt.Sprintf("orders.%s.%d", region, id), "")
		}
		insert(fmt.Sprintf("orders.%s.*", region), "billing")
		insert(fmt.Sprintf("orders.%s.*", region), "billing")
	}
	insert("orders.*.new", "")
	insert("orders.>", "audit")
	insert("metrics.>", "")
	insert("metrics.*.cpu", "")
	return s
}

// benchmarkSubjects is the published mix: mostly order subjects that hit, some new-order
// and metrics subjects, and some misses. Its size is below the default cache bound.
func benchmarkSubjects() []string {
	var subjects []string
	for i := 0; i < 800; i++ {
		region := benchmarkRegions[i%len(benchmarkRegions)]
		switch i % 8 {
		case 6:
			subjects = append(subjects, fmt.Sprintf("metrics.host%d.cpu", i%50))
		case 7:
			subjects = append(subjects, fmt.Sprintf("unknown.%d", i))
		default:
			subjects = append(subjects, fmt.Sprintf("orders.%s.%d", region, (i*37)%benchmarkOrderIDs))
		}
	}
	subjects = append(subjects, "orders.eu.new")
	return subjects
}

func benchmarkMatch(b *testing.B, options Options) {
	s := newBenchmarkSublist(b, options)
	subjects := benchmarkSubjects()
	for _, subject := range subjects {
		_ = s.Match(subject) // Warm the cache, as a running server would be.
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Match(subjects[i%len(subjects)])
	}
}

// BenchmarkMatchCached measures the publish hot path with the cache warm.
func BenchmarkMatchCached(b *testing.B) { benchmarkMatch(b, Options{}) }

// BenchmarkMatchUncached measures the same mix with every match walking the trie.
func BenchmarkMatchUncached(b *testing.B) { benchmarkMatch(b, Options{CacheDisabled: true}) }

// BenchmarkMatchBytesCached measures the hot path when the subject arrives as bytes.
func BenchmarkMatchBytesCached(b *testing.B) {
	s := newBenchmarkSublist(b, Options{})
	var subjects [][]byte
	for _, subject := range benchmarkSubjects() {
		subjects = append(subjects, []byte(subject))
		_ = s.MatchBytes(subjects[len(subjects)-1])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.MatchBytes(subjects[i%len(subjects)])
	}
}

// BenchmarkMatchCachedParallel measures cached matches from all cores at once.
func BenchmarkMatchCachedParallel(b *testing.B) {
	s := newBenchmarkSublist(b, Options{})
	subjects := benchmarkSubjects()
	for _, subject := range subjects {
		_ = s.Match(subject)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = s.Match(subjects[i%len(subjects)])
			i++
		}
	})
}

// BenchmarkHasInterest measures the interest check on the uncached path.
func BenchmarkHasInterest(b *testing.B) {
	s := newBenchmarkSublist(b, Options{CacheDisabled: true})
	subjects := benchmarkSubjects()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.HasInterest(subjects[i%len(subjects)])
	}
}

// BenchmarkInsertRemove measures subscription churn against a populated, cached Sublist,
// including cache invalidation.
func BenchmarkInsertRemove(b *testing.B) {
	s := newBenchmarkSublist(b, Options{})
	for _, subject := range benchmarkSubjects() {
		_ = s.Match(subject)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		subject := fmt.Sprintf("orders.eu.%d", i%benchmarkOrderIDs)
		if err := s.Insert(subject, "q", -1); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove(subject, "q", -1); err != nil {
			b.Fatal(err)
		}
	}
}

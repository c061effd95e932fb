package stree

import (
	"fmt"
	"testing"
)

// benchmarkSubjectCount is the number of subjects in the benchmark trees.
const benchmarkSubjectCount = 100_000

// benchmarkSubjects returns subjects shaped like a store's: a fixed stream prefix, a region
// and a numeric id.
func benchmarkSubjects() [][]byte {
	regions := []string{"eu", "us", "ap", "sa", "af", "me", "oc", "na"}
	subjects := make([][]byte, benchmarkSubjectCount)
	for i := range subjects {
		subjects[i] = []byte(fmt.Sprintf("orders.%s.%d.new", regions[i%len(regions)], i*7919%1_000_003))
	}
	return subjects
}

func benchmarkTree(b *testing.B) (*SubjectTree[uint64], [][]byte) {
	subjects := benchmarkSubjects()
	tree := NewSubjectTree[uint64]()
	for i, subject := range subjects {
		tree.Insert(subject, uint64(i))
	}
	return tree, subjects
}

// BenchmarkInsert measures inserting into a tree that grows to benchmarkSubjectCount.
func BenchmarkInsert(b *testing.B) {
	subjects := benchmarkSubjects()
	b.ReportAllocs()
	b.ResetTimer()
	tree := NewSubjectTree[uint64]()
	for i := 0; i < b.N; i++ {
		if i%len(subjects) == 0 {
			tree = NewSubjectTree[uint64]()
		}
		tree.Insert(subjects[i%len(subjects)], uint64(i))
	}
}

// BenchmarkUpdate measures inserting subjects that are already present.
func BenchmarkUpdate(b *testing.B) {
	tree, subjects := benchmarkTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tree.Insert(subjects[i%len(subjects)], uint64(i))
	}
}

// BenchmarkFind measures lookups of present subjects.
func BenchmarkFind(b *testing.B) {
	tree, subjects := benchmarkTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := tree.Find(subjects[i%len(subjects)]); !ok {
			b.Fatal("missing subject")
		}
	}
}

// BenchmarkDeleteInsert measures churn: a delete and a re-insert.
func BenchmarkDeleteInsert(b *testing.B) {
	tree, subjects := benchmarkTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		subject := subjects[i%len(subjects)]
		tree.Delete(subject)
		tree.Insert(subject, uint64(i))
	}
}

func benchmarkMatch(b *testing.B, filter string) {
	tree, _ := benchmarkTree(b)
	filterBytes := []byte(filter)
	matched := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tree.Match(filterBytes, func([]byte, *uint64) { matched++ })
	}
	b.ReportMetric(float64(matched)/float64(b.N), "subjects/op")
}

// BenchmarkMatchLiteral measures a filter without wildcards.
func BenchmarkMatchLiteral(b *testing.B) { benchmarkMatch(b, "orders.eu.63352.new") }

// BenchmarkMatchNarrowWildcard measures a '*' that leaves a handful of subjects.
func BenchmarkMatchNarrowWildcard(b *testing.B) { benchmarkMatch(b, "orders.*.63352.new") }

// BenchmarkMatchWide measures a filter matching an eighth of the tree.
func BenchmarkMatchWide(b *testing.B) { benchmarkMatch(b, "orders.eu.>") }

// BenchmarkIterOrdered measures a full ordered walk.
func BenchmarkIterOrdered(b *testing.B) {
	tree, _ := benchmarkTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tree.IterOrdered(func([]byte, *uint64) bool { return true })
	}
}

// BenchmarkIterFast measures a full walk in storage order.
func BenchmarkIterFast(b *testing.B) {
	tree, _ := benchmarkTree(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tree.IterFast(func([]byte, *uint64) bool { return true })
	}
}
